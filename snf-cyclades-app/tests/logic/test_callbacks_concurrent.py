"""Several appliers at once (as several dispatchers would): row locks + the
time guard give the in-order final state (row locks: PostgreSQL, MySQL/MariaDB)."""

import random
import threading

import pytest
from dispatcher_helpers import make_vm, make_world
from django.db import connection, connections, transaction
from synnefo.db.models import VirtualMachine
from synnefo.logic import callbacks
from synnefo.logic.pools import IPPool
from test_callbacks import lifecycle, op, snapshot

pytestmark = [
    pytest.mark.rowlocks,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not connection.features.has_select_for_update,
                       reason="SQLite serialises writers; run with "
                              "SYNNEFO_SETTINGS_DIR=ci/settings/postgres or mariadb"),
]


def apply_concurrently(batches):
    barrier = threading.Barrier(len(batches))
    errors = []

    def worker(batch):
        try:
            barrier.wait()
            for message in batch:
                callbacks.handle(message)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors


@pytest.mark.parametrize("seed", range(3))
def test_four_appliers_reach_the_in_order_state(seed):
    world = make_world()
    rng = random.Random(seed)
    ref = make_vm(world, task_job_id=1)
    for m in lifecycle(ref.pk, world["public"]):
        callbacks.handle(m)
    expected = snapshot(ref)
    VirtualMachine.objects.filter(pk=ref.pk).delete()

    vms = [make_vm(world, task_job_id=1) for _ in range(3)]
    batches = [[] for _ in range(4)]
    for vm in vms:
        msgs = lifecycle(vm.pk, world["public"])
        msgs = [m for m in msgs if m["type"] != "ganeti-net-status"]  # one NIC/IP: one server
        for m in msgs + msgs:  # every message twice, to random appliers
            rng.choice(batches).append(m)
    for batch in batches:
        rng.shuffle(batch)
    apply_concurrently(batches)
    for vm in vms:
        got = snapshot(vm)
        assert got[:7] == expected[:7]
        assert got[8] == expected[8]  # one diagnostic, never two


def test_concurrent_removals_release_the_ip():
    world = make_world()
    vm = make_vm(world, operstate="STARTED", task=None)
    nic = {"mac": "aa:00:00:00:00:01", "ip": "192.0.2.3",
           "network": "snf-net-%d" % world["public"].pk}
    callbacks.handle({"type": "ganeti-net-status", "instance": "snf-%d" % vm.pk, "nics": [nic],
                      "event_time": [1700000000, 0]})
    remove = op(vm.pk, "OP_INSTANCE_REMOVE", "success", 9, 100)
    apply_concurrently([[remove] for _ in range(4)])
    vm = VirtualMachine.objects.get(pk=vm.pk)
    assert vm.deleted and not vm.nics.exists()
    with transaction.atomic():
        assert IPPool.for_network(world["public"]).is_available("192.0.2.3")
