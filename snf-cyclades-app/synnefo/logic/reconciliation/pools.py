"""Pools vs what is really in use (``snf-manage reconcile-pools``).

* bridge pool: links of the non-deleted PRIVATE_PHYSICAL_VLAN networks;
* MAC-prefix pool: prefixes of the non-deleted PRIVATE_MAC_FILTERED networks
  (``MAC_POOL_BASE`` excluded), and the BackendNetwork prefixes must be unique;
* every network's IP pool: the IPv4s of its NICs in the DB and of the NICs
  Ganeti reports on it.

Kinds: ``duplicate-*`` (a value used twice: reported, never fixed),
``leaked-*`` (allocated in the pool, used by nothing: ``--fix`` frees it),
``unreserved-*`` (in use, free in the pool: ``--fix`` marks it allocated).
An address allocated while a create or a connect is in flight is not known
anywhere but in the pool and the Ganeti job: on a network with such a task,
a leaked address is reported but never freed.
"""

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from synnefo.db.models import (
    BackendNetwork,
    IPPoolTable,
    Network,
    NetworkInterface,
    PendingNic,
    VirtualMachine,
)
from synnefo.logic.pools import BridgePool, IPPool, MacPrefixPool, PoolError
from synnefo.logic.reconciliation.ganeti import network_id_of
from synnefo.logic.reconciliation.report import FAILED, FIXED

IN_FLIGHT_TASKS = ("BUILD", "CONNECT")


def _allocated(pool):
    """Values handed out by Cyclades (not free, not reserved by the admin)."""
    return {pool.value_of(i) for i in range(pool.size) if not pool.available[i] and pool.reserved[i]}


def _check_pool(report, pool_name, pool, users, fix, label, in_flight=False):
    """Compare ``pool`` with ``users`` (value -> list of users); findings to ``report``.
    Call inside a transaction with the pool locked."""
    changed = False
    for value, owners in sorted(users.items()):
        if len(owners) > 1:
            report.add("duplicate-%s" % label, None, pool_name,
                       "%s used by %s" % (value, ", ".join(owners)))
    allocated = _allocated(pool)
    for value in sorted(set(users) - allocated):
        try:
            free = pool.is_available(value)
        except (PoolError, ValueError):
            continue  # outside the pool (e.g. a link given by the admin)
        if not free:
            continue  # reserved by the administrator
        finding = report.add("unreserved-%s" % label, None, pool_name,
                             "%s in use by %s but free in the pool" % (value, ", ".join(users[value])))
        if fix:
            pool.reserve(value)
            finding.result = FIXED
            changed = True
    for value in sorted(allocated - set(users)):
        finding = report.add("leaked-%s" % label, None, pool_name,
                             "%s allocated in the pool, used by nothing%s"
                             % (value, " (a create or connect is in flight: not freed)" if in_flight
                                else ""))
        if fix and not in_flight:
            pool.put(value)
            finding.result = FIXED
            changed = True
    if changed:
        pool.save()


def check_bridges(report, fix=False):
    users = {}
    for net_id, link in Network.objects.filter(deleted=False, type="PRIVATE_PHYSICAL_VLAN") \
            .values_list("id", "link"):
        if link:
            users.setdefault(link, []).append("network %s" % net_id)
    with transaction.atomic():
        try:
            pool = BridgePool.locked()
        except PoolError:
            return  # no pool: nothing to compare with
        _check_pool(report, "bridge pool", pool, users, fix, "bridge")


def check_mac_prefixes(report, fix=False):
    users = {}
    for net_id, prefix in Network.objects.filter(deleted=False, type="PRIVATE_MAC_FILTERED") \
            .exclude(mac_prefix=settings.MAC_POOL_BASE).values_list("id", "mac_prefix"):
        users.setdefault(prefix, []).append("network %s" % net_id)
    with transaction.atomic():
        try:
            pool = MacPrefixPool.locked()
        except PoolError:
            pool = None  # no pool: nothing to compare with
        if pool is not None:
            _check_pool(report, "MAC-prefix pool", pool, users, fix, "mac-prefix")
    prefixes = {}
    for net_id, prefix in BackendNetwork.objects.filter(deleted=False, network__deleted=False) \
            .exclude(mac_prefix__startswith=settings.MAC_POOL_BASE) \
            .values_list("network_id", "mac_prefix"):
        prefixes.setdefault(prefix, []).append("network %s" % net_id)
    for prefix, owners in sorted(prefixes.items()):
        if len(owners) > 1:
            report.add("duplicate-mac-prefix", None, "backend networks",
                       "backend prefix %s used by %s" % (prefix, ", ".join(owners)))


def ganeti_ips(views):
    """``{network id: {ipv4: [instance names]}}`` from the bulk instance lists of ``views``."""
    used = {}
    for view in views:
        for name, inst in view.instances().items():
            names = inst.get("nic.networks.names") or []
            ips = inst.get("nic.ips") or []
            for net_name, ip in zip(names, ips, strict=False):
                net_id = network_id_of(net_name)
                if net_id is not None and ip:
                    used.setdefault(net_id, {}).setdefault(ip, []).append("instance %s" % name)
    return used


def check_ip_pools(report, fix=False, ganeti_used=None, network_ids=None):
    """Every non-deleted network's IP pool vs its NICs (and ``ganeti_used``:
    :func:`ganeti_ips`). IPs held by two NICs of the DB are ``duplicate-ip``."""
    ganeti_used = ganeti_used or {}
    networks = Network.objects.filter(deleted=False).order_by("id")
    if network_ids is not None:
        networks = networks.filter(pk__in=network_ids)
    for network in networks:
        if not IPPoolTable.objects.filter(network=network).exists():
            continue
        if network.public and not settings.PUBLIC_USE_POOL:
            continue
        users = {}
        for vm_id, index, ip in NetworkInterface.objects.filter(network=network, ipv4__isnull=False) \
                .values_list("machine_id", "index", "ipv4"):
            users.setdefault(ip, []).append("server %s NIC %s" % (vm_id, index))
        # an address taken for a create or connect that Ganeti has not reported yet
        for vm_id, kind, ip in PendingNic.objects.filter(network=network, ipv4__isnull=False) \
                .values_list("machine_id", "kind", "ipv4"):
            users.setdefault(ip, []).append("server %s pending %s NIC" % (vm_id, kind.lower()))
        for ip, owners in (ganeti_used.get(network.id) or {}).items():
            if ip not in users:  # in Ganeti, not in the DB: it is in use all the same
                users[ip] = list(owners)
        in_flight = VirtualMachine.objects.filter(deleted=False, task__in=IN_FLIGHT_TASKS) \
            .filter(Q(backend__networks__network=network) | Q(task="CONNECT")).exists()
        with transaction.atomic():
            pool = IPPool.for_network(network)
            try:
                _check_pool(report, "network %s" % network.id, pool, users, fix, "ip", in_flight)
            except (PoolError, ValueError) as exc:
                report.add("error", None, "network %s" % network.id, str(exc)).result = FAILED


def reconcile(report, fix=False, views=()):
    check_bridges(report, fix)
    check_mac_prefixes(report, fix)
    check_ip_pools(report, fix, ganeti_ips(views))
