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

    exchange = "ganeti"

    def __init__(self):
        self.queues = {}
        self.out = []
        self.published = []
        self.fail_publish = False

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

    def message_count(self, queue):
        return len(self.queues.get(queue) or [])

    def publish(self, message, routing_key=None, headers=None, exchange=None):
        if self.fail_publish:
            from synnefo.messaging.client import BrokerUnavailable
            raise BrokerUnavailable("publish failed")
        self.published.append((message, routing_key, headers, exchange))
        queue = "snf-events-" + routing_key.rsplit(".", 1)[-1]
        if exchange and exchange.endswith("-dl"):
            queue += "-dl"
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
    assert "2 message(s) retried, 3 left in the dead-letter queues" in out
    body = json.dumps(MSG).encode()
    replayed = {"from-dead-letter": True, "x-retry-count": 1}
    assert [(p[1], p[2], p[3]) for p in broker.published if not p[3] or p[3] == "ganeti"] == [
        ("ganeti.snf.event.op", replayed, None),
        ("ganeti.snf.event.network", replayed, "ganeti")]
    assert broker.queues["snf-events-op"][0][0] == body
    # nothing that was not replayed is lost: each went back to its dead-letter queue
    assert [b for b, _ in broker.queues["snf-events-op-dl"]] == [b"not json"]
    assert broker.queues["snf-events-op-dl"][0][1]["x-retry-skipped"] == "body is not JSON"
    assert broker.queues["snf-events-op-dl"][0][1]["x-death-reason"] == "boom"
    assert len(broker.queues["snf-events-net-dl"]) == 1
    assert "failed again after 1 replay" in broker.queues["snf-events-net-dl"][0][1]["x-retry-skipped"]
    assert broker.queues["snf-events-progress-dl"][0][1]["x-retry-skipped"] == "no original routing key"
    assert not broker.queues["snf-events-network-dl"]
    assert "Left in snf-events-op-dl: body is not JSON" in out


def test_retry_keep_zombies_counts_replays(broker):
    broker.put("snf-events-op-dl", MSG, {"x-original-routing-key": "ganeti.snf.event.op",
                                         "from-dead-letter": True, "x-retry-count": 2})
    assert "1 message(s) retried, 0 left" in run("queue-retry", "--keep-zombies")
    assert broker.queues["snf-events-op"] == [(json.dumps(MSG).encode(),
                                               {"from-dead-letter": True, "x-retry-count": 3})]


def test_retry_handles_only_messages_present_at_start(broker):
    """Dead letters arriving during the run (and those put back) wait for the next run."""
    dead = {"x-original-routing-key": "ganeti.snf.event.op"}
    for i in range(3):
        broker.put("snf-events-op-dl", dict(MSG, jobId=i), dead)
    broker.put("snf-events-op-dl", b"garbage", dead)
    get = broker.get

    def get_while_dead_letters_arrive(queue):
        broker.put(queue, dict(MSG, jobId=99), dead)  # a dispatcher dead-letters meanwhile
        broker.put("snf-events-net-dl", dict(MSG, jobId=98), dead)   # in a queue not yet reached
        return get(queue)
    broker.get = get_while_dead_letters_arrive
    out = run("queue-retry")
    assert "3 message(s) retried, 1 left" in out
    assert [json.loads(b)["jobId"] for b, _ in broker.queues["snf-events-op"]] == [0, 1, 2]
    left = [b if b == b"garbage" else json.loads(b)["jobId"] for b, _ in broker.queues["snf-events-op-dl"]]
    assert sorted(map(str, left)) == sorted(map(str, [99, 99, 99, 99, b"garbage"]))
    assert len(broker.queues["snf-events-net-dl"]) == 4   # arrived after the start: left alone


def test_retry_never_acks_what_it_could_not_publish(broker):
    broker.put("snf-events-op-dl", MSG, {"x-original-routing-key": "ganeti.snf.event.op"})
    broker.put("snf-events-op-dl", b"garbage", {"x-original-routing-key": "ganeti.snf.event.op"})
    broker.fail_publish = True
    from django.core.management import CommandError
    with pytest.raises(CommandError, match="stays in its dead-letter queue"):
        run("queue-retry")
    assert [b for b, _ in broker.queues["snf-events-op-dl"]] == [json.dumps(MSG).encode(), b"garbage"]
    assert not any(d.done for d in broker.out)


def test_retry_on_the_embedded_broker(tmp_path, settings):
    """The real Broker: count, replay, a second failure returns with its count, nothing is lost."""
    from synnefo.messaging.client import Broker
    settings.AMQP_HOSTS = ["filesystem://"]
    settings.AMQP_FILESYSTEM_DIR = str(tmp_path)
    real = Broker.from_settings(settings)
    try:
        real.declare("snf")
        real.publish(MSG, headers={"x-snf-event-id": "c/1/0/success"})
        delivery = real.get("snf-events-op")
        delivery.reject_to_dead_letter("first failure")
        real.publish(b"not json", routing_key="ganeti.snf.event.op", exchange="ganeti-dl")
        assert real.message_count("snf-events-op-dl") == 2
        out = run("queue-retry")
        assert "1 message(s) retried, 1 left" in out
        replayed = real.get("snf-events-op")
        assert json.loads(replayed.body) == MSG
        assert replayed.headers["x-retry-count"] == 1
        replayed.reject_to_dead_letter("second failure")   # the dispatcher fails again
        out = run("queue-retry")
        assert "0 message(s) retried, 2 left" in out
        kept = [real.get("snf-events-op-dl") for _ in range(2)]
        zombie = next(d.headers for d in kept if d.body != b"not json")
        assert zombie["x-retry-count"] == 1 and zombie["x-death-reason"] == "second failure"
        assert "failed again after 1 replay" in zombie["x-retry-skipped"]
        assert real.get("snf-events-op-dl") is None
    finally:
        real.close()


def test_retry_then_dispatch_round_trip(broker, db):
    """A dead letter replayed by queue-retry is applied by the dispatcher."""
    from dispatcher_helpers import FakeDelivery, make_vm, make_world, op
    from synnefo.db.models import VirtualMachine
    vm = make_vm(make_world(), task_job_id=3)
    msg = op(vm.pk, "OP_INSTANCE_CREATE", "success", 3, 1)
    broker.put("snf-events-op-dl", msg, {"x-original-routing-key": "ganeti.snf.event.op"})
    run("queue-retry")
    body, headers = broker.queues["snf-events-op"].pop(0)
    assert headers == {"from-dead-letter": True, "x-retry-count": 1}
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
