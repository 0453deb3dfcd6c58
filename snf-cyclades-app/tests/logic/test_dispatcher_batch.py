"""Several messages in one transaction (DISPATCHER_BATCH_SIZE): the same rows as one by one,
an ack after the commit, a bad message dead-lettered alone while the others apply."""

import logging

import pytest
from dispatcher_helpers import FakeDelivery, make_vm, make_world, op, progress
from synnefo.db.models import VirtualMachine, VirtualMachineDiagnostic
from synnefo.logic import callbacks
from synnefo.logic.dispatcher import Dispatcher

COMPARED = ["operstate", "task", "task_job_id", "backendjobid", "backendopcode",
            "backendjobstatus", "backendlogmsg", "buildpercentage", "backendtime", "deleted"]


@pytest.fixture
def world(db):
    return make_world()


def lifecycle(vm_id):
    return [op(vm_id, "OP_INSTANCE_CREATE", "running", 3, 1),
            progress(vm_id, 2, type="image-copy-progress", progress=40),
            progress(vm_id, 3, type="image-info", messages=["copying"]),
            op(vm_id, "OP_INSTANCE_CREATE", "success", 3, 4, logmsg="done"),
            op(vm_id, "OP_INSTANCE_SHUTDOWN", "success", 4, 5),
            op(vm_id, "OP_INSTANCE_SHUTDOWN", "success", 4, 5),  # a duplicate
            op(vm_id, "OP_INSTANCE_STARTUP", "success", 5, 2),   # stale
            op(vm_id, "OP_INSTANCE_STARTUP", "success", 6, 7)]


def row(vm):
    return {name: getattr(VirtualMachine.objects.get(pk=vm.pk), name) for name in COMPARED}


def test_batch_writes_the_rows_one_by_one_writes(world):
    alone = [make_vm(world, task_job_id=3) for _ in range(2)]
    batched = [make_vm(world, task_job_id=3) for _ in range(2)]
    one_by_one = Dispatcher(None, "snf-")
    for step in zip(*(lifecycle(vm.pk) for vm in alone), strict=True):
        for message in step:
            assert one_by_one.handle_delivery(FakeDelivery(message)) == "ack"
    together = Dispatcher(None, "snf-", batch_size=10)
    deliveries = [FakeDelivery(m) for step in zip(*(lifecycle(vm.pk) for vm in batched),
                                                  strict=True) for m in step]
    assert together.handle_deliveries(deliveries) == ["ack"] * len(deliveries)
    for a, b in zip(alone, batched, strict=True):
        assert row(a) == row(b)
        assert row(b)["operstate"] == "STARTED" and row(b)["task"] is None
        assert VirtualMachineDiagnostic.objects.filter(machine=b).count() == 1
    assert together.counts == {"acked": len(deliveries), "dead": 0, "left": 0}


def test_a_bad_message_in_a_batch_is_dead_lettered_alone(world, caplog):
    caplog.set_level(logging.INFO)
    vm = make_vm(world, task_job_id=3)
    good_before = FakeDelivery(op(vm.pk, "OP_INSTANCE_CREATE", "success", 3, 1))
    # decodes, but cannot be applied: the batch rolls back, it alone is dead-lettered
    bad = FakeDelivery(progress(vm.pk, 2, type="image-copy-progress", progress=-5))
    malformed = FakeDelivery(b"not json")
    good_after = FakeDelivery(op(vm.pk, "OP_INSTANCE_SHUTDOWN", "success", 5, 3))
    d = Dispatcher(None, "snf-", batch_size=10)
    outcomes = d.handle_deliveries([good_before, bad, malformed, good_after])
    assert outcomes == ["ack", "dead", "dead", "ack"]
    assert bad.reason and malformed.reason
    assert "A batch of 2 messages failed" in caplog.text
    assert row(vm)["operstate"] == "STOPPED" and row(vm)["backendjobid"] == 5


def test_only_messages_that_lock_their_server_alone_are_batched():
    assert callbacks.batchable(op(1, "OP_INSTANCE_STARTUP", "success", 1, 1))
    assert callbacks.batchable(progress(1, 1, type="image-copy-progress", progress=3))
    assert not callbacks.batchable(op(1, "OP_INSTANCE_REMOVE", "success", 1, 1))
    assert not callbacks.batchable(op(1, "OP_INSTANCE_REMOVE", "error", 1, 1))
    assert not callbacks.batchable(op(1, "OP_INSTANCE_CREATE", "error", 1, 1))
    assert not callbacks.batchable({"type": "ganeti-net-status", "instance": "snf-1"})
    assert not callbacks.batchable({"type": "ganeti-network-status", "network": "snf-net-1"})
