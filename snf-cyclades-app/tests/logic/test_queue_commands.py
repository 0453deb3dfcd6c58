"""queue-inspect / queue-retry against an in-memory broker with the Broker contract."""

import io
import json

import pytest
from django.core.management import call_command
from synnefo.logic import dispatcher as dispatcher_mod


class MemDelivery:
    def __init__(self, broker, queue, body, headers):
        self.broker, self.queue, self.body, self.headers = broker, queue, body, headers
        self.done = False

    def ack(self):
        self.done = True


class MemBroker:
    """Queues of (body, headers); unacked gets return to their queue on close()."""

    def __init__(self):
        self.queues = {}
        self.out = []
        self.published = []

    def put(self, queue, message, headers=None):
        body = message if isinstance(message, bytes) else json.dumps(message).encode()
        self.queues.setdefault(queue, []).append((body, dict(headers or {})))

    def get(self, queue):
        items = self.queues.get(queue) or []
        if not items:
            return None
        body, headers = items.pop(0)
        delivery = MemDelivery(self, queue, body, headers)
        self.out.append(delivery)
        return delivery

    def publish(self, message, routing_key=None, headers=None, exchange=None):
        self.published.append((message, routing_key, headers, exchange))
        queue = "snf-events-" + routing_key.rsplit(".", 1)[-1]
        self.put(queue, message, headers)

    def close(self):
        for d in self.out:
            if not d.done:
                self.queues.setdefault(d.queue, []).insert(0, (d.body, d.headers))
        self.out = []


@pytest.fixture
def broker(monkeypatch):
    mem = MemBroker()
    monkeypatch.setattr(dispatcher_mod, "make_broker", lambda settings: mem)
    return mem


def run(name, *args):
    out = io.StringIO()
    call_command(name, *args, stdout=out)
    return out.getvalue()


MSG = {"type": "ganeti-op-status", "instance": "snf-1", "operation": "OP_INSTANCE_STARTUP",
       "status": "success", "jobId": 1, "logmsg": None, "cluster": "c", "event_time": [1, 0]}


def test_inspect_leaves_messages(broker):
    broker.put("snf-events-op", MSG, {"a": 1})
    broker.put("snf-events-op", b"garbage")
    out = run("queue-inspect", "snf-events-op")
    assert "OP_INSTANCE_STARTUP" in out and "garbage" in out and "2 message(s)" in out
    assert len(broker.queues["snf-events-op"]) == 2


def test_inspect_json_and_no_requeue(broker):
    broker.put("snf-events-op", MSG, {"a": 1})
    data = json.loads(run("queue-inspect", "snf-events-op", "--no-requeue", "--output", "json"))
    assert data == [{"number": 1, "headers": {"a": 1}, "body": MSG}]
    assert broker.queues["snf-events-op"] == []


def test_inspect_interactive(broker, monkeypatch):
    for i in range(3):
        broker.put("snf-events-op", dict(MSG, jobId=i))
    answers = iter(["y", "n", "y"])
    monkeypatch.setattr("builtins.input", lambda prompt: next(answers))
    out = run("queue-inspect", "snf-events-op", "-i")
    assert "2 deleted" in out
    assert [json.loads(b)["jobId"] for b, _ in broker.queues["snf-events-op"]] == [1]


def test_retry(broker):
    dead = {"x-death-reason": "boom", "x-original-queue": "snf-events-op",
            "x-original-routing-key": "ganeti.snf.event.op"}
    broker.put("snf-events-op-dl", MSG, dead)
    broker.put("snf-events-op-dl", b"not json", dead)
    zombie = dict(dead, **{"from-dead-letter": True})
    broker.put("snf-events-net-dl", dict(MSG, type="ganeti-net-status"), zombie)
    broker.put("snf-events-progress-dl", MSG, {})  # does not say where it came from
    broker.put("snf-events-network-dl", MSG, {"x-death": [{"exchange": "ganeti",
                                                           "routing-keys": ["ganeti.snf.event.network"]}]})
    out = run("queue-retry")
    assert "2 message(s) retried, 3 dropped" in out
    assert [(p[1], p[2], p[3]) for p in broker.published] == [
        ("ganeti.snf.event.op", {"from-dead-letter": True}, None),
        ("ganeti.snf.event.network", {"from-dead-letter": True}, "ganeti")]
    assert all(not broker.queues.get(q + "-dl") for q in dispatcher_mod.queue_names("snf-"))
    assert broker.queues["snf-events-op"][0][0] == json.dumps(MSG).encode()


def test_retry_keep_zombies(broker):
    broker.put("snf-events-op-dl", MSG, {"x-original-routing-key": "ganeti.snf.event.op",
                                         "from-dead-letter": True})
    assert "1 message(s) retried, 0 dropped" in run("queue-retry", "--keep-zombies")


def test_retry_then_dispatch_round_trip(broker, db):
    """A dead letter replayed by queue-retry is applied by the dispatcher."""
    from dispatcher_helpers import make_vm, make_world, op
    from synnefo.db.models import VirtualMachine
    from test_dispatcher import FakeDelivery
    vm = make_vm(make_world(), task_job_id=3)
    msg = op(vm.pk, "OP_INSTANCE_CREATE", "success", 3, 1)
    broker.put("snf-events-op-dl", msg, {"x-original-routing-key": "ganeti.snf.event.op"})
    run("queue-retry")
    body, headers = broker.queues["snf-events-op"].pop(0)
    assert headers == {"from-dead-letter": True}
    delivery = FakeDelivery(body)
    dispatcher_mod.Dispatcher(broker, "snf-").handle_delivery(delivery)
    assert delivery.outcome == "ack"
    assert VirtualMachine.objects.get(pk=vm.pk).operstate == "STARTED"


def test_unreachable_broker(monkeypatch):
    from django.core.management import CommandError

    def fail(settings):
        raise OSError("refused")
    monkeypatch.setattr(dispatcher_mod, "make_broker", fail)
    with pytest.raises(CommandError, match="Cannot reach the broker"):
        run("queue-retry")
