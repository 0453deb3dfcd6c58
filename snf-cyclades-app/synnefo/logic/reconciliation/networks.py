"""Networks vs Ganeti networks (``snf-manage reconcile-networks``).

For every non-deleted network and every non-offline backend it belongs on
(private networks: every backend, so a backend added later gets every
existing network; public networks: the backends with a BackendNetwork):

* ``missing``: not in Ganeti (no BackendNetwork row, a backend that was
  offline at creation, a network removed behind our back, a create that
  failed): fix = its BackendNetwork goes PENDING (``OP_NETWORK_ADD``
  success as of the read) and it is created and connected to every node
  group again;
* ``stale``: being destroyed and already gone from Ganeti, but the removal
  never reached the DB: fix = the lost ``OP_NETWORK_REMOVE`` success;
* ``hanging``: in Ganeti but not connected to every node group: fix =
  connect it to the missing groups;
* ``unsynced-state``: connected everywhere but not ACTIVE in the DB (its
  connect message was lost, or it was marked ERROR): fix = the lost
  ``OP_NETWORK_CONNECT`` success;
* ``undestroyed``: marked for destruction, still in Ganeti and no job on it
  running: fix = delete it again. Where instances still have a NIC on it in
  Ganeti (the NIC of a connect whose job Ganeti reported failed after adding
  it: the database never had it), the fix first removes those NICs, and the
  delete waits for the removals;
* ``orphan``: a Ganeti network named with our prefix that no non-deleted
  network owns: fix = disconnect and delete it;
* the IP pool of every network against the NICs in the DB and in Ganeti
  (:func:`synnefo.logic.reconciliation.pools.check_ip_pools`).

State changes go through :mod:`.events` (the dispatcher's handlers).
"""

import logging

from django.conf import settings
from synnefo.db.models import Backend, BackendNetwork, Network, NetworkInterface
from synnefo.logic import backends as backend_mod
from synnefo.logic.errors import LogicError
from synnefo.logic.reconciliation import events, pools
from synnefo.logic.reconciliation.ganeti import BackendUnreachable, BackendView, job_is_final
from synnefo.logic.reconciliation.report import FAILED, FIXED
from synnefo.logic.utils import instance_name, network_name
from synnefo.rapi import GanetiApiError

log = logging.getLogger(__name__)

KINDS = ("missing", "stale", "hanging", "unsynced-state", "undestroyed", "orphan")


def _connected_groups(view_net):
    return {entry[0] for entry in view_net.get("group_list") or [] if entry}


def _busy(view, bnet):
    """A job of this BackendNetwork is still running in Ganeti."""
    if bnet is None or bnet.backendjobid is None or bnet.backendjobstatus in ("success", "error",
                                                                              "canceled"):
        return False
    try:
        job = view.job(bnet.backendjobid)
    except BackendUnreachable:
        return True  # cannot tell: leave it to the next run
    return job is not None and not job_is_final(job)


def _belongs(network, backend, bnet):
    if network.public:
        return bnet is not None
    return True


def check_backend(report, view, networks, fix):
    backend = view.backend
    try:
        ganeti = view.networks()
        groups = set(view.groups())
        instances = view.ours() if any(n.action == "DESTROY" for n in networks) else {}
    except BackendUnreachable as exc:
        report.error(backend, "backend did not answer: %s" % exc)
        return False
    bnets = {b.network_id: b for b in BackendNetwork.objects.filter(backend=backend)}
    when = events.event_time(view.taken_at)
    for network in networks:
        bnet = bnets.get(network.id)
        destroying = network.action == "DESTROY"
        if not _belongs(network, backend, bnet) or (bnet is not None and bnet.deleted and destroying):
            continue
        if _busy(view, bnet):
            continue
        obj = "network %s" % network.id
        there = ganeti.get(network.id)
        if there is None:
            if destroying and bnet is None:
                continue  # never on this backend: nothing to remove
            if destroying:
                _finding(report, backend, "stale", obj, "being destroyed and gone from Ganeti",
                         fix, lambda n=network: events.network_status(
                             n.id, backend.clustername, "OP_NETWORK_REMOVE", "success", when))
            else:
                why = "no BackendNetwork row" if bnet is None else "not in Ganeti (%s in the DB)" % \
                    bnet.operstate
                _finding(report, backend, "missing", obj, why, fix,
                         lambda n=network: _create(n, backend, when))
            continue
        if destroying:
            users = _nics_in_ganeti(instances, network.id)
            if users:
                _finding(report, backend, "undestroyed", obj, "marked for destruction, still in Ganeti "
                         "and used there by %s (NICs of failed connects): their NICs removed first"
                         % ", ".join("server %s" % vm_id for vm_id in sorted(users)), fix,
                         lambda n=network, u=users: _remove_nics_then_delete(view, n, u))
            elif not NetworkInterface.objects.filter(network=network).exists():
                _finding(report, backend, "undestroyed", obj, "marked for destruction but still in "
                         "Ganeti", fix, lambda n=network: backend_mod.delete_network_on_backend(n, backend))
            continue
        missing_groups = sorted(groups - _connected_groups(there))
        if missing_groups:
            _finding(report, backend, "hanging", obj, "not connected to node group(s) %s"
                     % ", ".join(missing_groups), fix,
                     lambda n=network, g=missing_groups: _connect(view, n, g))
        elif bnet is None or bnet.operstate != "ACTIVE":
            _finding(report, backend, "unsynced-state", obj, "%s in the DB, connected in Ganeti"
                     % (bnet.operstate if bnet else "no BackendNetwork row"), fix,
                     lambda n=network: _connected(n, backend, when))
    owned = {n.id for n in networks}
    for net_id, there in sorted(ganeti.items()):
        if net_id not in owned:
            _finding(report, backend, "orphan", "Ganeti network %s" % there.get("name"),
                     "no network %s in the DB (or it is deleted)" % net_id, fix,
                     lambda i=net_id: _delete_orphan(view, i))
    return True


def _finding(report, backend, kind, obj, details, fix, repair):
    finding = report.add(kind, backend, obj, details)
    if not fix:
        return
    try:
        repair()
    except (GanetiApiError, BackendUnreachable, LogicError, OSError) as exc:
        log.error("Reconciliation of %s on %s (%s) failed: %s", obj, backend, kind, exc)
        finding.result = FAILED
        finding.details += " (fix failed: %s)" % exc
        return
    finding.result = FIXED


def _connected(network, backend, when):
    """The lost ``OP_NETWORK_CONNECT`` success (the BackendNetwork row made if missing)."""
    _revive(network, backend)
    return events.network_status(network.id, backend.clustername, "OP_NETWORK_CONNECT", "success", when)


def _revive(network, backend):
    """The network's BackendNetwork row on ``backend``, made if missing; a row
    marked deleted (the network was removed from this backend only, and lives
    on) is used again."""
    bnet = backend_mod.ensure_backend_network(network, backend)
    if bnet.deleted:
        BackendNetwork.objects.filter(pk=bnet.pk).update(deleted=False)


def _create(network, backend, when):
    """Create and connect it again. Its BackendNetwork goes PENDING by the
    ``OP_NETWORK_ADD`` success of the moment Ganeti was read, so the delayed
    messages of whatever removed it before (older) can no longer apply."""
    _revive(network, backend)
    events.network_status(network.id, backend.clustername, "OP_NETWORK_ADD", "success", when)
    return backend_mod.create_network_on_backend(network, backend)


def _connect(view, network, groups):
    for group in groups:
        view.client.connect_network(network_name(network.id), group, backend_mod.network_mode(network),
                                    network.link, conflicts_check=bool(network.public))


def _nics_in_ganeti(instances, network_id):
    """``{vm id: [NIC indexes]}`` of the instances with a NIC on the network,
    as Ganeti has them.

    For a network marked DESTROY these are NICs the database never had:
    the delete was accepted only when no NIC and no connect in flight used
    the network, and the dispatcher adopts no NIC on such a network. They
    come from a connect whose job Ganeti reported failed after adding the
    NIC (a master that died mid-job), and they would keep Ganeti from ever
    removing the network."""
    name = network_name(network_id)
    users = {}
    for vm_id, inst in instances.items():
        indexes = [i for i, net in enumerate(inst.get("nic.networks.names") or []) if net == name]
        if indexes:
            users[vm_id] = indexes
    return users


def _remove_nics_then_delete(view, network, users):
    """Remove the ``users``' NICs from their instances (highest index first,
    so that the lower ones keep theirs), then delete the network, its
    disconnects waiting for those removals."""
    client = view.client
    removals = [client.modify_instance(instance_name(vm_id),
                                       nics=[["remove", i, {}] for i in sorted(indexes, reverse=True)],
                                       hotplug=settings.GANETI_USE_HOTPLUG)
                for vm_id, indexes in sorted(users.items())]
    return backend_mod.delete_network_on_backend(network, view.backend, after=removals)


def _delete_orphan(view, net_id):
    client = view.client
    name = network_name(net_id)
    disconnects = [client.disconnect_network(name, group) for group in view.groups()]
    return client.delete_network(name, depends=backend_mod.after_any_outcome(disconnects))


def reconcile(report, fix=False, backend_id=None):
    """Returns the number of networks checked."""
    backends = Backend.objects.filter(offline=False).order_by("id")
    if backend_id is not None:
        backends = backends.filter(pk=backend_id)
    networks = list(Network.objects.filter(deleted=False).order_by("id"))
    answered = []
    for backend in backends:
        view = BackendView(backend)
        if check_backend(report, view, networks, fix):
            answered.append(view)
    complete = len(answered) == len(backends)
    try:
        used = pools.ganeti_ips(answered)
    except BackendUnreachable as exc:
        report.error(None, "backend did not answer: %s" % exc)
        used, complete = {}, False
    # What a backend that did not answer uses is unknown: then the pools are only reported.
    pools.check_ip_pools(report, fix and complete, used)
    return len(networks)
