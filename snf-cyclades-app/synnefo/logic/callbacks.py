"""Apply one decoded Ganeti message to the database (spec 03 §5.2).

Every handler runs in ONE transaction and locks its target row with
``SELECT ... FOR UPDATE`` first, following the global lock order
VM -> Network -> BackendNetwork -> pool rows (networks ordered by id). The
transition rules themselves live in :mod:`synnefo.logic.state`.

Each handler returns a short outcome string (``applied``, ``unchanged``,
``stale``, ``unknown``, ``ignored``, ``duplicate``) for logs and tests.
Unknown / not-ours objects are logged and reported as handled (the
dispatcher acks them). A message that can never be applied raises
:class:`synnefo.logic.state.InvalidMessage` (the dispatcher dead-letters it).

Ordering watermarks (see docs/dispatcher.rst, "Ordering guard"):

* op-status: ``backendtime`` (the Ganeti master's job timestamps). An event
  strictly older than it is ignored; it is advanced only by the events the
  state table marks (final outcomes).
* progress: no watermark; ``buildpercentage`` only grows and only while
  BUILD, diagnostics are de-duplicated by (source, source time, message).
  The node clocks of progress messages are therefore never compared with the
  master's job clock.
* net-status: its own watermark, ``nics_backendtime`` (the per-type
  watermark spec 03 §5.3 suggests, rather than the shared ``backendtime`` of
  the reference). The hook's wall-clock time is not comparable with the op
  watermark (it is usually *earlier* than the end time of the op that
  triggered it, so sharing one watermark would drop the NICs of every fresh
  server, and a net-status would push back the op-status that follows it),
  but net-status messages all come from the hook on the master and are
  comparable with each other: a NIC set strictly older than the last one
  applied is ignored (with two dispatchers, an older set handled after a
  newer one would otherwise overwrite it). Every non-stale message advances
  it, also when the set is unchanged (A at t1, A at t3, B at t2 must end in
  A). The NIC set is rewritten only when it differs, and never on a deleted
  VM.

Several messages in one transaction (:class:`Batch`): the dispatcher may
apply a run of messages that lock no row but their server's (op-status
events that release nothing, see :func:`synnefo.logic.state.touches_only_the_vm`,
and progress messages) in one transaction. :class:`Batch` locks their VM
rows at once, in id order (the lock order holds: VM rows in id order
first), and hands each handler its row, already read; the handlers then
open no savepoint, so any error rolls the whole batch back (the dispatcher
then applies the messages one by one), and the rows they changed are written
together at the end. A handler writes only the columns it changed (and
``updated``).
"""

import logging

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from synnefo.db.models import (
    Backend,
    BackendNetwork,
    Network,
    NetworkInterface,
    PendingNic,
    VirtualMachine,
    VirtualMachineDiagnostic,
)
from synnefo.logic import state
from synnefo.logic.state import InvalidMessage
from synnefo.logic.utils import vm_id_of

log = logging.getLogger(__name__)

VM_JOB_FIELDS = ["backendjobid", "backendopcode", "backendjobstatus", "backendlogmsg"]


def network_id_of(name):
    """Network id of a Ganeti network name (``snf-net-7`` -> 7), ``None`` if not ours."""
    prefix = "%snet-" % settings.BACKEND_PREFIX_ID
    if not isinstance(name, str) or not name.startswith(prefix):
        return None
    rest = name[len(prefix):]
    return int(rest) if rest.isdigit() else None


def _field(message, name, types=None):
    try:
        value = message[name]
    except (KeyError, TypeError):
        raise InvalidMessage("missing field %r" % name)
    if types is not None and value is not None and not isinstance(value, types):
        raise InvalidMessage("field %r has the wrong type" % name)
    return value


def _event_time(message):
    return state.event_time_to_datetime(_field(message, "event_time"))


def batchable(message):
    """Whether ``message`` may share a transaction with others (:class:`Batch`):
    it locks no row but its server's, whatever the server's state."""
    kind = message.get("type") if isinstance(message, dict) else None
    if kind == "ganeti-op-status":
        return state.touches_only_the_vm(message.get("operation"), message.get("status"))
    return _is_progress(kind)


BATCH_FIELDS = ("operstate", "deleted", "task", "task_job_id", "backendjobid", "backendopcode",
                "backendjobstatus", "backendlogmsg", "backendtime", "buildpercentage")


class Batch:
    """The VM rows of several messages applied in one transaction (module
    docstring): locked with one ``SELECT ... FOR UPDATE`` in id order and
    read once; a handler given the batch takes its row from here and notes
    the columns it changed; :meth:`write` writes them before the commit. Create it inside the transaction."""

    def __init__(self, messages):
        names = [m.get("instance") for m in messages if isinstance(m, dict)]
        self.ids = {vm_id_of(n) for n in names if isinstance(n, str)} - {None}
        # Only the columns the batchable handlers read (another one would be
        # read on access, from the row already locked).
        self.vms = {vm.pk: vm for vm in VirtualMachine.objects.select_for_update()
                    .filter(pk__in=sorted(self.ids)).order_by("pk").only(*BATCH_FIELDS)}
        self.changed = {}  # VM id -> names of the changed fields

    def write(self):
        """Write the changed rows, one ``UPDATE`` each (a row that several
        messages changed is written once); call it before the commit."""
        for pk in sorted(self.changed):
            _update_vm_row(self.vms[pk], self.changed[pk])
        self.changed.clear()


def _update_vm_row(vm, fields):
    """``vm.save(update_fields=fields + ["updated"])`` without the ORM's save
    machinery, whose compiling of the statement cost more than the statement
    (docs/benchmarks.rst): the same columns, the same values (each field's own
    conversion for the database), ``updated`` set to now as ``auto_now`` does.
    VirtualMachine has no save() override and no signal receiver."""
    meta = VirtualMachine._meta
    vm.updated = timezone.now()
    columns = [meta.get_field(name) for name in sorted(set(fields) | {"updated"})]
    quote = connection.ops.quote_name
    sql = "UPDATE %s SET %s WHERE %s = %%s" % (
        quote(meta.db_table), ", ".join("%s = %%s" % quote(field.column) for field in columns),
        quote(meta.pk.column))
    params = [field.get_db_prep_save(getattr(vm, field.attname), connection) for field in columns]
    with connection.cursor() as cursor:
        cursor.execute(sql, params + [vm.pk])


def _save_vm(vm, fields, batch):
    """Write ``fields`` of ``vm`` and ``updated``: now, or in the batch's ``write``."""
    if batch is not None and vm.pk in batch.vms:
        batch.changed.setdefault(vm.pk, set()).update(fields)
    else:
        vm.save(update_fields=sorted(set(fields) | {"updated"}))


def _atomic(batch):
    # Within a batch the dispatcher's transaction is the only one: no savepoint
    # (two round trips a message); an error rolls the whole batch back.
    return transaction.atomic(savepoint=batch is None)


def _lock_vm(message, batch=None):
    """(vm or None, instance name); the VM row is locked."""
    name = _field(message, "instance", str)
    vm_id = vm_id_of(name)
    if vm_id is None:
        log.info("Ignoring %s of instance %r: not a Cyclades server", message.get("type"), name)
        return None, name
    if batch is not None and vm_id in batch.ids:
        vm = batch.vms.get(vm_id)
    else:
        vm = VirtualMachine.objects.select_for_update().filter(pk=vm_id).first()
    if vm is None:
        log.error("Ignoring %s of %s: server %d is not in the DB", message.get("type"), name, vm_id)
    return vm, name


# --- IP pools -------------------------------------------------------------

def _update_pools(networks, release, reserve):
    """Release / reserve ``(network_id, ipv4)`` pairs, locking each pool once
    in network-id order (after the VM and Network rows)."""
    from synnefo.logic.pools import IPPool, PoolError

    by_net = {}
    for net_id, ip in release:
        by_net.setdefault(net_id, ([], []))[0].append(ip)
    for net_id, ip in reserve:
        by_net.setdefault(net_id, ([], []))[1].append(ip)
    for net_id in sorted(by_net):
        network = networks.get(net_id)
        if network is None:
            continue
        to_release, to_reserve = by_net[net_id]
        pool = IPPool.for_network(network)
        for ip, method in [(ip, pool.put) for ip in to_release] + [(ip, pool.reserve) for ip in to_reserve]:
            try:
                method(ip)
            except (PoolError, ValueError) as exc:
                log.warning("IP %s of network %s not in its pool: %s", ip, net_id, exc)
        pool.save()


def _lock_networks(ids):
    return {n.pk: n for n in Network.objects.select_for_update().filter(pk__in=sorted(ids)).order_by("id")}


def release_vm_nics(vm):
    """Terminal removal: IPv4s back to their pools, NIC rows deleted, and so
    for the NICs still pending (the server went before Ganeti reported them)."""
    nics = list(NetworkInterface.objects.filter(machine=vm).order_by("index"))
    pending = list(PendingNic.objects.filter(machine=vm))
    if not nics and not pending:
        return
    networks = _lock_networks({n.network_id for n in nics + pending})
    _update_pools(networks, [(n.network_id, n.ipv4) for n in nics + pending if n.ipv4], [])
    NetworkInterface.objects.filter(machine=vm).delete()
    PendingNic.objects.filter(machine=vm).delete()
    Network.objects.filter(pk__in=list(networks)).update(updated=timezone.now())


def abandon_unsubmitted_connect(pending_id):
    """A connect whose job id was never recorded and whose NIC Ganeti does
    not have (reconciliation decides, after the grace): its address goes back
    to the pool and its PendingNic goes. False if the row is gone or got a job."""
    unsubmitted = PendingNic.objects.filter(pk=pending_id, kind="CONNECT", job_id__isnull=True)
    with transaction.atomic():
        pending = unsubmitted.first()
        if pending is None:
            return False
        # the handlers' lock order: the server, then its networks
        VirtualMachine.objects.select_for_update().filter(pk=pending.machine_id).first()
        networks = _lock_networks({pending.network_id})
        if not unsubmitted.exists():
            return False
        if pending.ipv4:
            _update_pools(networks, [(pending.network_id, pending.ipv4)], [])
        pending.delete()
        Network.objects.filter(pk=pending.network_id).update(updated=timezone.now())
    return True


def abandon_pending_nics(vm, opcode, job_id):
    """A NIC-adding job of ``vm`` failed or was canceled: the addresses taken
    for its pending NICs go back to their pools, and the NICs marked dirty
    for a change that will not happen are clean again (state table,
    ``abandon_nics``). Idempotent."""
    pending = state.abandoned_pending_nics(list(PendingNic.objects.filter(machine=vm)), opcode, job_id)
    if pending:
        networks = _lock_networks({p.network_id for p in pending})
        _update_pools(networks, [(p.network_id, p.ipv4) for p in pending if p.ipv4], [])
        PendingNic.objects.filter(pk__in=[p.pk for p in pending]).delete()
        log.info("Server %s: gave back %s taken for job %s", vm.pk,
                 ", ".join(p.ipv4 or "a NIC without address" for p in pending), job_id)
    if vm.task_job_id is None or vm.task_job_id == job_id:  # not a newer change's mark
        NetworkInterface.objects.filter(machine=vm, dirty=True).update(dirty=False)


# --- op status ------------------------------------------------------------

def _keep_error(vm, source, when, logmsg):
    text = (logmsg or "").strip() or "Ganeti job failed without a message"
    if not VirtualMachineDiagnostic.objects.filter(machine=vm, source=source, source_date=when).exists():
        VirtualMachineDiagnostic.objects.create(machine=vm, level="ERROR", source=source,
                                                source_date=when, message=text[:255], details=logmsg)


def _set(vm, changed, **values):
    """Set the fields of ``vm`` that differ from ``values``; note their names in ``changed``."""
    for name, value in values.items():
        if getattr(vm, name) != value:
            setattr(vm, name, value)
            changed.add(name)


def update_op_status(message, batch=None):
    """``ganeti-op-status``: job bookkeeping, pending task, state table."""
    opcode = _field(message, "operation", str)
    status = _field(message, "status", str)
    job_id = _field(message, "jobId", int)
    logmsg = _field(message, "logmsg", str) if "logmsg" in message else None
    state.check_status(status)
    when = _event_time(message)
    with _atomic(batch):
        vm, name = _lock_vm(message, batch)
        if vm is None:
            return "unknown"
        ends_task = state.clears_task(vm.task, vm.task_job_id, job_id, status, opcode)
        effect = state.vm_effect(opcode, status, vm.operstate)
        if effect.abandon_nics:  # keyed on the job: applies even to a stale message
            abandon_pending_nics(vm, opcode, job_id)
        if state.is_stale(when, vm.backendtime):
            log.debug("Stale %s/%s of %s (job %s): %s < %s", opcode, status, name, job_id, when,
                      vm.backendtime)
            if ends_task:  # a final status ends its task whenever it arrives
                vm.task, vm.task_job_id = None, None
                _save_vm(vm, ["task", "task_job_id"], batch)
            return "stale"
        changed = set()
        if state.bookkeeping_applies(job_id, vm.backendjobid):
            _set(vm, changed, backendjobid=job_id, backendopcode=opcode, backendjobstatus=status,
                 backendlogmsg=logmsg)
        if ends_task:
            _set(vm, changed, task=None, task_job_id=None)
        if vm.deleted and not effect.destroy:
            effect = state.NO_EFFECT  # nothing brings a removed server back
        if effect.destroy and not vm.deleted:
            release_vm_nics(vm)
            _set(vm, changed, deleted=True)
        if effect.operstate:
            if effect.operstate != vm.operstate:
                log.info("Server %s: %s -> %s (%s %s, job %s)", name, vm.operstate, effect.operstate,
                         opcode, status, job_id)
            _set(vm, changed, operstate=effect.operstate)
        if effect.keep_error:
            _keep_error(vm, "ganeti-%s-%s" % (opcode.lower().replace("_", "-"), status), when, logmsg)
        if effect.advance_time:
            _set(vm, changed, backendtime=when)
        # Only the columns that changed, and ``updated``, which moves as before
        # (also for an event that changes nothing else).
        _save_vm(vm, changed, batch)
    return "applied"


# --- net status -----------------------------------------------------------

def _nic_rows(vm, nics, networks):
    profiles = state.firewall_profiles(settings)
    rows = []
    for index, nic in enumerate(nics):
        if not isinstance(nic, dict):
            raise InvalidMessage("NIC %d is not an object" % index)
        net_id = network_id_of(nic.get("network"))
        network = networks.get(net_id)
        if network is None:
            log.warning("Server %s: skipping NIC %d on unknown network %r", vm.pk, index,
                        nic.get("network"))
            continue
        if network.action == "DESTROY":
            # No NIC used it when its delete was accepted, and no connect can
            # start since: this one is the NIC of a connect Ganeti reported
            # failed. reconcile-networks removes it from the instance.
            log.warning("Server %s: not adopting NIC %d on network %s, which is being deleted",
                        vm.pk, index, net_id)
            continue
        mac = nic.get("mac")
        if not isinstance(mac, str) or not mac:
            raise InvalidMessage("NIC %d has no MAC" % index)
        firewall = nic.get("firewall")
        profile = profiles.get(firewall) if firewall else None
        if firewall and profile is None:
            log.warning("Server %s: NIC %d has unknown firewall tag value %r", vm.pk, index, firewall)
        if profile is None and network.public:
            profile = settings.DEFAULT_FIREWALL_PROFILE
        rows.append({"index": index, "network_id": net_id, "mac": mac.lower(),
                     "ipv4": nic.get("ip") or None, "ipv6": nic.get("ipv6") or None,
                     "firewall_profile": profile})
    return rows


def _nic_key(row):
    return (row["index"], row["network_id"], row["mac"], row["ipv4"], row["ipv6"],
            row["firewall_profile"])


def update_net_status(message, batch=None):
    """``ganeti-net-status``: rebuild the server's NICs when they changed,
    unless an already applied net-status is newer (module docstring)."""
    nics = _field(message, "nics", list)
    when = _event_time(message)
    with _atomic(batch):
        vm, name = _lock_vm(message, batch)
        if vm is None:
            return "unknown"
        if vm.deleted:
            log.info("Ignoring NICs of removed server %s", name)
            return "ignored"
        if state.is_stale(when, vm.nics_backendtime):
            log.info("Ignoring stale NICs of %s: %s < %s", name, when, vm.nics_backendtime)
            return "stale"
        moved = state.moves_watermark(when, vm.nics_backendtime)
        if moved:
            vm.nics_backendtime = when
        current = list(NetworkInterface.objects.filter(machine=vm).order_by("index"))
        wanted_ids = {network_id_of(n.get("network")) for n in nics if isinstance(n, dict)}
        wanted_ids.discard(None)
        networks = _lock_networks(wanted_ids | {n.network_id for n in current})
        rows = _nic_rows(vm, nics, networks)
        old = [{"index": n.index, "network_id": n.network_id, "mac": n.mac, "ipv4": n.ipv4,
                "ipv6": n.ipv6, "firewall_profile": n.firewall_profile} for n in current]
        if sorted(map(_nic_key, old)) == sorted(map(_nic_key, rows)):
            if any(n.dirty for n in current):
                NetworkInterface.objects.filter(machine=vm).update(dirty=False)
                vm.save(update_fields=["nics_backendtime", "updated"])
                return "applied"
            if moved:
                vm.save(update_fields=["nics_backendtime"])
            return "unchanged"
        old_ips = {(r["network_id"], r["ipv4"]) for r in old if r["ipv4"]}
        new_ips = {(r["network_id"], r["ipv4"]) for r in rows if r["ipv4"]}
        _update_pools(networks, sorted(old_ips - new_ips), sorted(new_ips - old_ips))
        reported = state.reported_pending_nics(
            list(PendingNic.objects.filter(machine=vm)),
            [(r["network_id"], r["ipv4"], r["mac"]) for r in rows], {r["mac"] for r in old})
        # Their addresses now belong to the NIC rows written below.
        PendingNic.objects.filter(pk__in=[p.pk for p in reported]).delete()
        NetworkInterface.objects.filter(machine=vm).delete()
        NetworkInterface.objects.bulk_create(
            [NetworkInterface(machine=vm, dirty=False, **row) for row in rows])
        touched = {r["network_id"] for r in old} | {r["network_id"] for r in rows}
        Network.objects.filter(pk__in=sorted(touched)).update(updated=timezone.now())
        vm.save(update_fields=["nics_backendtime", "updated"])
        log.info("Server %s: NICs now %s", name,
                 ", ".join("%d:%s/%s" % (r["index"], r["network_id"], r["ipv4"]) for r in rows) or "none")
    return "applied"


# --- network status ---------------------------------------------------------

def _ip_list(message, name):
    value = message.get(name) or []
    if not isinstance(value, list):
        raise InvalidMessage("field %r must be a list" % name)
    return [str(v) for v in value]


def update_network_state(network):
    """Recompute ``Network.state`` (network locked by the caller) from its
    BackendNetworks on non-offline backends; on the transition into DELETED
    mark it deleted and return its bridge / MAC prefix to their pools."""
    operstates = BackendNetwork.objects.filter(network=network, backend__offline=False) \
        .values_list("operstate", flat=True)
    new_state = "DELETED" if network.deleted else state.network_state(list(operstates))
    if new_state == network.state:
        return False
    log.info("Network %s: %s -> %s", network.pk, network.state, new_state)
    network.state = new_state
    if new_state == "DELETED":
        network.deleted = True
        from synnefo.logic.networks import release_resources
        release_resources(network)
    network.save()
    return True


def update_network_status(message, batch=None):
    """``ganeti-network-status``: BackendNetwork state, SET_PARAMS reservations."""
    opcode = _field(message, "operation", str)
    status = _field(message, "status", str)
    job_id = _field(message, "jobId", int)
    logmsg = _field(message, "logmsg", str) if "logmsg" in message else None
    name = _field(message, "network", str)
    cluster = _field(message, "cluster", str)
    state.check_status(status)
    when = _event_time(message)
    net_id = network_id_of(name)
    if net_id is None:
        log.info("Ignoring %s of network %r: not a Cyclades network", opcode, name)
        return "unknown"
    with _atomic(batch):
        network = Network.objects.select_for_update().filter(pk=net_id).first()
        backend = Backend.objects.filter(clustername=cluster).first()
        if network is None or backend is None:
            log.error("Ignoring %s of %s on %s: %s not in the DB", opcode, name, cluster,
                      "network" if network is None else "backend")
            return "unknown"
        bnet = BackendNetwork.objects.select_for_update().filter(network=network, backend=backend).first()
        if bnet is None:
            log.error("Ignoring %s of %s: no BackendNetwork on %s", opcode, name, cluster)
            return "unknown"
        if state.is_stale(when, bnet.backendtime):
            log.debug("Stale %s/%s of %s on %s", opcode, status, name, cluster)
            return "stale"
        if state.bookkeeping_applies(job_id, bnet.backendjobid):
            bnet.backendjobid, bnet.backendopcode = job_id, opcode
            bnet.backendjobstatus, bnet.backendlogmsg = status, logmsg
        effect = state.network_effect(opcode, status, bnet.operstate)
        if opcode == "OP_NETWORK_SET_PARAMS" and status == "success":
            add, remove = _ip_list(message, "add_reserved_ips"), _ip_list(message, "remove_reserved_ips")
            if add or remove:
                from synnefo.logic.pools import IPPool, PoolError
                pool = IPPool.for_network(network)
                for ip in add:
                    try:
                        pool.reserve(ip, external=True)
                    except (PoolError, ValueError) as exc:
                        log.warning("Network %s: cannot reserve %s: %s", net_id, ip, exc)
                for ip in remove:
                    try:
                        pool.release_external(ip)
                    except (PoolError, ValueError) as exc:
                        log.warning("Network %s: cannot release %s: %s", net_id, ip, exc)
                pool.save()
        if effect.operstate:
            bnet.operstate = effect.operstate
        if effect.destroy:
            bnet.deleted = True
        if effect.advance_time:
            bnet.backendtime = when
        bnet.save()
        if effect.operstate:
            update_network_state(network)
    return "applied"


# --- progress ------------------------------------------------------------------

def update_progress(message, batch=None):
    """snf-image progress: build percentage and diagnostics."""
    kind = _field(message, "type", str)
    when = _event_time(message)
    with _atomic(batch):
        vm, name = _lock_vm(message, batch)
        if vm is None:
            return "unknown"
        if kind in ("image-copy-progress", "ganeti-create-progress"):
            value = _field(message, "progress" if kind == "image-copy-progress" else "rprogress")
            percentage = state.build_percentage(value, vm.buildpercentage)
            if not state.progress_applies(vm.operstate, vm.deleted):
                return "ignored"
            if percentage == vm.buildpercentage:
                return "unchanged"
            vm.buildpercentage = percentage
            _save_vm(vm, ["buildpercentage"], batch)
            return "applied"
        if kind in ("image-info", "image-warning", "image-error", "image-helper"):
            source, level, text, details = state.diagnostic_of(message)
            if VirtualMachineDiagnostic.objects.filter(machine=vm, source=source, source_date=when,
                                                       message=text).exists():
                return "duplicate"
            VirtualMachineDiagnostic.objects.create(machine=vm, level=level, source=source,
                                                    source_date=when, message=text, details=details)
            _save_vm(vm, [], batch)
            return "applied"
    log.error("Ignoring progress message of unknown type %r for %s", kind, name)
    return "ignored"


HANDLERS = {
    "ganeti-op-status": update_op_status,
    "ganeti-net-status": update_net_status,
    "ganeti-network-status": update_network_status,
}


def _is_progress(kind):
    return isinstance(kind, str) and (kind.startswith("image-") or kind == "ganeti-create-progress")


def handle(message, batch=None):
    """Apply one decoded message; returns the outcome string.

    ``batch``: the :class:`Batch` of the transaction the caller opened for
    several messages (``None``: this message has its own transaction)."""
    if not isinstance(message, dict):
        raise InvalidMessage("message is not an object")
    kind = message.get("type")
    handler = HANDLERS.get(kind)
    if handler is None and _is_progress(kind):
        handler = update_progress
    if handler is None:
        raise InvalidMessage("unknown message type %r" % (kind,))
    return handler(message, batch)
