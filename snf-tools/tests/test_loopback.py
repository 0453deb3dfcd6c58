"""Loopback helpers: free ports that never repeat, and scratch stacks of the e2e
tests and benchmarks that leave nothing behind on RabbitMQ."""

import secrets
import socket

import pytest
from synnefo.messaging.client import Broker, NoSuchQueue
from synnefo.tools import loopback
from synnefo.tools.loopback import RABBITMQ_URL, answers, drop_rabbitmq_objects, scratch_exchange


def test_free_port_never_hands_out_a_port_twice(monkeypatch):
    # The kernel may give two bind(0) calls in a row the same port (it did in CI:
    # the API's port and the console proxy's control port were the same one).
    given = iter([41001, 41001, 41001, 41002])

    class Kernel(socket.socket):
        def getsockname(self):
            return ("127.0.0.1", next(given))

    monkeypatch.setattr(loopback, "_handed_out", set())
    monkeypatch.setattr(loopback.socket, "socket", Kernel)
    assert [loopback.free_port(), loopback.free_port()] == [41001, 41002]


def test_free_ports_are_free():
    ports = [loopback.free_port() for _ in range(50)]
    assert len(set(ports)) == 50
    assert not any(answers(port, timeout=0.2) for port in ports[:5])


@pytest.mark.rabbitmq
def test_drop_rabbitmq_objects_deletes_the_durable_queues():
    if not answers(5672):
        pytest.skip("RabbitMQ does not answer on 127.0.0.1:5672")
    tag = secrets.token_hex(3)
    prefix_id = "t%s-" % tag
    queues = ["t%s-events-%s%s" % (tag, kind, dl) for kind in ("op", "network", "net", "progress")
              for dl in ("", "-dl")]
    with Broker([RABBITMQ_URL], exchange=scratch_exchange(tag, "loopback")) as broker:
        broker.declare(prefix_id[:-1])          # as a deployment's eventd and dispatchers do
        assert [broker.message_count(q) for q in queues] == [0] * 8
    drop_rabbitmq_objects(tag, "loopback", prefix_id)
    with Broker([RABBITMQ_URL], exchange="unused") as broker:
        for queue in queues:
            with pytest.raises(NoSuchQueue):
                broker.message_count(queue)
