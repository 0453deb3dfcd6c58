"""Rendered servers of the lists, kept in each API process (issue 12).

A detailed server's answer is a function of its row and relations, and every
change to those moves the server's ``updated`` column: ``changes-since``
depends on that already (the logic layer and the dispatcher save ``updated``
with every change a user can see: state, task, name, metadata, NICs,
diagnostics). So the rendered JSON or XML of a server is kept under
``(form, id, updated)``, and a list reads only ``(id, updated)`` of its
servers, joins the kept fragments and renders the missing ones (four more
queries, whatever their number).

Bounds: at most ``API_SERVER_CACHE_ENTRIES`` fragments per process, the
oldest dropped first, and none older than ``API_SERVER_CACHE_SECONDS``, so a
change made behind the application's back (SQL by hand) shows within that
time. ``API_SERVER_CACHE_ENTRIES = 0`` turns the cache off.

A list without ``changes-since`` (the compact one too) whose keys are the
ones of the caller's previous list is also answered from its whole body, kept per (form, user)
within a budget of ``API_SERVER_CACHE_ENTRIES`` * 512 bytes of bodies, and
only as long as the oldest fragment it joined.
"""

import itertools
import threading
import time

from django.conf import settings


class FragmentCache:
    """``key -> (expires, fragment)``, in insertion order, bounded."""

    def __init__(self):
        self.entries = {}
        self.lock = threading.Lock()

    def clear(self):
        with self.lock:
            self.entries.clear()

    def put_many(self, items, limit):
        with self.lock:
            self.entries.update(items)
            excess = len(self.entries) - limit
            if excess > 0:
                for key in list(itertools.islice(self.entries, excess)):
                    del self.entries[key]


CACHE = FragmentCache()
LIST_BYTES_PER_ENTRY = 512


class ListCache:
    """``owner -> (expires, keys, body)``, in insertion order, within a byte budget."""

    def __init__(self):
        self.entries = {}
        self.size = 0
        self.lock = threading.Lock()

    def clear(self):
        with self.lock:
            self.entries.clear()
            self.size = 0

    def put(self, owner, entry, budget):
        with self.lock:
            old = self.entries.pop(owner, None)
            if old is not None:
                self.size -= len(old[2])
            self.entries[owner] = entry
            self.size += len(entry[2])
            while self.size > budget and self.entries:
                first = next(iter(self.entries))
                self.size -= len(self.entries.pop(first)[2])


LISTS = ListCache()


def clear():
    """Forget every kept fragment and list."""
    CACHE.clear()
    LISTS.clear()


def fresh_until():
    """When something kept now expires."""
    return time.monotonic() + settings.API_SERVER_CACHE_SECONDS


def whole_list(owner, keys, build):
    """The body of the list ``keys`` of ``owner`` (its keys, or any exact sign
    of them): the one kept from ``owner``'s previous list when its keys are
    the same, else the first item of ``build()``, which returns ``(body,
    expires)``: the body is kept until ``expires`` (that of its oldest
    fragment)."""
    if settings.API_SERVER_CACHE_ENTRIES <= 0:
        return build()[0]
    entry = LISTS.entries.get(owner)
    if entry is not None and entry[0] > time.monotonic() and entry[1] == keys:
        return entry[2]
    body, expires = build()
    budget = settings.API_SERVER_CACHE_ENTRIES * LIST_BYTES_PER_ENTRY
    if len(body) <= budget:
        LISTS.put(owner, (expires, keys, body), budget)
    return body


def fragments(keys, form, render):
    """``(fragments, expires)``: the fragments of the servers ``keys``
    (``[(id, updated), ...]``) in ``form`` (any hashable, e.g. ``("json",
    True)``), in the order of ``keys``, and when the oldest of them expires.

    ``render(ids)`` returns ``{id: fragment}`` for the servers not kept; a
    server it does not return (gone meanwhile) is left out.
    """
    limit = settings.API_SERVER_CACHE_ENTRIES
    now = time.monotonic()
    expires = oldest = now + settings.API_SERVER_CACHE_SECONDS
    entries = CACHE.entries
    found = []
    missing = []
    for server_id, updated in keys:
        entry = entries.get((form, server_id, updated))
        if entry is not None and entry[0] > now:
            found.append(entry[1])
            if entry[0] < oldest:
                oldest = entry[0]
        else:
            found.append(None)
            missing.append(server_id)
    if not missing:
        return found, oldest
    rendered = render(missing)
    if limit > 0:
        CACHE.put_many({(form, server_id, updated): (expires, rendered[server_id])
                        for server_id, updated in keys if server_id in rendered}, limit)
    result = []
    for (server_id, _), fragment in zip(keys, found, strict=True):
        if fragment is None:
            fragment = rendered.get(server_id)
        if fragment is not None:
            result.append(fragment)
    return result, oldest
