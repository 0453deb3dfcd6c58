"""The state table (synnefo.logic.state), row by row, as pure functions."""

import datetime
import itertools

import pytest
from synnefo.logic import state
from synnefo.logic.state import Effect, InvalidMessage

UTC = datetime.UTC
VM_OPCODES = ["OP_INSTANCE_CREATE", "OP_INSTANCE_REMOVE", "OP_INSTANCE_STARTUP",
              "OP_INSTANCE_SHUTDOWN", "OP_INSTANCE_REBOOT", "OP_INSTANCE_SET_PARAMS",
              "OP_INSTANCE_MIGRATE", "OP_SOMETHING_NEW"]
VM_STATES = ["BUILD", "ERROR", "STOPPED", "STARTED", "DESTROYED"]
NET_OPCODES = ["OP_NETWORK_ADD", "OP_NETWORK_CONNECT", "OP_NETWORK_DISCONNECT",
               "OP_NETWORK_REMOVE", "OP_NETWORK_SET_PARAMS", "OP_NETWORK_QUERY_DATA"]
NET_STATES = ["PENDING", "ACTIVE", "DELETED", "ERROR"]

DESTROY = Effect("DESTROYED", advance_time=True, destroy=True)
FAILED_CREATE = Effect("ERROR", advance_time=True, keep_error=True, abandon_nics=True)
# a refused NIC add/remove: Ganeti's reason kept, the connect's address given back
FAILED_MODIFY = Effect(None, advance_time=True, keep_error=True, abandon_nics=True)


def expected_vm(opcode, status, current):
    """The spec's table (01 §2.1), written independently of the module."""
    if status == "success":
        return {"OP_INSTANCE_CREATE": Effect("STARTED", True),
                "OP_INSTANCE_STARTUP": Effect("STARTED", True),
                "OP_INSTANCE_SHUTDOWN": Effect("STOPPED", True),
                "OP_INSTANCE_REBOOT": Effect("STARTED", True),
                "OP_INSTANCE_REMOVE": DESTROY}.get(opcode, Effect())
    if opcode == "OP_INSTANCE_CREATE" and status in ("error", "canceled"):
        return FAILED_CREATE
    if opcode == "OP_INSTANCE_SET_PARAMS" and status in ("error", "canceled"):
        return FAILED_MODIFY
    if opcode == "OP_INSTANCE_REMOVE" and status == "error" and current == "ERROR":
        return DESTROY
    if opcode == "OP_INSTANCE_REMOVE" and status in ("error", "canceled"):
        return Effect(None, True, keep_error=True)  # beyond the spec: the reason shown, reconcile retries
    return Effect()


def expected_net(opcode, status, current):
    if status == "success":
        return {"OP_NETWORK_ADD": Effect("PENDING", True),
                "OP_NETWORK_CONNECT": Effect("ACTIVE", True),
                "OP_NETWORK_DISCONNECT": Effect("PENDING", True),
                "OP_NETWORK_REMOVE": Effect("DELETED", True, destroy=True),
                "OP_NETWORK_SET_PARAMS": Effect(None, True)}.get(opcode, Effect())
    if opcode == "OP_NETWORK_ADD" and status in ("error", "canceled"):
        return Effect("ERROR", True, keep_error=True)
    if opcode == "OP_NETWORK_CONNECT" and status in ("error", "canceled") and current == "PENDING":
        return Effect("ERROR", True, keep_error=True)  # never PENDING for good
    if opcode == "OP_NETWORK_REMOVE" and status == "error" and current == "ERROR":
        return Effect("DELETED", True, destroy=True)
    return Effect()


@pytest.mark.parametrize("opcode,status,current",
                         list(itertools.product(VM_OPCODES, state.JOB_STATUSES, VM_STATES)))
def test_vm_table_every_combination(opcode, status, current):
    assert state.vm_effect(opcode, status, current) == expected_vm(opcode, status, current)


@pytest.mark.parametrize("opcode,status,current",
                         list(itertools.product(NET_OPCODES, state.JOB_STATUSES, NET_STATES)))
def test_network_table_every_combination(opcode, status, current):
    assert state.network_effect(opcode, status, current) == expected_net(opcode, status, current)


def test_every_table_row_is_exercised():
    for (opcode, status, current), effect in state.VM_TRANSITIONS.items():
        # an ANY row stands for the states without a row of their own
        cur = current if current != state.ANY else next(
            s for s in VM_STATES if (opcode, status, s) not in state.VM_TRANSITIONS)
        assert expected_vm(opcode, status, cur) == effect
    for (opcode, status, current), effect in state.NETWORK_TRANSITIONS.items():
        cur = "ERROR" if current == state.ANY else current
        assert expected_net(opcode, status, cur) == effect


def test_only_final_statuses_advance_time():
    for (_opcode, status, _), effect in list(state.VM_TRANSITIONS.items()) + list(
            state.NETWORK_TRANSITIONS.items()):
        assert status in state.FINAL_JOB_STATUSES
        assert effect.advance_time


@pytest.mark.parametrize("status", ["", "done", "SUCCESS", None, 3])
def test_invalid_status(status):
    with pytest.raises(InvalidMessage):
        state.vm_effect("OP_INSTANCE_STARTUP", status, "STOPPED")
    with pytest.raises(InvalidMessage):
        state.network_effect("OP_NETWORK_ADD", status, "PENDING")


# --- time -----------------------------------------------------------------

def test_event_time():
    when = state.event_time_to_datetime([1354540934, 123456])
    assert when == datetime.datetime(2012, 12, 3, 13, 22, 14, 123456, tzinfo=UTC)
    assert when.tzinfo is not None


@pytest.mark.parametrize("value", [None, [], [1], [1, 2, 3], ["a", 1], [1, 1000000], [1, -1],
                                   [-5, 0], "12", [True, 0], 7, [1e30, 0]])
def test_event_time_malformed(value):
    with pytest.raises(InvalidMessage):
        state.event_time_to_datetime(value)


def test_is_stale_strictly_older_only():
    t = datetime.datetime(2024, 1, 1, 12, tzinfo=UTC)
    assert state.is_stale(t - datetime.timedelta(microseconds=1), t)
    assert not state.is_stale(t, t)  # same time: applied again (idempotent)
    assert not state.is_stale(t + datetime.timedelta(microseconds=1), t)
    assert not state.is_stale(t, None)
    naive = t.replace(tzinfo=None)
    assert state.is_stale(t - datetime.timedelta(seconds=1), naive)
    other_tz = t.astimezone(datetime.timezone(datetime.timedelta(hours=2)))
    assert not state.is_stale(t, other_tz)


def test_moves_watermark_forward_only():
    t = datetime.datetime(2024, 1, 1, 12, tzinfo=UTC)
    assert state.moves_watermark(t, None)
    assert state.moves_watermark(t + datetime.timedelta(microseconds=1), t)
    assert not state.moves_watermark(t, t)  # a duplicate writes nothing
    assert not state.moves_watermark(t - datetime.timedelta(seconds=1), t.replace(tzinfo=None))


@pytest.mark.parametrize("job,current,expected", [(5, None, True), (5, 5, True), (6, 5, True),
                                                  (4, 5, False), (None, 5, True)])
def test_bookkeeping_applies(job, current, expected):
    assert state.bookkeeping_applies(job, current) is expected


@pytest.mark.parametrize("task,task_job,job,status,opcode,expected", [
    ("STOP", 10, 10, "success", "OP_INSTANCE_SHUTDOWN", True),
    ("STOP", 10, 10, "error", "OP_INSTANCE_SHUTDOWN", True),
    ("STOP", 10, 10, "canceled", "OP_INSTANCE_SHUTDOWN", True),
    ("STOP", 10, 10, "running", "OP_INSTANCE_SHUTDOWN", False),
    ("STOP", 10, 10, "queued", "OP_INSTANCE_SHUTDOWN", False),
    ("STOP", 10, 9, "success", "OP_INSTANCE_STARTUP", False),
    ("BUILD", None, 3, "success", "OP_INSTANCE_CREATE", True),
    ("BUILD", None, 3, "error", "OP_INSTANCE_CREATE", True),
    ("BUILD", None, 3, "running", "OP_INSTANCE_CREATE", False),
    ("BUILD", None, 3, "success", "OP_INSTANCE_STARTUP", False),
    ("START", None, 3, "success", "OP_INSTANCE_STARTUP", False),
    (None, None, 3, "success", "OP_INSTANCE_STARTUP", False),
])
def test_clears_task(task, task_job, job, status, opcode, expected):
    assert state.clears_task(task, task_job, job, status, opcode) is expected


# --- progress and diagnostics ------------------------------------------------

@pytest.mark.parametrize("progress,current,expected", [
    (0, 0, 0), (12.7, 0, 12), ("33.3", 0, 33), (150, 0, 100), (100.0, 0, 100),
    (10, 40, 40), (40, 40, 40)])
def test_build_percentage(progress, current, expected):
    assert state.build_percentage(progress, current) == expected


@pytest.mark.parametrize("progress", [-1, "-0.5x", None, "abc", True, [3]])
def test_build_percentage_invalid(progress):
    with pytest.raises(InvalidMessage):
        state.build_percentage(progress)


def test_progress_applies_only_while_building():
    assert state.progress_applies("BUILD", False)
    for other in ("ERROR", "STARTED", "STOPPED", "DESTROYED"):
        assert not state.progress_applies(other, False)
    assert not state.progress_applies("BUILD", True)


@pytest.mark.parametrize("message,expected", [
    ({"type": "image-info", "messages": ["a", "b"]}, ("image-info", "DEBUG", "a b", None)),
    ({"type": "image-warning", "messages": ["w"]}, ("image-warning", "WARNING", "w", None)),
    ({"type": "image-error", "stderr": "boom"}, ("image-error", "ERROR", "Image error", "boom")),
    ({"type": "image-helper", "subtype": "task-start", "task": "FixPartitions"},
     ("image-helper-task-start", "DEBUG", "FixPartitions", None)),
    ({"type": "image-helper", "subtype": "task-end", "task": "X", "messages": ["ignored"]},
     ("image-helper-task-end", "DEBUG", "X", None)),
    ({"type": "image-helper", "subtype": "warning", "messages": ["careful"]},
     ("image-helper", "WARNING", "careful", None)),
    ({"type": "image-helper", "subtype": "error", "stderr": ["l1", "l2"]},
     ("image-helper", "ERROR", "Image helper", "l1\nl2")),
    ({"type": "image-helper", "subtype": "info", "messages": ["i"]},
     ("image-helper", "INFO", "i", None)),
])
def test_diagnostic_of(message, expected):
    assert state.diagnostic_of(message) == expected


def test_diagnostic_message_truncated():
    assert len(state.diagnostic_of({"type": "image-info", "messages": ["x" * 400]})[2]) == 255


# --- API views -------------------------------------------------------------------

@pytest.mark.parametrize("operstate,deleted,opcode,jobstatus,expected", [
    ("BUILD", False, None, None, "BUILD"),
    ("ERROR", False, None, None, "ERROR"),
    ("STOPPED", False, None, None, "STOPPED"),
    ("STARTED", False, None, None, "ACTIVE"),
    ("DESTROYED", False, None, None, "DELETED"),
    ("DESTROYED", True, None, None, "DELETED"),
    ("STARTED", True, None, None, "DELETED"),
    ("WEIRD", True, None, None, "UNKNOWN"),
    ("WEIRD", False, None, None, "UNKNOWN"),
    ("STARTED", False, "OP_INSTANCE_REBOOT", "queued", "REBOOT"),
    ("STARTED", False, "OP_INSTANCE_REBOOT", "waiting", "REBOOT"),
    ("STARTED", False, "OP_INSTANCE_REBOOT", "running", "REBOOT"),
    ("STARTED", False, "OP_INSTANCE_REBOOT", "success", "ACTIVE"),
    ("STARTED", False, "OP_INSTANCE_REBOOT", "error", "ACTIVE"),
    ("STARTED", False, "OP_INSTANCE_SHUTDOWN", "running", "ACTIVE"),
    ("STOPPED", False, "OP_INSTANCE_REBOOT", "running", "STOPPED"),
])
def test_api_status(operstate, deleted, opcode, jobstatus, expected):
    assert state.api_status(operstate, deleted, opcode, jobstatus) == expected


def test_api_progress_and_server_status():
    assert state.api_progress("ACTIVE", 30) == 100
    assert state.api_progress("BUILD", 30) == 30
    assert state.api_progress("ERROR", None) == 0

    class VM:
        operstate, deleted, backendopcode, backendjobstatus, buildpercentage, task = (
            "BUILD", False, None, None, 42, None)
    assert state.server_status(VM) == ("BUILD", 42)


@pytest.mark.parametrize("operstate,task,expected", [
    ("STARTED", "REBOOT", "REBOOT"),  # accepted, no job message yet
    ("STARTED", "FIREWALL", "ACTIVE"),
    ("STARTED", "STOP", "ACTIVE"),  # the task shows in SNF:task_state
    ("STOPPED", "REBOOT", "STOPPED"),
    ("STARTED", None, "ACTIVE"),
])
def test_api_status_pending_reboot_task(operstate, task, expected):
    assert state.api_status(operstate, False, None, None, task) == expected


@pytest.mark.parametrize("operstates,expected", [
    ([], "PENDING"), (["ACTIVE"], "ACTIVE"), (["ACTIVE", "ACTIVE"], "ACTIVE"),
    (["ACTIVE", "PENDING"], "PENDING"), (["DELETED", "DELETED"], "DELETED"),
    (["ERROR"], "ERROR"), (["DELETED", "ACTIVE"], "PENDING")])
def test_network_state(operstates, expected):
    assert state.network_state(operstates) == expected


def test_firewall_profiles():
    class S:
        GANETI_FIREWALL_ENABLED_TAG = "synnefo:network:0:protected"
        GANETI_FIREWALL_DISABLED_TAG = "synnefo:network:0:unprotected"
        GANETI_FIREWALL_PROTECTED_TAG = "synnefo:network:0:limited"
    assert state.firewall_profiles(S) == {"protected": "ENABLED", "unprotected": "DISABLED",
                                          "limited": "PROTECTED"}


# --- pending NICs ------------------------------------------------------------

def _pending(kind="CONNECT", job_id=None, network_id=1, ipv4=None):
    from types import SimpleNamespace
    return SimpleNamespace(kind=kind, job_id=job_id, network_id=network_id, ipv4=ipv4)


def test_abandoned_pending_nics_by_job():
    create, create_unknown = _pending("CREATE", 7), _pending("CREATE", None)
    connect, other, unknown = _pending("CONNECT", 9), _pending("CONNECT", 10), _pending("CONNECT", None)
    pending = [create, create_unknown, connect, other, unknown]
    assert state.abandoned_pending_nics(pending, "OP_INSTANCE_CREATE", 7) == [create, create_unknown]
    assert state.abandoned_pending_nics(pending, "OP_INSTANCE_SET_PARAMS", 9) == [connect]
    # a connect whose job is unknown is reconciliation's, never guessed
    assert state.abandoned_pending_nics([unknown], "OP_INSTANCE_SET_PARAMS", 11) == []
    assert state.abandoned_pending_nics(pending, "OP_INSTANCE_STARTUP", 9) == []


def test_reported_pending_nics_match_address_or_new_mac():
    with_ip = _pending(network_id=1, ipv4="10.0.0.2")
    no_ip = _pending(network_id=2)
    elsewhere = _pending(network_id=3, ipv4="10.0.3.2")
    reported = [(1, "10.0.0.2", "aa:00:00:00:00:01"), (2, None, "aa:00:00:00:00:02"),
                (3, "10.0.3.9", "aa:00:00:00:00:03")]
    done = state.reported_pending_nics([with_ip, no_ip, elsewhere], reported, set())
    assert done == [with_ip, no_ip]
    # a NIC the DB already knew does not end a pending NIC without address
    assert state.reported_pending_nics([no_ip], reported, {"aa:00:00:00:00:02"}) == []
    # one reported NIC ends one pending NIC
    assert state.reported_pending_nics([_pending(network_id=2), _pending(network_id=2)],
                                       reported, set()) == [no_ip]
