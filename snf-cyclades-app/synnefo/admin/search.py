"""Finding servers across all users: one free-text box (id, name, user, IP,
MAC) plus backend and state filters."""

import re

from django.db.models import Q
from django.db.models.functions import Lower
from synnefo.db.models import VirtualMachine

MAC = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")
PAGE_SIZE = 100


def text_filter(text):
    """The ``Q`` of the free-text box: an id matches exactly, a MAC exactly, an
    IP (v4 or v6) exactly, anything else part of the name or of the user; all
    regardless of case (compared lowercased, so that a binary collation, as on
    MySQL/MariaDB, cannot make them case-sensitive). Needs :func:`annotated`."""
    text = text.strip()
    if not text:
        return Q()
    folded = text.lower()
    match = Q(name_folded__contains=folded) | Q(userid_folded__contains=folded)
    if text.isdigit():
        match |= Q(pk=int(text))
    if MAC.match(text):
        match |= Q(nics__mac=folded)   # stored lowercase, as Ganeti writes them
    if "." in text or ":" in text:
        match |= Q(nics__ipv4=text) | Q(nics__ipv6=folded)
    return match


def annotated(query):
    """``query`` with the lowercased fields :func:`text_filter` compares."""
    return query.annotate(name_folded=Lower("name"), userid_folded=Lower("userid"))


def servers(text="", backend_id=None, state="", include_deleted=False):
    """The servers matching, newest first, at most ``PAGE_SIZE`` (and whether more matched)."""
    query = annotated(VirtualMachine.objects.all()).filter(text_filter(text))
    if backend_id is not None:
        query = query.filter(backend_id=backend_id)
    if state:
        query = query.filter(operstate=state)
    if not include_deleted:
        query = query.filter(deleted=False)
    ids = list(query.order_by("-id").values_list("id", flat=True).distinct()[:PAGE_SIZE + 1])
    rows = list(VirtualMachine.objects.filter(pk__in=ids[:PAGE_SIZE]).select_related("backend", "flavor")
                .prefetch_related("nics").order_by("-id"))
    return rows, len(ids) > PAGE_SIZE
