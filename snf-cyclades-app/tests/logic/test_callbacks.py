"""synnefo.logic.callbacks on the database: one message, one transaction."""

import datetime
import random

import pytest
from dispatcher_helpers import T0, et, make_vm, make_world, net, network_msg, op, progress
from synnefo.db.models import (
    BackendNetwork,
    Network,
    NetworkInterface,
    VirtualMachine,
    VirtualMachineDiagnostic,
)
from synnefo.logic import callbacks, state
from synnefo.logic.pools import IPPool
from synnefo.logic.state import InvalidMessage

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture
def world(db):
    return make_world()


def reload(obj):
    return type(obj).objects.get(pk=obj.pk)


def ip_available(network, ip):
    return IPPool.for_network(network).is_available(ip)


# --- op status -----------------------------------------------------------------

def test_create_success(world):
    vm = make_vm(world, task_job_id=7)
    assert callbacks.handle(op(vm.pk, "OP_INSTANCE_CREATE", "running", 7, 1)) == "applied"
    vm = reload(vm)
    assert (vm.operstate, vm.backendjobstatus, vm.task) == ("BUILD", "running", "BUILD")
    callbacks.handle(op(vm.pk, "OP_INSTANCE_CREATE", "success", 7, 2, logmsg="done"))
    vm = reload(vm)
    assert vm.operstate == "STARTED"
    assert (vm.backendjobid, vm.backendopcode, vm.backendjobstatus, vm.backendlogmsg) == (
        7, "OP_INSTANCE_CREATE", "success", "done")
    assert vm.task is None and vm.task_job_id is None
    assert vm.backendtime == datetime.datetime.fromtimestamp(T0 + 2, datetime.UTC)


@pytest.mark.parametrize("status", ["error", "canceled"])
def test_create_failure_keeps_ganeti_error(world, status):
    vm = make_vm(world, task_job_id=7)
    callbacks.handle(op(vm.pk, "OP_INSTANCE_CREATE", status, 7, 2, logmsg="disk full on node1"))
    vm = reload(vm)
    assert vm.operstate == "ERROR" and vm.task is None
    assert vm.backendlogmsg == "disk full on node1"
    diag = vm.diagnostics.get()
    assert (diag.level, diag.message) == ("ERROR", "disk full on node1")
    # the same message again: no second diagnostic
    callbacks.handle(op(vm.pk, "OP_INSTANCE_CREATE", status, 7, 2, logmsg="disk full on node1"))
    assert vm.diagnostics.count() == 1


def test_remove_success_releases_nics(world):
    public = world["public"]
    vm = make_vm(world, operstate="STARTED", task="DESTROY", task_job_id=9)
    callbacks.handle(net(vm.pk, [{"mac": "aa:00:00:00:00:01", "ip": "192.0.2.3",
                                  "network": "snf-net-%d" % public.pk}], 1))
    assert not ip_available(public, "192.0.2.3")
    assert callbacks.handle(op(vm.pk, "OP_INSTANCE_REMOVE", "success", 9, 5)) == "applied"
    vm = reload(vm)
    assert vm.deleted and vm.operstate == "DESTROYED" and vm.task is None
    assert not NetworkInterface.objects.filter(machine=vm).exists()
    assert ip_available(public, "192.0.2.3")
    # nothing brings it back: a later start success or net-status is ignored
    callbacks.handle(op(vm.pk, "OP_INSTANCE_STARTUP", "success", 10, 6))
    assert callbacks.handle(net(vm.pk, [{"mac": "aa:00:00:00:00:01", "ip": "192.0.2.3",
                                         "network": "snf-net-%d" % public.pk}], 7)) == "ignored"
    vm = reload(vm)
    assert vm.deleted and vm.operstate == "DESTROYED" and not vm.nics.exists()


def test_remove_error_while_error_is_removal(world):
    vm = make_vm(world, operstate="ERROR", task="DESTROY", task_job_id=9)
    callbacks.handle(op(vm.pk, "OP_INSTANCE_REMOVE", "error", 9, 5))
    vm = reload(vm)
    assert vm.deleted and vm.operstate == "DESTROYED"


def test_remove_error_while_started_is_not(world):
    vm = make_vm(world, operstate="STARTED", task="DESTROY", task_job_id=9)
    callbacks.handle(op(vm.pk, "OP_INSTANCE_REMOVE", "error", 9, 5, logmsg="locked"))
    vm = reload(vm)
    assert not vm.deleted and vm.operstate == "STARTED" and vm.task is None
    assert vm.backendjobstatus == "error"


def test_stale_running_after_success_is_ignored(world):
    vm = make_vm(world, operstate="STOPPED", task="START", task_job_id=11)
    callbacks.handle(op(vm.pk, "OP_INSTANCE_STARTUP", "success", 11, 10))
    assert callbacks.handle(op(vm.pk, "OP_INSTANCE_STARTUP", "running", 11, 8)) == "stale"
    vm = reload(vm)
    assert vm.backendjobstatus == "success" and vm.operstate == "STARTED"


def test_same_timestamp_is_applied(world):
    vm = make_vm(world, operstate="STARTED", task=None)
    callbacks.handle(op(vm.pk, "OP_INSTANCE_SHUTDOWN", "success", 11, 10))
    # a distinct event with the very same timestamp is not lost
    assert callbacks.handle(op(vm.pk, "OP_INSTANCE_STARTUP", "success", 12, 10)) == "applied"
    assert reload(vm).operstate == "STARTED"


def test_older_job_does_not_overwrite_bookkeeping(world):
    vm = make_vm(world, operstate="STARTED", task=None)
    callbacks.handle(op(vm.pk, "OP_INSTANCE_REBOOT", "running", 21, 10))
    callbacks.handle(op(vm.pk, "OP_INSTANCE_SET_PARAMS", "running", 20, 11))
    vm = reload(vm)
    assert (vm.backendjobid, vm.backendopcode) == (21, "OP_INSTANCE_REBOOT")


def test_task_of_another_job_is_kept(world):
    vm = make_vm(world, operstate="STARTED", task="STOP", task_job_id=30)
    callbacks.handle(op(vm.pk, "OP_INSTANCE_SET_PARAMS", "success", 29, 10))
    assert reload(vm).task == "STOP"


def test_unknown_and_foreign_instances(world, caplog):
    assert callbacks.handle(op(999, "OP_INSTANCE_STARTUP", "success", 1, 1)) == "unknown"
    assert callbacks.handle(op(5, "OP_INSTANCE_STARTUP", "success", 1, 1, prefix="other-")) == "unknown"
    assert "not in the DB" in caplog.text


@pytest.mark.parametrize("mutate", [
    lambda m: m.update(status="finished"),
    lambda m: m.pop("jobId"),
    lambda m: m.update(jobId="7"),
    lambda m: m.update(event_time="yesterday"),
    lambda m: m.pop("event_time"),
    lambda m: m.update(instance=42),
    lambda m: m.update(type="ganeti-nonsense"),
])
def test_invalid_op_messages(world, mutate):
    vm = make_vm(world)
    msg = op(vm.pk, "OP_INSTANCE_CREATE", "success", 7, 2)
    mutate(msg)
    with pytest.raises(InvalidMessage):
        callbacks.handle(msg)
    assert reload(vm).operstate == "BUILD"


# --- net status -------------------------------------------------------------------

def nic(network, mac, ip=None, **extra):
    value = {"mac": mac, "ip": ip, "network": "snf-net-%d" % network.pk, "link": "br0"}
    value.update(extra)
    return value


def test_net_status_builds_nics_and_reserves_ips(world):
    public, private = world["public"], world["private"]
    vm = make_vm(world)
    before = reload(public).updated
    msg = net(vm.pk, [nic(public, "AA:00:00:00:00:01", "192.0.2.3", firewall="protected"),
                      nic(private, "aa:00:10:00:00:02", "10.0.0.2", ipv6="2001:db8::1"),
                      nic(public, "aa:00:00:00:00:03", "", firewall="bogus")], 5)
    assert callbacks.handle(msg) == "applied"
    nics = list(vm.nics.order_by("index"))
    assert [(n.index, n.network_id, n.mac, n.ipv4, n.ipv6, n.firewall_profile) for n in nics] == [
        (0, public.pk, "aa:00:00:00:00:01", "192.0.2.3", None, "ENABLED"),
        (1, private.pk, "aa:00:10:00:00:02", "10.0.0.2", "2001:db8::1", None),
        (2, public.pk, "aa:00:00:00:00:03", None, None, "DISABLED"),
    ]
    assert not ip_available(public, "192.0.2.3") and not ip_available(private, "10.0.0.2")
    assert reload(public).updated > before
    # the same NIC set again: nothing rewritten
    ids = sorted(n.pk for n in nics)
    assert callbacks.handle(msg) == "unchanged"
    assert sorted(vm.nics.values_list("pk", flat=True)) == ids
    # firewall change + IP change
    msg2 = net(vm.pk, [nic(public, "aa:00:00:00:00:01", "192.0.2.4", firewall="limited")], 6)
    assert callbacks.handle(msg2) == "applied"
    assert list(vm.nics.values_list("ipv4", "firewall_profile")) == [("192.0.2.4", "PROTECTED")]
    assert ip_available(public, "192.0.2.3") and not ip_available(public, "192.0.2.4")
    assert ip_available(private, "10.0.0.2")


def test_net_status_skips_unknown_networks(world, caplog):
    public = world["public"]
    vm = make_vm(world)
    msg = net(vm.pk, [{"mac": "aa:00:00:00:00:09", "ip": "1.2.3.4", "network": ""},
                      {"mac": "aa:00:00:00:00:08", "ip": None, "network": "snf-net-99999"},
                      nic(public, "aa:00:00:00:00:01", "192.0.2.5")], 5)
    assert callbacks.handle(msg) == "applied"
    assert list(vm.nics.values_list("index", "mac")) == [(2, "aa:00:00:00:00:01")]
    assert "unknown network" in caplog.text


def test_net_status_does_not_adopt_a_nic_on_a_network_being_deleted(world, caplog):
    """A network marked DESTROY had no NIC when its delete was accepted: a NIC
    on it is a failed connect's, left to reconcile-networks to remove."""
    public, private = world["public"], world["private"]
    Network.objects.filter(pk=private.pk).update(action="DESTROY")
    vm = make_vm(world)
    msg = net(vm.pk, [nic(public, "aa:00:00:00:00:01", "192.0.2.6"),
                      nic(private, "aa:00:10:00:00:02", "10.0.0.3")], 5)
    assert callbacks.handle(msg) == "applied"
    assert list(vm.nics.values_list("index", "network_id")) == [(0, public.pk)]
    assert ip_available(private, "10.0.0.3")
    assert "being deleted" in caplog.text


def test_net_status_clears_dirty(world):
    public = world["public"]
    vm = make_vm(world)
    msg = net(vm.pk, [nic(public, "aa:00:00:00:00:01", "192.0.2.3")], 5)
    callbacks.handle(msg)
    NetworkInterface.objects.filter(machine=vm).update(dirty=True)
    assert callbacks.handle(msg) == "applied"
    assert not NetworkInterface.objects.filter(machine=vm, dirty=True).exists()


def test_net_status_invalid(world):
    vm = make_vm(world)
    with pytest.raises(InvalidMessage):
        callbacks.handle(net(vm.pk, "notalist", 5))
    with pytest.raises(InvalidMessage):
        callbacks.handle(net(vm.pk, [{"network": "snf-net-%d" % world["public"].pk}], 5))


def at(offset):
    return datetime.datetime.fromtimestamp(T0 + offset, datetime.UTC)


def test_net_status_older_set_after_newer_is_ignored(world, caplog):
    """Two dispatchers: the NIC set of t=6 is handled before the one of t=5."""
    public = world["public"]
    vm = make_vm(world, operstate="STARTED", task=None)
    newer = net(vm.pk, [nic(public, "aa:00:00:00:00:01", "192.0.2.4")], 6)
    older = net(vm.pk, [nic(public, "aa:00:00:00:00:01", "192.0.2.3")], 5)
    assert callbacks.handle(newer) == "applied"
    with caplog.at_level("INFO", logger="synnefo.logic.callbacks"):
        assert callbacks.handle(older) == "stale"
    assert "stale NICs" in caplog.text
    assert list(vm.nics.values_list("ipv4", flat=True)) == ["192.0.2.4"]
    assert not ip_available(public, "192.0.2.4") and ip_available(public, "192.0.2.3")
    assert reload(vm).nics_backendtime == at(6)


def test_net_status_duplicate_is_a_no_op(world):
    public = world["public"]
    vm = make_vm(world, operstate="STARTED", task=None)
    msg = net(vm.pk, [nic(public, "aa:00:00:00:00:01", "192.0.2.3")], 5)
    assert callbacks.handle(msg) == "applied"
    before = reload(vm)
    ids = list(vm.nics.values_list("pk", flat=True))
    assert callbacks.handle(msg) == "unchanged"
    after = reload(vm)
    assert (after.updated, after.nics_backendtime) == (before.updated, at(5))
    assert list(vm.nics.values_list("pk", flat=True)) == ids
    # a *different* set with the same time is not lost (as for op-status)
    same_time = net(vm.pk, [nic(public, "aa:00:00:00:00:01", "192.0.2.4")], 5)
    assert callbacks.handle(same_time) == "applied"


def test_net_status_unchanged_set_still_moves_the_watermark(world):
    """A at t1, A at t3, then B at t2: A (the newest) stays."""
    public = world["public"]
    vm = make_vm(world, operstate="STARTED", task=None)
    set_a = [nic(public, "aa:00:00:00:00:01", "192.0.2.3")]
    assert callbacks.handle(net(vm.pk, set_a, 1)) == "applied"
    assert callbacks.handle(net(vm.pk, set_a, 3)) == "unchanged"
    assert reload(vm).nics_backendtime == at(3)
    set_b = [nic(public, "aa:00:00:00:00:01", "192.0.2.4")]
    assert callbacks.handle(net(vm.pk, set_b, 2)) == "stale"
    assert list(vm.nics.values_list("ipv4", flat=True)) == ["192.0.2.3"]


def test_net_status_and_op_status_have_separate_watermarks(world):
    public = world["public"]
    vm = make_vm(world, task_job_id=7)
    callbacks.handle(op(vm.pk, "OP_INSTANCE_CREATE", "success", 7, 10))
    # the hook's wall clock is earlier than the create's end time: still applied
    assert callbacks.handle(net(vm.pk, [nic(public, "aa:00:00:00:00:01", "192.0.2.3")], 4)) == "applied"
    # newer than the last op-status: applied
    assert callbacks.handle(net(vm.pk, [nic(public, "aa:00:00:00:00:01", "192.0.2.4")], 11)) == "applied"
    vm = reload(vm)
    assert list(vm.nics.values_list("ipv4", flat=True)) == ["192.0.2.4"]
    assert (vm.backendtime, vm.nics_backendtime) == (at(10), at(11))
    # and the net-status did not push the op watermark: a shutdown at t=10.5 applies
    assert callbacks.handle(op(vm.pk, "OP_INSTANCE_SHUTDOWN", "success", 8, (10, 500000))) == "applied"
    assert reload(vm).operstate == "STOPPED"


# --- network status ---------------------------------------------------------------

def test_network_lifecycle(world):
    private = world["private"]
    bnet = BackendNetwork.objects.get(network=private)
    callbacks.handle(network_msg(private.pk, "OP_NETWORK_ADD", "success", 1, 1))
    assert reload(bnet).operstate == "PENDING"
    callbacks.handle(network_msg(private.pk, "OP_NETWORK_CONNECT", "success", 2, 2))
    assert reload(bnet).operstate == "ACTIVE" and reload(private).state == "ACTIVE"
    assert callbacks.handle(network_msg(private.pk, "OP_NETWORK_CONNECT", "running", 2, 1)) == "stale"
    callbacks.handle(network_msg(private.pk, "OP_NETWORK_DISCONNECT", "success", 3, 3))
    assert reload(private).state == "PENDING"
    callbacks.handle(network_msg(private.pk, "OP_NETWORK_REMOVE", "success", 4, 4))
    bnet, private = reload(bnet), reload(private)
    assert bnet.operstate == "DELETED" and bnet.deleted
    assert private.state == "DELETED" and private.deleted
    assert (bnet.backendjobid, bnet.backendopcode) == (4, "OP_NETWORK_REMOVE")


def test_network_add_error_then_remove_error(world):
    private = world["private"]
    callbacks.handle(network_msg(private.pk, "OP_NETWORK_ADD", "error", 1, 1))
    assert reload(private).state == "ERROR"
    callbacks.handle(network_msg(private.pk, "OP_NETWORK_REMOVE", "error", 2, 2))
    assert reload(private).deleted


def test_network_set_params_reservations(world):
    public = world["public"]
    msg = network_msg(public.pk, "OP_NETWORK_SET_PARAMS", "running", 5, 1,
                      add_reserved_ips=["192.0.2.5"], remove_reserved_ips=None)
    callbacks.handle(msg)
    assert ip_available(public, "192.0.2.5")  # only success counts
    msg.update(status="success", event_time=et(2))
    callbacks.handle(msg)
    pool = IPPool.for_network(public)
    assert pool.is_reserved("192.0.2.5")
    callbacks.handle(network_msg(public.pk, "OP_NETWORK_SET_PARAMS", "success", 6, 3,
                                 remove_reserved_ips=["192.0.2.5"]))
    assert not IPPool.for_network(public).is_reserved("192.0.2.5")
    assert BackendNetwork.objects.get(network=public).backendopcode == "OP_NETWORK_SET_PARAMS"


def test_network_unknown_objects(world):
    assert callbacks.handle(network_msg(424242, "OP_NETWORK_ADD", "success", 1, 1)) == "unknown"
    assert callbacks.handle(network_msg(world["public"].pk, "OP_NETWORK_ADD", "success", 1, 1,
                                        cluster="nowhere")) == "unknown"
    msg = network_msg(1, "OP_NETWORK_ADD", "success", 1, 1)
    msg["network"] = "foreign-net-1"
    assert callbacks.handle(msg) == "unknown"


# --- progress ---------------------------------------------------------------------

def test_copy_progress(world):
    vm = make_vm(world)
    assert callbacks.handle(progress(vm.pk, 1, type="image-copy-progress", progress=42.9,
                                     position=1, total=2)) == "applied"
    assert reload(vm).buildpercentage == 42
    assert callbacks.handle(progress(vm.pk, 0, type="image-copy-progress", progress=10)) == "unchanged"
    callbacks.handle(progress(vm.pk, 2, type="image-copy-progress", progress=250))
    assert reload(vm).buildpercentage == 100
    with pytest.raises(InvalidMessage):
        callbacks.handle(progress(vm.pk, 3, type="image-copy-progress", progress=-3))
    VirtualMachine.objects.filter(pk=vm.pk).update(operstate="STARTED", buildpercentage=0)
    assert callbacks.handle(progress(vm.pk, 4, type="image-copy-progress", progress=50)) == "ignored"
    assert reload(vm).buildpercentage == 0


def test_diagnostics(world):
    vm = make_vm(world)
    before = reload(vm).updated
    msg = progress(vm.pk, 1, type="image-helper", subtype="task-start", task="FixPartitions")
    assert callbacks.handle(msg) == "applied"
    assert callbacks.handle(msg) == "duplicate"
    callbacks.handle(progress(vm.pk, 2, type="image-error", stderr="boom"))
    diags = list(VirtualMachineDiagnostic.objects.filter(machine=vm).order_by("source_date"))
    assert [(d.source, d.level, d.message, d.details) for d in diags] == [
        ("image-helper-task-start", "DEBUG", "FixPartitions", None),
        ("image-error", "ERROR", "Image error", "boom")]
    assert diags[0].source_date == datetime.datetime.fromtimestamp(T0 + 1, datetime.UTC)
    assert reload(vm).updated > before


# --- ordering property: shuffled and duplicated deliveries -------------------------

def lifecycle(vm_id, public):
    """The messages of create -> stop -> start -> reboot -> destroy, in order."""
    pub = "snf-net-%d" % public.pk
    msgs = []
    t = 0
    for job, opcode in enumerate(["OP_INSTANCE_CREATE", "OP_INSTANCE_SHUTDOWN", "OP_INSTANCE_STARTUP",
                                  "OP_INSTANCE_REBOOT"], start=1):
        for status in ("queued", "waiting", "running", "success"):
            t += 1
            msgs.append(op(vm_id, opcode, status, job, t))
            if job == 1 and status == "running":
                msgs.append(progress(vm_id, t, type="image-copy-progress", progress=60))
                msgs.append(progress(vm_id, t, type="image-info", messages=["copied"]))
                msgs.append(net(vm_id, [{"mac": "aa:00:00:00:00:01", "ip": "192.0.2.3",
                                         "network": pub}], t))
    return msgs


def snapshot(vm):
    vm = reload(vm)
    return (vm.operstate, vm.deleted, vm.task, vm.backendjobid, vm.backendjobstatus,
            vm.backendopcode, state.server_status(vm),
            tuple(vm.nics.values_list("mac", "ipv4")), vm.diagnostics.count())


@pytest.mark.parametrize("seed", range(12))
def test_shuffled_duplicated_messages_reach_the_in_order_state(world, seed):
    rng = random.Random(seed)
    vm_a = make_vm(world, task_job_id=1)
    for m in lifecycle(vm_a.pk, world["public"]):
        callbacks.handle(m)
    expected = snapshot(vm_a)
    assert expected[:2] == ("STARTED", False) and expected[4] == "success"
    VirtualMachine.objects.filter(pk=vm_a.pk).delete()

    vm_b = make_vm(world, task_job_id=1)
    msgs = lifecycle(vm_b.pk, world["public"])
    # every message at least once, some several times, in a random order
    deliveries = msgs + [rng.choice(msgs) for _ in range(len(msgs))]
    rng.shuffle(deliveries)
    for m in deliveries:
        callbacks.handle(m)
    assert snapshot(vm_b) == expected


def test_duplicates_in_order_are_harmless(world):
    vm_a = make_vm(world, task_job_id=1)
    for m in lifecycle(vm_a.pk, world["public"]):
        callbacks.handle(m)
        callbacks.handle(m)
    state_a = snapshot(vm_a)
    VirtualMachine.objects.filter(pk=vm_a.pk).delete()
    vm_b = make_vm(world, task_job_id=1)
    for m in lifecycle(vm_b.pk, world["public"]):
        callbacks.handle(m)
    assert snapshot(vm_b) == state_a


def test_destroy_is_final_under_any_order(world):
    rng = random.Random(7)
    for _ in range(5):
        vm = make_vm(world, task_job_id=1)
        msgs = lifecycle(vm.pk, world["public"]) + [op(vm.pk, "OP_INSTANCE_REMOVE", "success", 9, 100)]
        rng.shuffle(msgs)
        for m in msgs + msgs[:5]:
            callbacks.handle(m)
        vm = reload(vm)
        assert vm.deleted and vm.operstate == "DESTROYED" and not vm.nics.exists()
        assert IPPool.for_network(world["public"]).is_available("192.0.2.3")
        Network.objects.filter(pk=world["public"].pk).exists()
