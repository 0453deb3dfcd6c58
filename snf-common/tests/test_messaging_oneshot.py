"""OneShotPublisher: the hook's and the progress monitor's publish (synnefo.messaging.oneshot)."""

import json
import logging
import os
import subprocess
import sys
import types

import pytest
from kombu.transport.virtual.exchange import TopicExchange
from synnefo.messaging import files, messages, names, oneshot
from synnefo.messaging.client import Broker

NOW = [1700000000, 1]
INSTANCE = "snf-7"


def settings_for(broker_dir):
    return types.SimpleNamespace(AMQP_HOSTS=["filesystem://"], AMQP_FILESYSTEM_DIR=str(broker_dir),
                                 EXCHANGE_GANETI="ganeti", BACKEND_PREFIX_ID="snf-",
                                 AMQP_CONNECT_TIMEOUT=3)


def samples():
    return [messages.op_status(INSTANCE, "OP_INSTANCE_CREATE", "success", 3, None, "c1", NOW),
            messages.net_status(INSTANCE, [{"mac": "aa:00:00:00:00:07"}], NOW),
            messages.progress(INSTANCE, {"type": "image-info", "messages": ["m"]}, NOW),
            messages.network_status("snf-net-2", "OP_NETWORK_ADD", "success", 4, None, "c1", NOW)]


@pytest.fixture
def broker_dir(tmp_path):
    return tmp_path / "broker"


@pytest.fixture
def consumer(broker_dir):
    broker = Broker(["filesystem://"], exchange="ganeti", filesystem_dir=str(broker_dir))
    yield broker
    broker.close()


def drain(broker, kind):
    got = []
    while (delivery := broker.get(names.queue_name("snf", kind))) is not None:
        got.append(delivery)
        delivery.ack()
    return got


PUBLISHER = r"""
import json, sys, types
from synnefo.messaging.oneshot import OneShotPublisher
cfg = json.load(sys.stdin)
settings = types.SimpleNamespace(AMQP_HOSTS=["filesystem://"], AMQP_FILESYSTEM_DIR=cfg["dir"],
                                 EXCHANGE_GANETI="ganeti", BACKEND_PREFIX_ID="snf-")
with OneShotPublisher(settings) as publisher:
    for message in cfg["messages"]:
        publisher.publish(message, retry=2)
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("kombu", "amqp"))))
"""


def test_declared_broker_gets_the_messages_without_kombu(broker_dir, consumer):
    consumer.declare("snf")
    bindings = sorted(os.listdir(broker_dir / "control"))
    sent = samples()
    result = subprocess.run([sys.executable, "-c", PUBLISHER], capture_output=True, text=True,
                            input=json.dumps({"dir": str(broker_dir), "messages": sent}), timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []  # neither kombu nor py-amqp was imported
    assert sorted(os.listdir(broker_dir / "control")) == bindings
    for message in sent:
        [delivery] = drain(consumer, messages.kind_of(message))
        assert messages.decode(delivery.body) == message
        assert delivery.exchange == "ganeti"
        assert delivery.routing_key == messages.routing_key_of(message)
        assert delivery.headers == {}


def test_message_file_is_the_one_the_broker_client_writes(broker_dir, consumer):
    consumer.declare("snf")
    message = samples()[1]
    consumer.publish(message)
    with oneshot.OneShotPublisher(settings_for(broker_dir)) as publisher:
        publisher.publish(message, retry=1)
        assert publisher._broker is None  # written straight into the folder
    data = broker_dir / "data"
    by_client, by_oneshot = [json.loads((data / name).read_text()) for name in sorted(os.listdir(data))]
    for payload in (by_client, by_oneshot):
        assert payload["properties"].pop("delivery_tag")
    assert by_oneshot == by_client


def test_fresh_broker_is_declared_first_so_the_message_is_kept(broker_dir, consumer):
    message = samples()[0]
    with oneshot.OneShotPublisher(settings_for(broker_dir)) as publisher:
        publisher.publish(message, retry=1)
        publisher.publish(message, retry=1)  # the client it made is used from now on
    [first, second] = drain(consumer, "op")
    assert messages.decode(first.body) == messages.decode(second.body) == message
    queues = {queue for _, _, queue in files.read_bindings(str(broker_dir / "control"), "ganeti")}
    assert queues == {names.queue_name("snf", kind) for kind in names.QUEUE_KINDS}


def test_failed_write_goes_through_the_broker_client(broker_dir, consumer, monkeypatch, caplog):
    consumer.declare("snf")

    def broken(folder, name, data):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(oneshot.files, "write_atomically", broken)
    message = samples()[2]
    with caplog.at_level(logging.WARNING), oneshot.OneShotPublisher(settings_for(broker_dir)) as publisher:
        publisher.publish(message, retry=1)
    assert "No space left on device" in caplog.text
    [delivery] = drain(consumer, "progress")
    assert messages.decode(delivery.body) == message


def test_malformed_message_raises_and_writes_nothing(broker_dir, consumer, caplog):
    consumer.declare("snf")
    with caplog.at_level(logging.WARNING), oneshot.OneShotPublisher(settings_for(broker_dir)) as publisher:
        with pytest.raises(messages.MalformedMessage):
            publisher.publish({"type": "ganeti-net-status", "nics": []}, retry=1)
        assert publisher._broker is None
    assert os.listdir(broker_dir / "data") == [] and caplog.text == ""


def test_amqp_hosts_publish_through_the_broker_client(monkeypatch):
    calls = []

    class FakeBroker:
        @classmethod
        def from_settings(cls, settings):
            calls.append(("from_settings", settings.AMQP_HOSTS))
            return cls()

        def declare(self, prefix):
            calls.append(("declare", prefix))

        def publish(self, message, retry):
            calls.append(("publish", message["type"], retry))

        def close(self):
            calls.append(("close",))
    import synnefo.messaging.client as client
    monkeypatch.setattr(client, "Broker", FakeBroker)
    settings = types.SimpleNamespace(AMQP_HOSTS=["amqp://u:p@127.0.0.1:1//"], BACKEND_PREFIX_ID="snf-")
    with oneshot.OneShotPublisher(settings) as publisher:
        publisher.publish(samples()[0], retry=4)
        publisher.publish(samples()[1], retry=4)
    assert calls == [("from_settings", ["amqp://u:p@127.0.0.1:1//"]), ("declare", "snf"),
                     ("publish", "ganeti-op-status", 4), ("publish", "ganeti-net-status", 4),
                     ("close",)]


@pytest.mark.parametrize("key", ["ganeti.snf.event.op", "ganeti.snf.event.net", "ganeti.snf.x.op",
                                 "ganeti.other.event.op", "ganeti.snf.event.op.more", "x"])
def test_routing_is_kombu_topic_routing(key):
    topic = TopicExchange(channel=None)
    bound = [("ganeti.snf.event.op", "a"), ("ganeti.snf.event.*", "b"), ("ganeti.#", "c"),
             ("ganeti.*.x.#", "d")]
    bindings = [topic.prepare_bind(queue, "ganeti", pattern_key, None) for pattern_key, queue in bound]
    assert files.routed_queues(bindings, key) == sorted(topic.lookup(bindings, "ganeti", key, None))
