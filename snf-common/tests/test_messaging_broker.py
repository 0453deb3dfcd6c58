"""Broker round trips over the file-system broker and RabbitMQ (127.0.0.1:5672)."""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from urllib.parse import urlparse

import pytest
from synnefo.messaging import client, filesystem, messages, names
from synnefo.messaging.client import RETRY_FOREVER, Broker, BrokerUnavailable, Interrupted

NOW = [1700000000, 1]


def rabbitmq_url():
    return os.environ.get("SYNNEFO_TEST_AMQP", "").strip()


def rabbitmq_skip_reason():
    url = rabbitmq_url()
    if not url:
        return "SYNNEFO_TEST_AMQP is empty (set it to amqp://guest:guest@127.0.0.1:5672//)"
    parsed = urlparse(url)
    try:
        socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 5672), 2).close()
    except OSError as exc:
        return "RabbitMQ does not answer at %s: %s" % (url, exc)
    return None


class Stack:
    """A broker configuration with a unique exchange and prefix; cleans up after itself."""

    def __init__(self, kind, tmp_path):
        tag = uuid.uuid4().hex[:8]
        self.kind = kind
        if kind == "rabbitmq":
            self.hosts, self.exchange, self.prefix = [rabbitmq_url()], "test-%s" % tag, "t%s" % tag
        else:
            self.hosts, self.exchange, self.prefix = ["filesystem://"], "ganeti", "snf"
        self.broker_dir = str(tmp_path / "broker")
        self.opened = []

    def broker(self, **kwargs):
        broker = Broker(self.hosts, exchange=self.exchange, filesystem_dir=self.broker_dir,
                        **kwargs)
        self.opened.append(broker)
        return broker

    def queue(self, kind):
        return names.queue_name(self.prefix, kind)

    def instance(self, n):
        return "%s-%d" % (self.prefix, n)

    def config(self):
        return {"hosts": self.hosts, "exchange": self.exchange, "dir": self.broker_dir}

    def cleanup(self):
        for broker in self.opened:
            broker.close()
        if self.kind == "rabbitmq":
            cleaner = Broker(self.hosts, exchange=self.exchange)
            cleaner.delete(self.prefix)
            cleaner.close()


@pytest.fixture(params=["filesystem", pytest.param("rabbitmq", marks=pytest.mark.rabbitmq)])
def stack(request, tmp_path):
    if request.param == "rabbitmq":
        reason = rabbitmq_skip_reason()
        if reason:
            pytest.skip(reason)
    s = Stack(request.param, tmp_path)
    yield s
    s.cleanup()


PRODUCER = r"""
import json, sys
from synnefo.messaging.client import Broker
cfg = json.load(sys.stdin)
broker = Broker(cfg["hosts"], exchange=cfg["exchange"], filesystem_dir=cfg["dir"])
for message in cfg["messages"]:
    broker.publish(message)
broker.close()
print("published", len(cfg["messages"]))
"""


def run_producer(stack, batch):
    """Publish from another process that never declared the queues itself."""
    cfg = dict(stack.config(), messages=batch)
    result = subprocess.run([sys.executable, "-c", PRODUCER], input=json.dumps(cfg),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result


def sample(stack, kind, n):
    if kind == "op":
        return messages.op_status(stack.instance(n), "OP_INSTANCE_STARTUP", "success", n, None,
                                  "c1", [NOW[0] + n, 0])
    if kind == "network":
        return messages.network_status("%s-net-%d" % (stack.prefix, n), "OP_NETWORK_ADD",
                                       "success", n, None, "c1", NOW)
    if kind == "net":
        return messages.net_status(stack.instance(n), [{"mac": "aa:00:00:00:00:%02x" % n}], NOW)
    return messages.progress(stack.instance(n), {"type": "image-info", "messages": ["m%d" % n]},
                             NOW)


def drain(broker, queue):
    got = []
    while True:
        delivery = broker.get(queue)
        if delivery is None:
            return got
        got.append(delivery)
        delivery.ack()


@pytest.mark.parametrize("kind", names.QUEUE_KINDS)
def test_round_trip_between_processes(stack, kind):
    consumer = stack.broker()
    consumer.declare(stack.prefix)
    batch = [sample(stack, kind, n) for n in range(1, 6)]
    run_producer(stack, batch)
    received = []
    stop = threading.Event()

    def handler(delivery):
        received.append(delivery)
        delivery.ack()
        if len(received) == len(batch):
            stop.set()

    consumer.consume([stack.queue(kind)], handler, stop_event=stop, idle_timeout=20)
    assert [messages.decode(d.body) for d in received] == batch  # in order, complete
    assert all(d.queue == stack.queue(kind) for d in received)
    assert received[0].routing_key == names.routing_key(stack.prefix, kind)
    # nothing went to the other queues, and nothing is left
    for other in names.QUEUE_KINDS:
        assert consumer.get(stack.queue(other)) is None


def test_dead_letter_keeps_body_and_says_why(stack):
    broker = stack.broker()
    broker.declare(stack.prefix)
    message = sample(stack, "op", 1)
    broker.publish(message, headers={"x-snf-event-id": "c1/1/0/success"})
    stop = threading.Event()

    def handler(delivery):
        delivery.reject_to_dead_letter("cannot apply: boom")
        stop.set()

    broker.consume([stack.queue("op")], handler, stop_event=stop, idle_timeout=20)
    assert stop.is_set()
    assert broker.get(stack.queue("op")) is None
    dead = broker.get(names.dead_letter(stack.queue("op")))
    assert dead is not None and messages.decode(dead.body) == message
    assert dead.headers["x-death-reason"] == "cannot apply: boom"
    assert dead.headers["x-original-queue"] == stack.queue("op")
    assert dead.headers["x-original-routing-key"] == names.routing_key(stack.prefix, "op")
    assert dead.headers["x-original-exchange"] == stack.exchange
    assert dead.headers["x-snf-event-id"] == "c1/1/0/success"
    dead.ack()


def test_get_leaves_unacked_messages_until_close_and_purge_empties(stack):
    broker = stack.broker()
    broker.declare(stack.prefix)
    for n in range(3):
        broker.publish(sample(stack, "net", n))
    first = broker.get(stack.queue("net"))
    assert messages.decode(first.body)["instance"] == stack.instance(0)
    assert broker.get(stack.queue("net")) is not None  # the second one, first is held
    broker.close()  # both return to the queue
    other = stack.broker()
    assert len(drain(other, stack.queue("net"))) == 3
    for n in range(4):
        other.publish(sample(stack, "net", n))
    if stack.kind == "rabbitmq":
        time.sleep(0.2)  # confirmed, but the queue count may lag a moment
    assert other.purge(stack.queue("net")) == 4
    assert other.get(stack.queue("net")) is None


def test_handler_exception_leaves_message_unacked(stack):
    broker = stack.broker()
    broker.declare(stack.prefix)
    broker.publish(sample(stack, "op", 7))

    def failing(delivery):
        raise RuntimeError("handler bug")

    with pytest.raises(RuntimeError, match="handler bug"):
        broker.consume([stack.queue("op")], failing, idle_timeout=20)
    again = broker.get(stack.queue("op"))
    assert again is not None and messages.decode(again.body)["jobId"] == 7
    again.ack()


def test_consume_returns_when_idle_and_on_stop(stack):
    broker = stack.broker()
    broker.declare(stack.prefix)
    started = time.monotonic()
    broker.consume([stack.queue("op")], lambda d: d.ack(), idle_timeout=0.5)
    assert 0.4 <= time.monotonic() - started < 5
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    started = time.monotonic()
    broker.consume([stack.queue("op")], lambda d: d.ack(), stop_event=stop)
    assert time.monotonic() - started < 5


def test_batches_in_hand_at_start_are_handled_without_waiting(stack, monkeypatch):
    """The deliveries py-amqp hands over while the other queues are consumed
    fill the prefetch window: they are handled at once, never after a wait
    for more (which could not come), and at most ``batch`` at a time."""
    monkeypatch.setattr(client, "POLL_SECONDS", 5.0)
    broker = stack.broker()
    broker.declare(stack.prefix)
    for n in range(1, 8):
        broker.publish(sample(stack, "op", n))
    got, stop = [], threading.Event()

    def handler(deliveries):
        got.append([messages.decode(d.body)["jobId"] for d in deliveries])
        for delivery in deliveries:
            delivery.ack()
        if sum(map(len, got)) == 7:
            stop.set()

    started = time.monotonic()
    broker.consume([stack.queue(kind) for kind in names.QUEUE_KINDS], handler, prefetch=4,
                   stop_event=stop, idle_timeout=30, batch=3)
    assert time.monotonic() - started < 2.5
    assert [n for ids in got for n in ids] == list(range(1, 8))
    assert max(map(len, got)) <= 3


class FakeMessage:
    def __init__(self, body):
        self.body, self.headers, self.delivery_info = body, {}, {"routing_key": "k"}

    def ack(self):
        pass


class FakeConnection:
    """Deliveries of the first queue arrive while the next queues are consumed
    (as py-amqp dispatches them while it waits for consume-ok); with the
    prefetch window full, nothing more arrives: a blocking wait is recorded."""

    heartbeat = 0

    def __init__(self, bodies):
        self.bodies = list(bodies)
        self.consumers = []
        self.waits = []

    def channel(self):
        return object()

    def release(self):
        pass

    def deliver_all(self):
        while self.bodies and self.consumers:
            self.consumers[0].on_message(FakeMessage(self.bodies.pop(0)))

    def drain_events(self, timeout=None):
        self.waits.append(timeout)
        raise TimeoutError()


def test_deliveries_handed_over_during_consume_are_handled_first(monkeypatch):
    fake = FakeConnection([b"1", b"2", b"3", b"4", b"5"])

    class FakeConsumer:
        def __init__(self, channel, queues, on_message, no_ack, prefetch_count):
            self.on_message = on_message

        def consume(self):
            fake.deliver_all()  # what came for the consumers before this one
            fake.consumers.append(self)

    monkeypatch.setattr(client.kombu, "Consumer", FakeConsumer)
    broker = Broker(["amqp://guest:guest@127.0.0.1:1//"])
    monkeypatch.setattr(broker, "_connect", lambda heartbeat=0: fake)
    got, stop = [], threading.Event()

    def handler(deliveries):
        got.append([d.body for d in deliveries])
        # no blocking wait while deliveries were in hand
        assert all(timeout == 0 for timeout in fake.waits)
        if sum(map(len, got)) == 5:
            stop.set()

    broker.consume(["q1", "q2"], handler, prefetch=5, stop_event=stop, idle_timeout=30, batch=2)
    assert got == [[b"1", b"2"], [b"3", b"4"], [b"5"]]


def test_publish_needs_a_routable_message(stack):
    broker = stack.broker()
    with pytest.raises(messages.MalformedMessage):
        broker.publish({"type": "nope"})
    with pytest.raises(ValueError):
        broker.publish(b"raw")
    with pytest.raises(ValueError):
        broker.publish(sample(stack, "op", 1), retry=0)


# --- failures (no broker needed) -----------------------------------------------------

def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_publish_gives_up_on_dead_hosts():
    hosts = ["amqp://guest:guest@127.0.0.1:%d//" % free_port() for _ in range(2)]
    broker = Broker(hosts, connect_timeout=1)
    started = time.monotonic()
    with pytest.raises(BrokerUnavailable, match="after 4 attempt"):
        broker.publish(messages.op_status("snf-1", "OP", "success", 1, None, "c", NOW), retry=4)
    # two rounds over two hosts: one back-off pause (0.1 s) between the rounds
    assert time.monotonic() - started < 5
    with pytest.raises(BrokerUnavailable):
        broker.declare("snf")


def test_stop_event_interrupts_retrying_forever():
    broker = Broker(["amqp://guest:guest@127.0.0.1:%d//" % free_port()], connect_timeout=1)
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    started = time.monotonic()
    with pytest.raises(Interrupted):
        broker.publish(messages.op_status("snf-1", "OP", "success", 1, None, "c", NOW),
                       retry=RETRY_FOREVER, stop_event=stop)
    assert time.monotonic() - started < 6
    # consume on a dead broker also returns on stop
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    broker.consume(["snf-events-op"], lambda d: None, stop_event=stop)
    assert stop.is_set()


@pytest.mark.parametrize("hosts", [[], ["http://x"], ["filesystem://", "amqp://h//"], [None]])
def test_bad_host_lists(hosts, tmp_path):
    with pytest.raises(ValueError):
        Broker(hosts, filesystem_dir=str(tmp_path))


def test_filesystem_needs_a_folder():
    with pytest.raises(ValueError, match="AMQP_FILESYSTEM_DIR"):
        Broker(["filesystem://"])


def test_from_settings_builds_the_folders(tmp_path):
    class Settings:
        AMQP_HOSTS = ["filesystem://"]
        AMQP_FILESYSTEM_DIR = str(tmp_path / "b")
        EXCHANGE_GANETI = "ganeti"
        AMQP_CONNECT_TIMEOUT = 3
    broker = Broker.from_settings(Settings)
    assert broker.exchange == "ganeti" and broker.connect_timeout == 3
    assert sorted(os.listdir(tmp_path / "b")) == ["claimed", "control", "data"]


# --- the file-system transport specifically --------------------------------------------

@pytest.fixture
def fs(tmp_path):
    s = Stack("filesystem", tmp_path)
    yield s
    s.cleanup()


def test_reader_never_sees_a_message_being_written(fs, monkeypatch):
    consumer = fs.broker()
    consumer.declare(fs.prefix)
    writing, release = threading.Event(), threading.Event()
    real_fsync = os.fsync

    def slow_fsync(fd):
        real_fsync(fd)
        writing.set()
        assert release.wait(10)

    monkeypatch.setattr(filesystem.os, "fsync", slow_fsync)
    big = sample(fs, "progress", 1)
    big["messages"] = ["x" * 100_000]
    publisher = fs.broker()
    thread = threading.Thread(target=publisher.publish, args=(big,))
    thread.start()
    try:
        assert writing.wait(10)
        data = os.path.join(fs.broker_dir, "data")
        assert any(name.endswith(".tmp") for name in os.listdir(data))  # half-way there
        assert consumer.get(fs.queue("progress")) is None
    finally:
        release.set()
        thread.join(10)
    delivery = consumer.get(fs.queue("progress"))
    assert messages.decode(delivery.body) == big
    delivery.ack()


def test_concurrent_writer_and_reader_only_see_whole_messages(fs):
    consumer = fs.broker()
    consumer.declare(fs.prefix)
    batch = []
    for n in range(40):
        message = sample(fs, "progress", n)
        message["messages"] = ["%d" % n * 20_000]
        batch.append(message)
    cfg = dict(fs.config(), messages=batch)
    proc = subprocess.Popen([sys.executable, "-c", PRODUCER], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdin.write(json.dumps(cfg).encode())
    proc.stdin.close()
    got = []
    try:
        deadline = time.monotonic() + 60
        while len(got) < len(batch) and time.monotonic() < deadline:
            delivery = consumer.get(fs.queue("progress"))
            if delivery is None:
                time.sleep(0.001)
                continue
            got.append(messages.decode(delivery.body))  # raises on a partial file
            delivery.ack()
    finally:
        proc.wait(60)
    assert proc.returncode == 0, proc.stderr.read()
    assert got == batch


def test_claims_of_a_dead_consumer_return_to_the_queue(fs):
    producer = fs.broker()
    producer.declare(fs.prefix)
    producer.publish(sample(fs, "op", 3))
    script = ("import sys, os\nfrom synnefo.messaging.client import Broker\n"
              "b = Broker(['filesystem://'], filesystem_dir=sys.argv[1])\n"
              "d = b.get('snf-events-op')\nassert d is not None\nos._exit(0)\n")
    subprocess.run([sys.executable, "-c", script, fs.broker_dir], check=True, timeout=60)
    assert producer.get(fs.queue("op")) is None  # claimed by the dead process
    survivor = fs.broker()  # a new client recovers it
    delivery = survivor.get(fs.queue("op"))
    assert delivery is not None and messages.decode(delivery.body)["jobId"] == 3
    delivery.ack()
    assert os.listdir(os.path.join(fs.broker_dir, "claimed")) == []


def test_unroutable_messages_are_dropped(fs):
    broker = fs.broker()
    broker.publish(sample(fs, "op", 1))  # no queue declared anywhere
    assert os.listdir(os.path.join(fs.broker_dir, "data")) == []


# --- RabbitMQ going away -----------------------------------------------------------------

class CuttableProxy:
    """A TCP relay on 127.0.0.1 to RabbitMQ whose connections the test can cut."""

    def __init__(self, target):
        self.target = target
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.sockets = []
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, template):
        """``template`` (an amqp:// URL) pointed at this relay."""
        parsed = urlparse(template)
        credentials = parsed.netloc.rsplit("@", 1)[0] + "@" if "@" in parsed.netloc else ""
        return parsed._replace(netloc="%s127.0.0.1:%d" % (credentials, self.port)).geturl()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target, 5)
            with self.lock:
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        with self.lock:
            sockets, self.sockets = self.sockets, []
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        return len(sockets)

    def close(self):
        self.closed = True
        self.server.close()
        self.cut()


@pytest.fixture
def rabbit(tmp_path):
    reason = rabbitmq_skip_reason()
    if reason:
        pytest.skip(reason)
    s = Stack("rabbitmq", tmp_path)
    parsed = urlparse(s.hosts[0])
    proxy = CuttableProxy((parsed.hostname or "127.0.0.1", parsed.port or 5672))
    yield s, proxy
    proxy.close()
    s.cleanup()


@pytest.mark.rabbitmq
def test_consumer_survives_a_broken_connection(rabbit):
    stack, proxy = rabbit
    direct = stack.broker()
    direct.declare(stack.prefix)
    via_proxy = Broker([proxy.url(stack.hosts[0])], exchange=stack.exchange)
    stack.opened.append(via_proxy)
    received, stop = [], threading.Event()

    def handler(delivery):
        received.append(messages.decode(delivery.body)["jobId"])
        delivery.ack()
        if len(received) == 2:
            stop.set()

    consumer = threading.Thread(target=via_proxy.consume, args=([stack.queue("op")], handler),
                                kwargs={"stop_event": stop, "idle_timeout": 30})
    consumer.start()
    try:
        direct.publish(sample(stack, "op", 1))
        deadline = time.monotonic() + 20
        while not received and time.monotonic() < deadline:
            time.sleep(0.05)
        assert received == [1]
        assert proxy.cut() >= 2  # the broker "restarts" under the consumer
        direct.publish(sample(stack, "op", 2))
        consumer.join(30)
    finally:
        stop.set()
        consumer.join(10)
    assert received == [1, 2]


@pytest.mark.rabbitmq
def test_publish_fails_over_to_the_next_host(rabbit):
    stack, proxy = rabbit
    dead = "amqp://guest:guest@127.0.0.1:%d//" % free_port()
    broker = Broker([dead, proxy.url(stack.hosts[0])], exchange=stack.exchange, connect_timeout=2)
    stack.opened.append(broker)
    broker.declare(stack.prefix, retry=4)
    broker.publish(sample(stack, "op", 5), retry=4)
    proxy.cut()  # the working host's connection breaks: the next publish reconnects
    broker.publish(sample(stack, "op", 6), retry=4)
    assert [messages.decode(d.body)["jobId"] for d in drain(stack.broker(), stack.queue("op"))] \
        == [5, 6]


@pytest.mark.rabbitmq
def test_unknown_queue_is_reported_as_such(rabbit):
    from synnefo.messaging.client import NoSuchQueue
    stack, _ = rabbit
    broker = stack.broker()
    with pytest.raises(NoSuchQueue, match="no queue"):
        broker.get("%s-no-such-queue" % stack.prefix)
    broker.declare(stack.prefix)  # the client recovers from the closed channel
    assert broker.get(stack.queue("op")) is None


@pytest.mark.rabbitmq
def test_consuming_an_unknown_queue_is_an_error_not_a_loop(rabbit):
    from synnefo.messaging.client import NoSuchQueue
    stack, _ = rabbit
    broker = stack.broker()
    with pytest.raises(NoSuchQueue):
        broker.consume(["%s-no-such-queue" % stack.prefix], lambda d: d.ack(), idle_timeout=10)


@pytest.mark.rabbitmq
def test_rabbitmq_native_reject_goes_to_the_dead_letter_queue(rabbit):
    """The live queues carry x-dead-letter-exchange: a plain reject is not lost either."""
    stack, _ = rabbit
    broker = stack.broker()
    broker.declare(stack.prefix)
    broker.publish(sample(stack, "op", 9))
    delivery = broker.get(stack.queue("op"))
    delivery._message.reject(requeue=False)
    deadline = time.monotonic() + 10
    dead = None
    while dead is None and time.monotonic() < deadline:
        dead = broker.get(names.dead_letter(stack.queue("op")))
        time.sleep(0.05)
    assert dead is not None and messages.decode(dead.body)["jobId"] == 9
    assert dead.headers["x-death"][0]["queue"] == stack.queue("op")
    dead.ack()


def test_a_corrupt_message_file_is_set_aside(fs):
    broker = fs.broker()
    broker.declare(fs.prefix)
    data = os.path.join(fs.broker_dir, "data")
    with open(os.path.join(data, "00000000000000000001_1_1_x.%s.msg" % fs.queue("op")), "w") as f:
        f.write("{half a mess")
    broker.publish(sample(fs, "op", 4))
    delivery = broker.get(fs.queue("op"))
    assert messages.decode(delivery.body)["jobId"] == 4
    delivery.ack()
    assert broker.get(fs.queue("op")) is None
    claimed = os.listdir(os.path.join(fs.broker_dir, "claimed"))
    assert claimed == ["corrupt-00000000000000000001_1_1_x.%s.msg" % fs.queue("op")]
    fs.broker()  # recovering orphans leaves it aside
    assert os.listdir(data) == []
