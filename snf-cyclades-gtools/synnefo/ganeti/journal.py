"""The file behind :class:`synnefo.ganeti.state.PublishedState`: a snapshot and an append-only log.

The first line is a JSON snapshot (``{"version": 2, ...}``); every further line
is one JSON list, an *entry* appended since that snapshot. :meth:`Journal.append`
writes an entry with one ``write(2)``; with ``sync=True`` it also
``fdatasync``\\ s the file, which makes that entry *and every earlier one*
durable. :meth:`Journal.rewrite` replaces the whole file by a new snapshot
(``<file>.new``, fsync, rename, fsync of the directory): a crash leaves either
the old file or the new one.

:func:`read_journal` reads such a file. A line that is incomplete or not JSON
ends the reading: after a power loss, what was appended since the last sync
may be partly lost (a torn last line, or a block of zeros followed by what
did reach the disk). That is reported (``torn``) so that the caller can be
conservative about everything after the last synced entry; damage *before* a
synced entry cannot come from a crash and is an error.

This module knows nothing about what the entries mean.
"""

import json
import os

VERSION = 2


class JournalError(ValueError):
    """The file cannot be understood (not a torn tail: damage before the last line)."""


def fsync_dir(path):
    try:
        fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def boot_id():
    """An id of the running kernel boot (Linux), or ``None``.

    Entries appended without sync survive the death of the process (they are in
    the page cache) but not a power loss or a reboot; an entry that records
    the boot id tells the next start which of the two may have happened.
    """
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as handle:
            return handle.read().strip() or None
    except OSError:
        return None


def remove_if_present(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _write_all(fd, payload):
    view = memoryview(payload)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def encode(obj):
    return json.dumps(obj, separators=(",", ":")).encode("utf-8") + b"\n"


class ReadResult:
    """What :func:`read_journal` found: the first line, the entries, whether the tail was torn."""

    def __init__(self, first, entries, torn):
        self.first = first
        self.entries = entries
        self.torn = torn


def read_journal(path, is_synced=lambda entry: False):
    """Read ``path``; ``None`` when it does not exist.

    ``first`` is the first line decoded (a snapshot, or an old-format state
    file, which is one JSON object). Raises :class:`JournalError` when the
    first line cannot be decoded or when a bad line is followed by an entry
    for which ``is_synced(entry)`` is true (appended with ``sync=True``).
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return None
    lines = data.split(b"\n")
    # ``lines[-1]`` is what follows the last newline: empty unless the tail is torn
    complete, tail = lines[:-1], lines[-1]
    if not complete:
        # an old-format file has no newline; a journal always has one after its snapshot
        complete, tail = [tail], b""
    try:
        first = json.loads(complete[0])
    except ValueError as exc:
        raise JournalError(f"first line is not JSON: {exc}") from exc
    entries = []
    torn = bool(tail.strip(b"\0 "))
    for number, line in enumerate(complete[1:], start=2):
        try:
            entry = json.loads(line)
            if not isinstance(entry, list) or not entry:
                raise ValueError("not an entry")
        except ValueError as exc:
            if any(_synced_line(raw, is_synced) for raw in complete[number:]):
                raise JournalError(f"line {number} is damaged ({exc}) and a synced "
                                   "entry follows it") from exc
            torn = True
            break
        entries.append(entry)
    return ReadResult(first, entries, torn)


def _synced_line(raw, is_synced):
    try:
        entry = json.loads(raw)
    except ValueError:
        return False
    return isinstance(entry, list) and bool(entry) and is_synced(entry)


class Journal:
    """Appends entries to ``path``; :meth:`rewrite` starts it again from a snapshot."""

    def __init__(self, path):
        self.path = path
        self.new_path = path + ".new"
        self.fd = None
        self.appended = 0   # entries since the snapshot

    def _open(self):
        if self.fd is None:
            self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)

    def append(self, entry, sync=False):
        self._open()
        _write_all(self.fd, encode(entry))
        self.appended += 1
        if sync:
            os.fdatasync(self.fd)

    def rewrite(self, snapshot):
        """Replace the file by ``snapshot`` alone (durable, atomic)."""
        fd = os.open(self.new_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        try:
            _write_all(fd, encode(dict(snapshot, version=VERSION)))
            os.fsync(fd)
        finally:
            os.close(fd)
        self.close()
        os.rename(self.new_path, self.path)
        fsync_dir(self.path)
        self.appended = 0

    def discard_leftover(self):
        """Remove a ``<file>.new`` left by a crash during :meth:`rewrite` (never renamed)."""
        remove_if_present(self.new_path)

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
