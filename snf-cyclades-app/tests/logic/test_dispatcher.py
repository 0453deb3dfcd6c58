"""The dispatcher loop with fake deliveries: ack, dead letters, transient DB errors."""

import threading

import pytest
from dispatcher_helpers import FakeDelivery, make_vm, make_world, net, op
from django.db import OperationalError
from synnefo.db.models import VirtualMachine
from synnefo.logic import callbacks
from synnefo.logic import dispatcher as dispatcher_mod
from synnefo.logic.dispatcher import Dispatcher


class FakeBroker:
    def __init__(self, deliveries):
        self.deliveries = list(deliveries)
        self.declared = []
        self.consumed = []

    def declare(self, prefix):
        self.declared.append(prefix)

    def consume(self, queues, handler, prefetch=5, stop_event=None, idle_timeout=None):
        self.consumed.append((tuple(queues), prefetch))
        while self.deliveries:
            handler(self.deliveries.pop(0))
        stop_event.set()


@pytest.fixture
def world(db):
    return make_world()


def dispatch(body, **kwargs):
    delivery = FakeDelivery(body)
    result = Dispatcher(FakeBroker([]), "snf-", **kwargs).handle_delivery(delivery)
    assert result == delivery.outcome or result == "left"
    return delivery


def test_queues_and_declare():
    broker = FakeBroker([])
    d = Dispatcher(broker, "snf-")
    assert d.queues == ["snf-events-op", "snf-events-network", "snf-events-net", "snf-events-progress"]
    d.declare()
    assert broker.declared == ["snf"]


def test_applied_message_is_acked(world):
    vm = make_vm(world, task_job_id=3)
    delivery = dispatch(op(vm.pk, "OP_INSTANCE_CREATE", "success", 3, 1))
    assert delivery.outcome == "ack"
    assert VirtualMachine.objects.get(pk=vm.pk).operstate == "STARTED"


def test_unknown_server_is_acked(world):
    assert dispatch(op(4242, "OP_INSTANCE_CREATE", "success", 3, 1)).outcome == "ack"


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"\xff\xfe", b'{"type": "weird"}'])
def test_malformed_body_is_dead_lettered(world, body):
    delivery = dispatch(body)
    assert delivery.outcome == "dead"
    assert delivery.reason


def test_invalid_status_is_dead_lettered(world):
    vm = make_vm(world)
    delivery = dispatch(op(vm.pk, "OP_INSTANCE_CREATE", "exploded", 3, 1))
    assert delivery.outcome == "dead" and "status" in delivery.reason
    assert VirtualMachine.objects.get(pk=vm.pk).operstate == "BUILD"


def test_integrity_error_is_dead_lettered(world):
    public = world["public"]
    vm1, vm2 = make_vm(world), make_vm(world)
    nic = {"mac": "aa:00:00:00:00:01", "ip": None, "network": "snf-net-%d" % public.pk}
    assert dispatch(net(vm1.pk, [nic], 1)).outcome == "ack"
    delivery = dispatch(net(vm2.pk, [nic], 1))  # same MAC on another server
    assert delivery.outcome == "dead" and "database error" in delivery.reason
    assert not vm2.nics.exists()


def test_unexpected_exception_is_dead_lettered(world, monkeypatch):
    def boom(message):
        raise RuntimeError("bug")
    monkeypatch.setattr(callbacks, "handle", boom)
    delivery = dispatch(op(1, "OP_INSTANCE_CREATE", "success", 3, 1))
    assert delivery.outcome == "dead" and "RuntimeError" in delivery.reason


def test_transient_db_error_is_retried(world, monkeypatch):
    vm = make_vm(world, task_job_id=3)
    real = callbacks.handle
    failures = []

    def flaky(message):
        if len(failures) < 2:
            failures.append(1)
            raise OperationalError("database is locked")
        return real(message)
    monkeypatch.setattr(callbacks, "handle", flaky)
    delivery = dispatch(op(vm.pk, "OP_INSTANCE_CREATE", "success", 3, 1), max_retry_delay=0.01)
    assert delivery.outcome == "ack" and len(failures) == 2
    assert VirtualMachine.objects.get(pk=vm.pk).operstate == "STARTED"


def test_transient_db_error_while_stopping_leaves_the_message(world, monkeypatch):
    def down(message):
        raise OperationalError("server closed the connection unexpectedly")
    monkeypatch.setattr(callbacks, "handle", down)
    stop = threading.Event()
    stop.set()
    delivery = FakeDelivery(op(1, "OP_INSTANCE_CREATE", "success", 3, 1))
    d = Dispatcher(FakeBroker([]), "snf-", stop_event=stop)
    assert d.handle_delivery(delivery) == "left"
    assert delivery.outcome is None and d.counts["left"] == 1


def test_non_transient_operational_error_is_dead_lettered(world, monkeypatch):
    def broken(message):
        raise OperationalError("no such column: foo")
    monkeypatch.setattr(callbacks, "handle", broken)
    monkeypatch.setattr(dispatcher_mod, "is_transient", lambda exc: False)
    assert dispatch(op(1, "OP_INSTANCE_CREATE", "success", 3, 1)).outcome == "dead"


def test_is_transient():
    from django.db import IntegrityError, InterfaceError
    assert dispatcher_mod.is_transient(InterfaceError("gone"))
    assert dispatcher_mod.is_transient(OperationalError("database is locked"))
    assert dispatcher_mod.is_transient(OperationalError("could not connect to server"))
    assert not dispatcher_mod.is_transient(IntegrityError("unique"))
    assert not dispatcher_mod.is_transient(ValueError("x"))


def test_run_consumes_until_stopped(world):
    vm = make_vm(world, task_job_id=3)
    deliveries = [FakeDelivery(op(vm.pk, "OP_INSTANCE_CREATE", "running", 3, 1)),
                  FakeDelivery(b"garbage"),
                  FakeDelivery(op(vm.pk, "OP_INSTANCE_CREATE", "success", 3, 2))]
    broker = FakeBroker(deliveries)
    d = Dispatcher(broker, "snf-", prefetch=7)
    d.run()
    assert [x.outcome for x in deliveries] == ["ack", "dead", "ack"]
    assert d.counts == {"acked": 2, "dead": 1, "left": 0}
    assert broker.consumed[0][1] == 7
    assert VirtualMachine.objects.get(pk=vm.pk).operstate == "STARTED"


def test_parse_args_defaults():
    args = dispatcher_mod.parse_args(["--foreground", "--debug"])
    assert args.foreground and args.debug and args.pid_file is None and not args.purge_queues
