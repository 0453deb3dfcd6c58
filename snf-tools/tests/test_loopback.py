"""Scratch stacks of the e2e tests and benchmarks leave nothing behind on RabbitMQ."""

import secrets

import pytest
from synnefo.messaging.client import Broker, NoSuchQueue
from synnefo.tools.loopback import RABBITMQ_URL, answers, drop_rabbitmq_objects, scratch_exchange

pytestmark = pytest.mark.rabbitmq


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
