"""The one table of state transitions (spec 01 §2, §3; 03 §5.3).

Everything here is a pure function of plain values, so the dispatcher
(:mod:`synnefo.logic.callbacks`), reconciliation and the API share one
definition of:

* (opcode, job status[, current operstate]) -> new VM / BackendNetwork
  operstate, whether the event advances the ordering watermark
  (``backendtime``) and what the terminal outcome releases;
* the ordering guard (is a message stale? does it move its watermark?),
  for every watermark: ``backendtime`` of op-status, ``nics_backendtime``
  of net-status;
* when a pending task (``vm.task``) is cleared;
* the API ``status`` / ``progress`` of a server and the derived
  ``Network.state``.
"""

import datetime
from typing import NamedTuple

JOB_STATUSES = ("queued", "waiting", "canceling", "running", "canceled", "success", "error")
FINAL_JOB_STATUSES = ("success", "error", "canceled")
FAILED_JOB_STATUSES = ("error", "canceled")
ANY = "*"  # "any current operstate" in the tables


class InvalidMessage(ValueError):
    """A message that can never be applied (dead-lettered by the dispatcher)."""


class Effect(NamedTuple):
    """What an op-status event does to its target.

    ``operstate``: the new operstate (``None`` = unchanged);
    ``advance_time``: the event moves the ``backendtime`` watermark;
    ``destroy``: the object is gone in Ganeti: VM -> release NIC IPv4s to
    their pools, delete the NICs, ``deleted=True``; BackendNetwork ->
    ``deleted=True``;
    ``keep_error``: a failed creation: keep Ganeti's error message for the
    operator (a diagnostic row besides ``backendlogmsg``);
    ``abandon_nics``: the NICs the job was to add or remove will never be
    reported: the addresses taken for its pending NICs go back to their pools
    (:func:`abandoned_pending_nics` says which) and the NICs marked dirty for
    it are clean again.
    """

    operstate: str | None = None
    advance_time: bool = False
    destroy: bool = False
    keep_error: bool = False
    abandon_nics: bool = False


NO_EFFECT = Effect()

# (opcode, job status, current operstate or ANY) -> Effect. Rows with a
# specific current operstate win over ANY rows. Missing rows: bookkeeping only.
VM_TRANSITIONS = {
    ("OP_INSTANCE_CREATE", "success", ANY): Effect("STARTED", advance_time=True),
    ("OP_INSTANCE_CREATE", "error", ANY): Effect("ERROR", advance_time=True, keep_error=True,
                                                 abandon_nics=True),
    ("OP_INSTANCE_CREATE", "canceled", ANY): Effect("ERROR", advance_time=True, keep_error=True,
                                                    abandon_nics=True),
    ("OP_INSTANCE_STARTUP", "success", ANY): Effect("STARTED", advance_time=True),
    ("OP_INSTANCE_SHUTDOWN", "success", ANY): Effect("STOPPED", advance_time=True),
    ("OP_INSTANCE_REBOOT", "success", ANY): Effect("STARTED", advance_time=True),
    ("OP_INSTANCE_REMOVE", "success", ANY): Effect("DESTROYED", advance_time=True, destroy=True),
    # The instance never existed in Ganeti (its creation failed): removal
    # "fails" but the server is gone. 0.14.6 asks Ganeti first; reconciliation
    # covers the other failed removals.
    ("OP_INSTANCE_REMOVE", "error", "ERROR"): Effect("DESTROYED", advance_time=True, destroy=True),
    # Any other failed removal: the server stays as it was, Ganeti's reason is
    # kept on it, and reconcile-servers submits the accepted delete again
    # (``failed-delete``): a job that failed because its master died (Ganeti
    # marks its running jobs so) must not leave the delete undone.
    ("OP_INSTANCE_REMOVE", "error", ANY): Effect(None, advance_time=True, keep_error=True),
    ("OP_INSTANCE_REMOVE", "canceled", ANY): Effect(None, advance_time=True, keep_error=True),
    # A refused NIC add / remove (connect, disconnect) or firewall refresh:
    # the NICs stay as they were; the address of a connect goes back and
    # Ganeti's reason is kept on the server (issue 10 item 6).
    ("OP_INSTANCE_SET_PARAMS", "error", ANY): Effect(None, advance_time=True, keep_error=True,
                                                     abandon_nics=True),
    ("OP_INSTANCE_SET_PARAMS", "canceled", ANY): Effect(None, advance_time=True, keep_error=True,
                                                        abandon_nics=True),
}

NETWORK_TRANSITIONS = {
    ("OP_NETWORK_ADD", "success", ANY): Effect("PENDING", advance_time=True),
    ("OP_NETWORK_ADD", "error", ANY): Effect("ERROR", advance_time=True, keep_error=True),
    ("OP_NETWORK_ADD", "canceled", ANY): Effect("ERROR", advance_time=True, keep_error=True),
    ("OP_NETWORK_CONNECT", "success", ANY): Effect("ACTIVE", advance_time=True),
    # A network Ganeti would not create (or whose connect depended on a
    # failed create) is ERROR, never PENDING for good.
    ("OP_NETWORK_CONNECT", "error", "PENDING"): Effect("ERROR", advance_time=True, keep_error=True),
    ("OP_NETWORK_CONNECT", "canceled", "PENDING"): Effect("ERROR", advance_time=True, keep_error=True),
    ("OP_NETWORK_DISCONNECT", "success", ANY): Effect("PENDING", advance_time=True),
    ("OP_NETWORK_REMOVE", "success", ANY): Effect("DELETED", advance_time=True, destroy=True),
    ("OP_NETWORK_REMOVE", "error", "ERROR"): Effect("DELETED", advance_time=True, destroy=True),
    # External IP reservations are applied for every status; only success
    # moves the watermark (03 §5.2).
    ("OP_NETWORK_SET_PARAMS", "success", ANY): Effect(None, advance_time=True),
}


def check_status(status):
    if status not in JOB_STATUSES:
        raise InvalidMessage("invalid job status %r" % (status,))


def _lookup(table, opcode, status, current):
    check_status(status)
    effect = table.get((opcode, status, current))
    if effect is None:
        effect = table.get((opcode, status, ANY), NO_EFFECT)
    return effect


def vm_effect(opcode, status, current_operstate):
    """The :class:`Effect` of an op-status event on a VM in ``current_operstate``."""
    return _lookup(VM_TRANSITIONS, opcode, status, current_operstate)


def touches_only_the_vm(opcode, status):
    """Whether an op-status event of ``(opcode, status)`` writes nothing but its
    VM row (and the VM's diagnostics), whatever the VM's operstate: no row of
    the table for it releases NICs or addresses (``destroy``,
    ``abandon_nics``), which lock Network and pool rows. The dispatcher
    applies such events several to a transaction (``docs/dispatcher.rst``)."""
    return not any(effect.destroy or effect.abandon_nics
                   for (row_opcode, row_status, _), effect in VM_TRANSITIONS.items()
                   if row_opcode == opcode and row_status == status)


def network_effect(opcode, status, current_operstate):
    """The :class:`Effect` of a network-status event on a BackendNetwork."""
    return _lookup(NETWORK_TRANSITIONS, opcode, status, current_operstate)


# --- pending NICs (addresses taken for a job) -------------------------------

PENDING_NIC_OPCODES = {"OP_INSTANCE_CREATE": "CREATE", "OP_INSTANCE_SET_PARAMS": "CONNECT"}


def abandoned_pending_nics(pending, opcode, job_id):
    """Of ``pending`` (objects with ``kind`` and ``job_id``) those whose NIC
    the failed or canceled job ``job_id`` of ``opcode`` was to add.

    The create's NIC goes also when its job id was never recorded (the
    dispatcher saw the job end before the API stored the id): a server has
    one create. A connect whose job id is unknown (its submission may or may
    not have reached Ganeti) is left to reconciliation.
    """
    kind = PENDING_NIC_OPCODES.get(opcode)
    return [p for p in pending if p.kind == kind
            and (p.job_id == job_id or (kind == "CREATE" and p.job_id is None))]


def reported_pending_nics(pending, reported, known_macs):
    """Of ``pending`` (objects with ``network_id`` and ``ipv4``) those that
    Ganeti now reports: ``reported`` is the new NIC set as
    ``(network_id, ipv4, mac)`` triples, ``known_macs`` the MACs of the NICs
    the DB had before. A pending NIC with an address is reported when a NIC
    of its network has that address; one without, when a NIC of its network
    with a MAC the DB did not know appears. Each reported NIC ends at most
    one pending NIC."""
    unused = list(reported)
    done = []
    for item in pending:
        for nic in unused:
            network_id, ipv4, mac = nic
            if network_id != item.network_id:
                continue
            if item.ipv4 and ipv4 == item.ipv4 or not item.ipv4 and mac not in known_macs:
                unused.remove(nic)
                done.append(item)
                break
    return done


# --- event time and the ordering guard ------------------------------------

def event_time_to_datetime(value):
    """``[seconds, microseconds]`` -> aware UTC datetime (InvalidMessage if malformed)."""
    try:
        if not isinstance(value, (list, tuple)):
            raise TypeError
        seconds, micros = value
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (seconds, micros)):
            raise TypeError
        if not 0 <= micros < 1000000 or seconds < 0:
            raise ValueError
        return datetime.datetime.fromtimestamp(seconds, datetime.UTC).replace(
            microsecond=micros)
    except (TypeError, ValueError, OverflowError, OSError):
        raise InvalidMessage("malformed event_time %r" % (value,))


def as_utc(value):
    """A DB datetime as aware UTC (SQLite with USE_TZ=False gives naive values)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=datetime.UTC)
    return value.astimezone(datetime.UTC)


def is_stale(event_time, watermark):
    """True when an event is older than the last applied one.

    Strictly older only: an event with the *same* time as the watermark is
    applied again, because applying an op-status event is idempotent (same
    operstate, same bookkeeping) and two distinct events may share a
    timestamp (spec 03 §6 item 3: with ``<=`` the second one was lost).
    """
    if watermark is None:
        return False
    return event_time < as_utc(watermark)


def moves_watermark(event_time, watermark):
    """Does applying an event at ``event_time`` move ``watermark`` forward?

    Watermarks never go back, and an event at the watermark's own time (a
    duplicate) leaves it as is, so a redelivered message writes nothing.
    """
    return watermark is None or event_time > as_utc(watermark)


def bookkeeping_applies(job_id, current_job_id):
    """Job fields are recorded unless the event belongs to an older job than
    the one recorded (Ganeti job ids only grow within a cluster). The API
    clears ``backendjobid`` when it submits a new action."""
    return current_job_id is None or job_id is None or job_id >= current_job_id


def clears_task(task, task_job_id, job_id, status, opcode=None):
    """Is the pending task ended by this op-status event?

    The task ends when the job it waits for reaches a final status. A BUILD
    task whose job id is not recorded yet (the dispatcher can see the create
    job before the API stores its id) ends with the final status of
    ``OP_INSTANCE_CREATE``.
    """
    if not task or status not in FINAL_JOB_STATUSES:
        return False
    if task_job_id is not None:
        return task_job_id == job_id
    return task == "BUILD" and opcode == "OP_INSTANCE_CREATE"


# --- build progress --------------------------------------------------------

def build_percentage(progress, current=0):
    """New ``buildpercentage`` from an ``image-copy-progress`` value:
    ``min(100, int(progress))``, never going back (duplicates and reordered
    progress messages are harmless). Negative or non-numeric -> InvalidMessage."""
    try:
        if isinstance(progress, bool):
            raise TypeError
        value = int(float(progress))
    except (TypeError, ValueError, OverflowError):
        raise InvalidMessage("invalid progress %r" % (progress,))
    if value < 0:
        raise InvalidMessage("negative progress %r" % (progress,))
    return max(current or 0, min(100, value))


def progress_applies(operstate, deleted):
    """Copy progress only matters while the server is being built."""
    return operstate == "BUILD" and not deleted


DIAGNOSTIC_LEVELS = {"image-info": "DEBUG", "image-warning": "WARNING", "image-error": "ERROR"}
HELPER_LEVELS = {"warning": "WARNING", "error": "ERROR", "info": "INFO"}


def diagnostic_of(message):
    """``(source, level, text, details)`` of an image-* diagnostic message (03 §5.2)."""
    kind = message.get("type")
    messages = message.get("messages") or []
    if isinstance(messages, str):
        messages = [messages]
    text = " ".join(str(m) for m in messages)
    source = kind
    level = DIAGNOSTIC_LEVELS.get(kind, "DEBUG")
    if kind == "image-helper":
        subtype = message.get("subtype")
        level = HELPER_LEVELS.get(subtype, "DEBUG")
        if subtype in ("task-start", "task-end"):
            source = "image-helper-%s" % subtype
            text = str(message.get("task") or "")
    if not text:
        text = source.replace("-", " ").capitalize()
    details = message.get("stderr")
    if isinstance(details, list):
        details = "\n".join(str(d) for d in details)
    return source, level, text[:255], details


# --- API views of the state ------------------------------------------------

API_STATUS = {"BUILD": "BUILD", "ERROR": "ERROR", "STOPPED": "STOPPED", "STARTED": "ACTIVE",
              "DESTROYED": "DELETED"}
REBOOT_JOB_STATUSES = ("queued", "waiting", "running")


def api_status(operstate, deleted=False, backendopcode=None, backendjobstatus=None, task=None):
    """Server ``status`` (01 §2.3): UNKNOWN, DELETED, or the mapped operstate
    with the REBOOT overlay: a reboot job in progress, or a pending REBOOT
    task (from the moment the API accepted it, before any job message)."""
    if operstate not in API_STATUS:
        return "UNKNOWN"
    if deleted:
        return "DELETED"
    status = API_STATUS[operstate]
    if status == "ACTIVE" and (task == "REBOOT" or (
            backendopcode == "OP_INSTANCE_REBOOT" and backendjobstatus in REBOOT_JOB_STATUSES)):
        return "REBOOT"
    return status


def api_progress(status, buildpercentage):
    return 100 if status == "ACTIVE" else (buildpercentage or 0)


def server_status(vm):
    """``(status, progress)`` of a VirtualMachine-like object."""
    status = api_status(vm.operstate, vm.deleted, vm.backendopcode, vm.backendjobstatus, vm.task)
    return status, api_progress(status, vm.buildpercentage)


def network_state(operstates):
    """``Network.state`` from the operstates of its BackendNetworks on
    non-offline backends (01 §3, 08 item 6): none -> PENDING; all equal ->
    that; mixed -> PENDING."""
    states = set(operstates)
    if len(states) == 1:
        return states.pop()
    return "PENDING"


# --- firewall tags ------------------------------------------------------------

def firewall_profiles(settings):
    """Tag value (``protected``...) -> profile (``ENABLED``...)."""
    return {
        settings.GANETI_FIREWALL_ENABLED_TAG.rsplit(":", 1)[-1]: "ENABLED",
        settings.GANETI_FIREWALL_DISABLED_TAG.rsplit(":", 1)[-1]: "DISABLED",
        settings.GANETI_FIREWALL_PROTECTED_TAG.rsplit(":", 1)[-1]: "PROTECTED",
    }
