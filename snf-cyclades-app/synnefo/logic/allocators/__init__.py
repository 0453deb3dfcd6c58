"""The backend allocator (spec 04 §3).

:func:`allocate` picks the backend of a new server; the choice among the
candidate backends is delegated to the strategy module named by
``BACKEND_ALLOCATOR_MODULE``, which exposes ``allocate(backends, vm) -> backend``
(``vm`` is ``{"ram": MiB, "disk": MiB, "cpu": n}``).
"""

import importlib
import logging

from django.conf import settings
from django.db.models import Q
from synnefo.db.models import Backend, BackendNetwork, IPPoolTable, Network

log = logging.getLogger(__name__)


def vm_size(flavor):
    disk = flavor.disk * 1024
    if flavor.disk_template == "drbd":
        disk *= 2
    return {"ram": flavor.ram, "disk": disk, "cpu": flavor.cpu}


def strategy():
    return importlib.import_module(settings.BACKEND_ALLOCATOR_MODULE)


def _mapped_backend(userid):
    mapping = getattr(settings, "BACKEND_PER_USER", None) or {}
    if userid not in mapping:
        return None
    target = mapping[userid]
    query = Q(clustername=str(target))
    if isinstance(target, int) or str(target).isdigit():
        query |= Q(pk=int(target))
    backend = Backend.objects.select_for_update().filter(query).first()
    if backend is None:
        log.error("BACKEND_PER_USER maps %s to unknown backend %r", userid, target)
    return backend


def public_networks_with_free_ip(backend):
    """Public, non-deleted networks with a BackendNetwork on ``backend`` and,
    with ``PUBLIC_USE_POOL``, a free address in their pool; ordered by id."""
    from synnefo.logic.pools import IPPool

    ids = BackendNetwork.objects.filter(backend=backend, deleted=False).values_list("network_id", flat=True)
    networks = Network.objects.filter(public=True, deleted=False, id__in=ids).order_by("id")
    if not settings.PUBLIC_USE_POOL:
        return list(networks)
    result = []
    for network in networks:
        row = IPPoolTable.objects.filter(network=network).first()
        if row is None:
            result.append(network)  # never initialised: every host address is free
            continue
        if IPPool(row, network).count_available() > 0:
            result.append(network)
    return result


def candidates():
    """Non-drained, non-offline backends (locked FOR UPDATE) with a public
    network that has free IPs."""
    locked = list(Backend.objects.select_for_update().filter(drained=False, offline=False).order_by("id"))
    return [b for b in locked if public_networks_with_free_ip(b)]


def charge(backend, vm):
    """Optimistically account the new VM on ``backend`` (restored by the next refresh)."""
    backend.mfree = max(0, backend.mfree - vm["ram"])
    backend.dfree = max(0, backend.dfree - vm["disk"])
    backend.pinst_cnt += 1
    Backend.objects.filter(pk=backend.pk).update(mfree=backend.mfree, dfree=backend.dfree,
                                                 pinst_cnt=backend.pinst_cnt)


def _capped(value, total):
    return min(value, total) if total else value


def uncharge(backend_id, vm):
    """Undo :func:`charge` (server creation failed). Locks the backend row."""
    backend = Backend.objects.select_for_update().filter(pk=backend_id).first()
    if backend is None:
        return
    backend.mfree = _capped(backend.mfree + vm["ram"], backend.mtotal)
    backend.dfree = _capped(backend.dfree + vm["disk"], backend.dtotal)
    backend.pinst_cnt = max(0, backend.pinst_cnt - 1)
    Backend.objects.filter(pk=backend.pk).update(mfree=backend.mfree, dfree=backend.dfree,
                                                 pinst_cnt=backend.pinst_cnt)


def allocate(userid, flavor):
    """The backend for a new server of ``userid`` with ``flavor``, or ``None``.

    Call inside ``transaction.atomic()``: the candidate backends stay locked
    until the caller commits. The chosen backend is charged with the VM size.
    The choice uses the stored statistics: Ganeti is never asked here (see
    :mod:`synnefo.logic.backend_stats`), so no lock waits for a cluster.
    """
    vm = vm_size(flavor)
    mapped = _mapped_backend(userid)
    if mapped is not None:
        charge(mapped, vm)
        return mapped
    backends = candidates()
    if not backends:
        return None
    chosen = strategy().allocate(backends, vm)
    if chosen is None:
        return None
    charge(chosen, vm)
    return chosen
