"""``Broker``: the one client of the message broker (kombu 5).

Hosts are ``amqp://user:password@host:port/vhost`` URLs (tried in turn:
fail-over) or the single ``filesystem://`` URL of the embedded broker (see
:mod:`synnefo.messaging.filesystem`). A ``Broker`` is not thread-safe: use one
per thread.
"""

import logging
import os
import threading
import time

import amqp.exceptions
import kombu
import kombu.exceptions
from synnefo.messaging import files, filesystem, messages, names
from synnefo.messaging.errors import (  # noqa: F401 (raised here, importable from here)
    BrokerUnavailable,
    ConnectionLost,
    Interrupted,
    NoSuchQueue,
)

log = logging.getLogger(__name__)

RETRY_FOREVER = None
FIRST_DELAY = 0.1
MAX_DELAY = 5.0
POLL_SECONDS = 1.0
CONFIRM_TIMEOUT = 30.0    # seconds to wait for a publisher confirm before trying again
CONSUMER_HEARTBEAT = 30   # seconds; finds a dead connection while waiting for messages
AMQP_SCHEMES = ("amqp", "pyamqp")
FILESYSTEM_URL = "filesystem://"

# What a broken, refused, timed-out or refusing broker raises (py-amqp and
# kombu's transports); all of them mean "close, fail over, try again".
BROKER_ERRORS = (OSError, kombu.exceptions.OperationalError, kombu.exceptions.ChannelError,
                 amqp.exceptions.AMQPError, amqp.exceptions.MessageNacked)


def _is_not_found(exc):
    return getattr(exc, "code", None) == 404 or getattr(exc, "reply_code", None) == 404


class _HandlerFailed(Exception):
    """Wraps an exception of the consume handler (re-raised as the original)."""


def _check_hosts(hosts):
    if isinstance(hosts, str):
        hosts = [hosts]
    hosts = list(hosts or [])
    if not hosts:
        raise ValueError("AMQP_HOSTS is empty")
    for host in hosts:
        scheme = host.split("://", 1)[0] if isinstance(host, str) and "://" in host else None
        if scheme not in AMQP_SCHEMES + ("filesystem",):
            raise ValueError("broker URL %r is neither amqp://... nor filesystem://" % (host,))
    if any(h.startswith("filesystem") for h in hosts) and len(hosts) > 1:
        raise ValueError("filesystem:// cannot be combined with other broker URLs")
    return hosts


def _body_of(message):
    if isinstance(message, (bytes, bytearray)):
        return bytes(message)
    return messages.body_of(message)


class Delivery:
    """One received message; settle it with :meth:`ack` or :meth:`reject_to_dead_letter`."""

    def __init__(self, broker, message, queue, connection_errors, stop_event=None):
        self._broker = broker
        self._message = message
        self._errors = connection_errors
        self._stop_event = stop_event
        self.queue = queue
        self.body = bytes(message.body) if not isinstance(message.body, str) \
            else message.body.encode("utf-8")
        self.headers = dict(message.headers or {})
        info = message.delivery_info or {}
        self.exchange = info.get("exchange") or ""
        self.routing_key = info.get("routing_key") or ""
        self.redelivered = bool(info.get("redelivered"))
        self.settled = False

    def ack(self):
        if self.settled:
            return
        try:
            self._message.ack()
        except self._errors as exc:
            raise ConnectionLost("cannot acknowledge: %s" % exc) from exc
        self.settled = True

    def reject_to_dead_letter(self, reason):
        """Publish the body to the ``-dl`` exchange with the reason in headers, then ack."""
        exchange = self.exchange or self._broker.exchange
        headers = dict(self.headers)
        headers.update({"x-death-reason": str(reason), "x-original-queue": self.queue,
                        "x-original-routing-key": self.routing_key,
                        "x-original-exchange": exchange})
        self._broker.publish(self.body, routing_key=self.routing_key, headers=headers,
                             exchange=names.dead_letter(exchange), retry=RETRY_FOREVER,
                             stop_event=self._stop_event)
        self.ack()


class Broker:
    def __init__(self, hosts, exchange="ganeti", filesystem_dir=None, connect_timeout=5):
        self.hosts = _check_hosts(hosts)
        if not isinstance(exchange, str) or not exchange:
            raise ValueError("the exchange name must be a non-empty string")
        self.exchange = exchange
        self.connect_timeout = connect_timeout
        self.embedded = self.hosts[0].startswith("filesystem")
        self._folders = None
        if self.embedded:
            if not filesystem_dir:
                raise ValueError("filesystem:// needs AMQP_FILESYSTEM_DIR")
            self._folders = files.folders(filesystem_dir)
            for folder in self._folders.values():
                os.makedirs(folder, exist_ok=True)
            files.recover_orphans(self._folders["data"], self._folders["claimed"])
        self._next_host = 0
        self._publisher = None      # (connection, channel, declared exchanges)
        self._getter = None         # (connection, channel)

    @classmethod
    def from_settings(cls, settings):
        return cls(settings.AMQP_HOSTS, exchange=getattr(settings, "EXCHANGE_GANETI", "ganeti"),
                   filesystem_dir=getattr(settings, "AMQP_FILESYSTEM_DIR", None),
                   connect_timeout=getattr(settings, "AMQP_CONNECT_TIMEOUT", 5))

    # --- connections ------------------------------------------------------------------

    def _connection_for(self, url, heartbeat=0):
        if self.embedded:
            return kombu.Connection(
                FILESYSTEM_URL, transport=filesystem.Transport,
                transport_options={"data_folder_in": self._folders["data"],
                                   "data_folder_out": self._folders["data"],
                                   "control_folder": self._folders["control"],
                                   "claim_folder": self._folders["claimed"],
                                   "polling_interval": 0.05})
        return kombu.Connection(url, connect_timeout=self.connect_timeout, heartbeat=heartbeat,
                                transport_options={"confirm_publish": True})

    def _connect(self, heartbeat=0):
        """Connect to the next host (one attempt); returns the kombu connection."""
        url = self.hosts[self._next_host % len(self.hosts)]
        self._next_host += 1
        conn = self._connection_for(url, heartbeat)
        try:
            conn.ensure_connection(max_retries=0)  # one try: the fail-over and back-off are ours
        except BaseException:
            self._quietly_close(conn)
            raise
        return conn

    @staticmethod
    def _quietly_close(conn):
        try:
            conn.release()
        except Exception:  # a broken connection may fail to close; it is gone anyway
            pass

    def _attempts(self, retry, what, action, stop_event=None):
        """Run ``action()`` until it works; fail over and back off on broker errors."""
        delay = FIRST_DELAY
        attempt = 0
        while True:
            attempt += 1
            try:
                return action()
            except BROKER_ERRORS as exc:
                self._drop_connections()
                if _is_not_found(exc):
                    raise NoSuchQueue("%s: %s" % (what, exc)) from exc
                if retry is not RETRY_FOREVER and attempt >= retry:
                    raise BrokerUnavailable("%s failed after %d attempt(s): %s"
                                            % (what, attempt, exc)) from exc
                log.warning("%s failed (%s); attempt %d", what, exc, attempt)
                if self._next_host % len(self.hosts) == 0:
                    waiter = stop_event or threading.Event()
                    if waiter.wait(delay):
                        raise Interrupted("%s interrupted by stop request" % what) from exc
                    delay = min(delay * 2, MAX_DELAY)

    def _drop_connections(self):
        for slot in ("_publisher", "_getter"):
            held = getattr(self, slot)
            if held is not None:
                self._quietly_close(held[0])
                setattr(self, slot, None)

    def _publisher_channel(self):
        if self._publisher is None:
            conn = self._connect()
            self._publisher = (conn, conn.channel(), set())
        return self._publisher

    def _getter_channel(self):
        if self._getter is None:
            conn = self._connect()
            self._getter = (conn, conn.channel())
        return self._getter

    def _exchange(self, name, channel):
        return kombu.Exchange(name, type="topic", durable=True, auto_delete=False,
                              channel=channel)

    def _ensure_exchange(self, name):
        _, channel, declared = self._publisher_channel()
        exchange = self._exchange(name, channel)
        if name not in declared:
            exchange.declare()
            declared.add(name)
        return exchange

    # --- topology ---------------------------------------------------------------------

    def _queues(self, prefix, channel):
        exchange = self._exchange(self.exchange, channel)
        dead_exchange = self._exchange(names.dead_letter(self.exchange), channel)
        for kind in names.QUEUE_KINDS:
            key = names.routing_key(prefix, kind)
            name = names.queue_name(prefix, kind)
            yield kombu.Queue(name, exchange, routing_key=key, durable=True, auto_delete=False,
                              queue_arguments={"x-dead-letter-exchange": dead_exchange.name},
                              channel=channel)
            yield kombu.Queue(names.dead_letter(name), dead_exchange, routing_key=key,
                              durable=True, auto_delete=False, channel=channel)

    def declare(self, prefix, retry=None):
        """Declare both exchanges, the four queues and their ``-dl`` queues (idempotent).

        ``retry`` defaults to one attempt per host."""
        names.prefix_of(prefix + "-")  # validates

        def action():
            self._ensure_exchange(self.exchange)
            self._ensure_exchange(names.dead_letter(self.exchange))
            _, channel, _ = self._publisher_channel()
            for queue in self._queues(prefix, channel):
                queue.declare()
        self._attempts(retry or len(self.hosts), "declare", action)

    def delete(self, prefix, exchanges=True, retry=None):
        """Delete the queues of ``prefix`` (and the exchanges): for tests and uninstall."""
        def action():
            _, channel, declared = self._publisher_channel()
            for queue in self._queues(prefix, channel):
                queue.delete()
            if exchanges:
                for name in (self.exchange, names.dead_letter(self.exchange)):
                    self._exchange(name, channel).delete()
                    declared.discard(name)
        self._attempts(retry or len(self.hosts), "delete", action)

    # --- publish ----------------------------------------------------------------------

    def publish(self, message, routing_key=None, headers=None, exchange=None,
                retry=RETRY_FOREVER, stop_event=None):
        """Publish persistently; returns once the broker has the message.

        ``message`` is a message ``dict`` (or an already encoded body, which
        then needs ``routing_key``)."""
        if routing_key is None:
            if not isinstance(message, dict):
                raise ValueError("a routing key is needed to publish an encoded body")
            routing_key = messages.routing_key_of(message)
        if retry is not RETRY_FOREVER and (not isinstance(retry, int) or retry < 1):
            raise ValueError("retry must be a positive number of attempts or RETRY_FOREVER")
        body = _body_of(message)
        target = exchange or self.exchange

        def action():
            kombu_exchange = self._ensure_exchange(target)
            _, channel, _ = self._publisher_channel()
            producer = kombu.Producer(channel)
            timeouts = {} if self.embedded else {"timeout": CONFIRM_TIMEOUT,
                                                 "confirm_timeout": CONFIRM_TIMEOUT}
            producer.publish(body, exchange=kombu_exchange, routing_key=routing_key,
                             headers=dict(headers or {}), delivery_mode=2, retry=False,
                             content_type="application/json", content_encoding="utf-8",
                             **timeouts)
        self._attempts(retry, "publish to %s/%s" % (target, routing_key), action, stop_event)

    # --- get / purge ------------------------------------------------------------------

    def get(self, queue, retry=None):
        """One delivery from ``queue`` (unacknowledged until you settle it) or ``None``.

        Deliveries left unsettled return to their queue on :meth:`close`."""
        def action():
            _, channel = self._getter_channel()
            message = kombu.Queue(queue, channel=channel, no_declare=True).get(no_ack=False)
            if message is None:
                return None
            return Delivery(self, message, queue, BROKER_ERRORS)
        return self._attempts(retry or len(self.hosts), "get from %s" % queue, action)

    def message_count(self, queue, retry=None):
        """How many messages ``queue`` holds ready for delivery (a passive declare)."""
        def action():
            _, channel = self._getter_channel()
            return channel.queue_declare(queue=queue, passive=True).message_count
        return self._attempts(retry or len(self.hosts), "count %s" % queue, action)

    def purge(self, queue, retry=None):
        """Delete every ready message of ``queue``; returns how many."""
        def action():
            _, channel = self._getter_channel()
            return kombu.Queue(queue, channel=channel, no_declare=True).purge() or 0
        return self._attempts(retry or len(self.hosts), "purge %s" % queue, action)

    def close(self):
        """Close the connections; unsettled deliveries of :meth:`get` return to their queue."""
        self._drop_connections()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- consume ----------------------------------------------------------------------

    def consume(self, queues, handler, prefetch=5, stop_event=None, idle_timeout=None,
                batch=None):
        """Call ``handler(delivery)`` for each message of ``queues``.

        The handler settles each delivery (ack or dead-letter); what it leaves
        unsettled is redelivered later. Returns when ``stop_event`` is set or
        after ``idle_timeout`` seconds without a message; reconnects (with
        fail-over and back-off) when the broker goes away. An exception of the
        handler closes the connection (its delivery returns to the queue) and
        propagates.

        ``batch`` (a number): call ``handler(deliveries)`` with a list instead,
        of the messages already received, at most ``batch`` (and at most the
        ``prefetch`` of each queue); it never waits for a message to fill a
        list."""
        if isinstance(queues, str):
            queues = [queues]
        if not queues:
            raise ValueError("nothing to consume: no queue given")
        if batch is not None and (not isinstance(batch, int) or batch < 1):
            raise ValueError("batch must be a positive number of messages")
        stop_event = stop_event or threading.Event()
        state = {"last": time.monotonic()}
        delay = FIRST_DELAY
        while not stop_event.is_set():
            if idle_timeout and time.monotonic() - state["last"] >= idle_timeout:
                return
            try:
                conn = self._connect(heartbeat=0 if self.embedded else CONSUMER_HEARTBEAT)
            except BROKER_ERRORS as exc:
                log.warning("cannot connect to the broker (%s); retrying in %.1fs", exc, delay)
                if stop_event.wait(delay):
                    return
                delay = min(delay * 2, MAX_DELAY)
                continue
            session_start = state["last"]
            try:
                self._consume_on(conn, queues, handler, prefetch, stop_event, idle_timeout,
                                 state, batch)
                return
            except _HandlerFailed as failed:
                raise failed.__cause__
            except (BrokerUnavailable,) + BROKER_ERRORS as exc:
                if isinstance(exc, Interrupted) or stop_event.is_set():
                    return
                if _is_not_found(exc):
                    raise NoSuchQueue("consume %s: %s" % (", ".join(queues), exc)) from exc
                if state["last"] != session_start:
                    delay = FIRST_DELAY  # that connection worked for a while
                log.warning("lost the broker while consuming (%s); reconnecting in %.1fs",
                            exc, delay)
            finally:
                self._quietly_close(conn)
            if stop_event.wait(delay):
                return
            delay = min(delay * 2, MAX_DELAY)

    def _consume_on(self, conn, queues, handler, prefetch, stop_event, idle_timeout, state,
                    batch=None):
        channel = conn.channel()
        errors = BROKER_ERRORS
        received = []

        def call(handler_argument):
            try:
                handler(handler_argument)
            except BrokerUnavailable:
                raise
            except Exception as exc:
                raise _HandlerFailed() from exc
            state["last"] = time.monotonic()

        def on_message_of(queue):
            def on_message(message):
                delivery = Delivery(self, message, queue, errors, stop_event)
                if batch:
                    received.append(delivery)
                else:
                    call(delivery)
            return on_message

        consumers = [kombu.Consumer(channel, queues=[kombu.Queue(q, no_declare=True)],
                                    on_message=on_message_of(q), no_ack=False,
                                    prefetch_count=prefetch) for q in queues]
        for consumer in consumers:
            consumer.consume()
        while not stop_event.is_set():
            if idle_timeout and time.monotonic() - state["last"] >= idle_timeout:
                return
            # Wait for a message only when none is in hand: py-amqp hands over
            # the deliveries that arrive while it waits for a reply (those of
            # the first queue while the next ones are consumed, at start), and
            # once the prefetch window is full no more arrive, so waiting for
            # one would sit out POLL_SECONDS with a full list in hand.
            try:
                conn.drain_events(timeout=0 if received else POLL_SECONDS)
            except TimeoutError:
                pass
            if received:
                # what else has already arrived, without waiting
                while len(received) < batch:
                    try:
                        conn.drain_events(timeout=0)
                    except TimeoutError:
                        break
                deliveries = received[:batch]
                del received[:batch]
                call(deliveries)
            if conn.heartbeat:
                conn.heartbeat_check()
