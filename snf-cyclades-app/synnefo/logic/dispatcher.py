"""snf-dispatcher: apply the Ganeti side's messages to the database (spec 03 §5).

Consumes ``<prefix>-events-{op,network,net,progress}``. Each message is
decoded, applied by :mod:`synnefo.logic.callbacks` in one transaction and
acknowledged only after that transaction committed:

* applied, stale, duplicate, unknown / not-ours object -> ack;
* cannot be parsed or applied (malformed body or field, invalid status,
  negative progress, an integrity error, any unexpected exception) ->
  ``delivery.reject_to_dead_letter(reason)``: kept in ``<queue>-dl`` for
  ``snf-manage queue-retry``, never lost, never blocking the queue;
* a transient database error (connection lost, database locked) -> the
  connection is closed and the message retried with back-off until it
  succeeds or the dispatcher is stopped (then it is left unacknowledged and
  the broker redelivers it).

With ``DISPATCHER_BATCH_SIZE`` above 1 the dispatcher takes the messages
the broker has already handed over (up to that many, and up to half of
``DISPATCHER_PREFETCH``) at once: runs of
consecutive messages that lock no row but their server's
(:func:`synnefo.logic.callbacks.batchable`) are applied in one transaction
and each acknowledged after its commit; the others one by one as above. A
batch that fails for any reason is rolled back and its messages applied one
by one, so every outcome above holds per message.

A thread of each dispatcher refreshes the backends' resource statistics
(:mod:`synnefo.logic.backend_stats`), so that the allocator never asks Ganeti
while a create waits; another submits the create jobs an API process left
behind (:class:`synnefo.logic.create_submit.Sweeper`).

SIGTERM / SIGINT: finish the current message, then exit 0.
"""

import argparse
import logging
import os
import sys
import threading
import time

from synnefo.util.service import run_service, setup_logging
from synnefo.util.version import add_version_option

log = logging.getLogger("snf-dispatcher")

PROG = "snf-dispatcher"
DEFAULT_PID_FILE = "/var/run/synnefo/dispatcher.pid"
DEFAULT_LOG_FILE = "/var/log/synnefo/dispatcher.log"
LOG_FORMAT = "%(asctime)s %(name)s[%(process)d] %(levelname)s: %(message)s"
QUEUE_KINDS = ("op", "network", "net", "progress")
TRANSIENT_HINTS = ("locked", "connection", "server closed", "terminat", "timeout", "timed out",
                   "could not connect", "deadlock", "could not serialize", "shutdown", "busy")


# --- messages (synnefo.messaging contract, with a fallback while it is written) ---

class _FallbackMalformed(ValueError):
    pass


def _messages():
    try:
        from synnefo.messaging import messages
        return messages
    except ImportError:  # pragma: no cover - the package is being written
        return None


def malformed_errors():
    from synnefo.logic.state import InvalidMessage
    messages = _messages()
    extra = (messages.MalformedMessage,) if messages is not None else (_FallbackMalformed,)
    return (InvalidMessage,) + extra


def decode(body):
    messages = _messages()
    if messages is not None:
        return messages.decode(body)
    import json
    try:
        value = json.loads(body.decode("utf-8") if isinstance(body, bytes) else body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _FallbackMalformed("body is not JSON: %s" % exc)
    if not isinstance(value, dict):
        raise _FallbackMalformed("body is not a JSON object")
    return value


def queue_names(prefix_id):
    """The four queues of ``BACKEND_PREFIX_ID`` (``snf-`` -> ``snf-events-op`` ...)."""
    try:
        from synnefo.messaging import names
        prefix = names.prefix_of(prefix_id)
        return [names.queue_name(prefix, kind) for kind in names.QUEUE_KINDS]
    except ImportError:  # pragma: no cover
        prefix = prefix_id.split("-", 1)[0]
        return ["%s-events-%s" % (prefix, kind) for kind in QUEUE_KINDS]


def backend_prefix(prefix_id):
    try:
        from synnefo.messaging import names
        return names.prefix_of(prefix_id)
    except ImportError:  # pragma: no cover
        return prefix_id.split("-", 1)[0]


# --- database errors ---------------------------------------------------------

def is_transient(exc):
    """Is this database error worth retrying (the database went away or is busy)?"""
    from django.db import InterfaceError, OperationalError, connection
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    text = str(exc).lower()
    if any(hint in text for hint in TRANSIENT_HINTS):
        return True
    try:
        return not connection.is_usable()
    except Exception:
        return True


def close_connections():
    from django.db import connections
    for conn in connections.all(initialized_only=True):
        if conn.in_atomic_block:  # never under a caller's transaction (tests)
            continue
        try:
            conn.close()
        except Exception as exc:  # a broken connection may fail to close
            log.debug("closing DB connection: %s", exc)


class Dispatcher:
    """The decode -> apply -> ack loop, without process concerns."""

    def __init__(self, broker, prefix_id, stop_event=None, prefetch=5, idle_timeout=600,
                 max_retry_delay=5.0, batch_size=1):
        self.broker = broker
        self.prefix_id = prefix_id
        self.queues = queue_names(prefix_id)
        self.stop_event = stop_event or threading.Event()
        self.prefetch = prefetch
        self.idle_timeout = idle_timeout
        self.max_retry_delay = max_retry_delay
        self.batch_size = batch_size
        self.counts = {"acked": 0, "dead": 0, "left": 0}
        self.reuse_connection_for = 1.0  # seconds
        self._last_message = float("-inf")

    def declare(self):
        self.broker.declare(backend_prefix(self.prefix_id))

    def _dead_letter(self, delivery, reason):
        log.error("Dead-lettering message from %s: %s", getattr(delivery, "queue", "?"), reason)
        delivery.reject_to_dead_letter(reason[:1000])
        self.counts["dead"] += 1

    def _close_if_idle(self):
        # After an idle pause, drop the DB connection (it may have been broken
        # meanwhile, e.g. a database restart); back to back, keep it: a new
        # connection per message costs more than the message (see
        # benchmarks/dispatcher_throughput.py). An error mid-message closes
        # it anyway (transient-error path below).
        now = time.monotonic()
        if now - self._last_message > self.reuse_connection_for:
            close_connections()
        self._last_message = now

    def _decode(self, delivery):
        """The decoded message, or ``None`` once a malformed one is dead-lettered."""
        try:
            return decode(delivery.body)
        except malformed_errors() as exc:
            self._dead_letter(delivery, "malformed message: %s" % exc)
            return None

    def handle_delivery(self, delivery):
        """Apply one delivery; returns ``ack``, ``dead`` or ``left`` (unacked, stopping)."""
        self._close_if_idle()
        message = self._decode(delivery)
        if message is None:
            return "dead"
        return self._apply(delivery, message)

    def handle_deliveries(self, deliveries):
        """Apply the deliveries the broker handed over together, in their order.

        Runs of batchable messages share a transaction (:meth:`_apply_batch`),
        the others are applied one by one. Returns the outcome of each
        (``ack``, ``dead``, ``left``; after a ``left`` the rest are left too)."""
        from synnefo.logic import callbacks
        self._close_if_idle()
        outcomes = []
        run = []

        def stopping():
            return bool(outcomes) and outcomes[-1] == "left"

        def flush():
            if run:
                outcomes.extend(self._apply_batch(list(run)))
                run.clear()
        for delivery in deliveries:
            message = self._decode(delivery)
            if message is not None and callbacks.batchable(message):
                run.append((delivery, message))
                continue
            flush()
            if stopping():
                break
            outcomes.append("dead" if message is None else self._apply(delivery, message))
            if stopping():
                break
        else:
            flush()
        left = len(deliveries) - len(outcomes)
        if left:
            self.counts["left"] += left
            outcomes.extend(["left"] * left)
        return outcomes

    def _apply_batch(self, items):
        """One transaction for several batchable messages, then an ack each;
        on any error, roll back and apply them one by one."""
        if len(items) == 1:
            return [self._apply(*items[0])]
        from django.db import transaction
        from synnefo.logic import callbacks
        try:
            with transaction.atomic():
                batch = callbacks.Batch([message for _, message in items])
                results = [callbacks.handle(message, batch) for _, message in items]
                batch.write()
        except Exception as exc:  # whatever it was, each message meets it alone
            log.info("A batch of %d messages failed (%s: %s); applying them one by one",
                     len(items), type(exc).__name__, exc)
            outcomes = []
            for delivery, message in items:
                if outcomes and outcomes[-1] == "left":
                    break
                outcomes.append(self._apply(delivery, message))
            return outcomes
        for (delivery, message), result in zip(items, results, strict=True):
            delivery.ack()
            self.counts["acked"] += 1
            self._log_applied(message, result)
        self._last_message = time.monotonic()
        return ["ack"] * len(items)

    def _log_applied(self, message, outcome):
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s of %s: %s", message.get("type"), message.get("status", ""),
                      message.get("instance") or message.get("network"), outcome)

    def _apply(self, delivery, message):
        """Apply one decoded message in its own transaction, retrying transient errors."""
        from django.db import DatabaseError
        from synnefo.logic import callbacks
        bad = malformed_errors()
        delay = 0.1
        while True:
            try:
                outcome = callbacks.handle(message)
            except bad as exc:
                self._dead_letter(delivery, "cannot apply %s: %s" % (message.get("type"), exc))
                return "dead"
            except DatabaseError as exc:
                if not is_transient(exc):
                    log.exception("Database error applying %s", message.get("type"))
                    self._dead_letter(delivery, "database error: %s" % exc)
                    return "dead"
                log.warning("Transient database error (%s); retrying in %.1fs", exc, delay)
                close_connections()
                if self.stop_event.wait(delay):
                    log.info("Stopping: message left unacknowledged for redelivery")
                    self.counts["left"] += 1
                    return "left"
                delay = min(delay * 2, self.max_retry_delay)
                continue
            except Exception as exc:
                log.exception("Unexpected error applying %s", message.get("type"))
                self._dead_letter(delivery, "%s: %s" % (type(exc).__name__, exc))
                return "dead"
            break
        delivery.ack()
        self.counts["acked"] += 1
        self._log_applied(message, outcome)
        self._last_message = time.monotonic()
        return "ack"

    def run(self):
        """Consume until the stop event is set."""
        log.info("Consuming %s", ", ".join(self.queues))
        # A batch takes at most half of the prefetch window, so that the broker
        # sends the next messages while a batch is applied (it sends more only
        # as messages are acknowledged).
        batch = min(self.batch_size, self.prefetch // 2)
        if batch > 1:
            handler, extra = self.handle_deliveries, {"batch": batch}
        else:
            handler, extra = self.handle_delivery, {}
        while not self.stop_event.is_set():
            started = time.monotonic()
            self.broker.consume(self.queues, handler, prefetch=self.prefetch,
                                stop_event=self.stop_event, idle_timeout=self.idle_timeout,
                                **extra)
            if self.stop_event.is_set():
                break
            if self.idle_timeout and time.monotonic() - started >= self.idle_timeout * 0.9:
                log.warning("No message for %d s: verify that snf-ganeti-eventd is running",
                            self.idle_timeout)
            else:
                self.stop_event.wait(1)  # consume returned early: do not spin
        close_connections()


# --- process ------------------------------------------------------------------------

def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog=PROG, description="Apply Ganeti's job, network, NIC and progress messages to the "
                               "Cyclades database.")
    parser.add_argument("-f", "--foreground", action="store_true",
                        help="do not detach; log to stderr unless --log-file is given")
    parser.add_argument("-p", "--pid-file", default=None,
                        help=f"pid file (default {DEFAULT_PID_FILE} when detached)")
    parser.add_argument("-l", "--log-file", dest="log_file", default=None,
                        help=f"log file (default {DEFAULT_LOG_FILE} when detached)")
    parser.add_argument("-d", "--debug", action="store_true", help="debug logging")
    parser.add_argument("--purge-queues", action="store_true",
                        help="delete every message of the four queues (asks first unless --yes) "
                             "and exit")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    add_version_option(parser, PROG, "snf-cyclades-app")
    return parser.parse_args(argv)


def load_django():
    """Set up Django on the Synnefo settings; a settings error exits 1 in one line."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "synnefo.settings")
    from synnefo.util.startup import load_settings_or_exit, refuse_unsafe_start
    load_settings_or_exit(PROG, require_dir=True)
    import django
    django.setup()
    refuse_unsafe_start(PROG)
    from django.conf import settings
    return settings


def make_broker(settings):
    from synnefo.messaging.client import Broker
    return Broker.from_settings(settings)


def purge(settings, yes=False):
    queues = queue_names(settings.BACKEND_PREFIX_ID)
    if not yes:
        answer = input("Delete every message of %s? [y/N] " % ", ".join(queues))
        if answer.strip().lower() not in ("y", "yes"):
            print("Nothing purged.")
            return 1
    broker = make_broker(settings)
    try:
        for queue in queues:
            broker.purge(queue)
            print("Purged %s" % queue)
    finally:
        broker.close()
    return 0


def start_stats_refresher(settings, stop_event):
    """The backend statistics refresh thread (off the message path: a slow
    cluster delays only the next refresh), unless the interval is 0."""
    if not settings.BACKEND_STATS_REFRESH_INTERVAL:
        return None
    from synnefo.logic.backend_stats import StatsRefresher
    refresher = StatsRefresher(stop_event)
    refresher.start()
    return refresher


def start_create_sweeper(settings, stop_event):
    """The thread that submits the create jobs an API process left behind
    (:mod:`synnefo.logic.create_submit`), unless the interval is 0."""
    if not settings.CREATE_SUBMIT_SWEEP_INTERVAL:
        return None
    from synnefo.logic.create_submit import Sweeper
    sweeper = Sweeper(stop_event)
    sweeper.start()
    return sweeper


def _run(settings, stop_event):
    try:
        broker = make_broker(settings)
    except Exception as exc:
        log.error("cannot set up the broker client: %s", exc)
        return 1
    dispatcher = Dispatcher(broker, settings.BACKEND_PREFIX_ID, stop_event,
                            prefetch=settings.DISPATCHER_PREFETCH,
                            idle_timeout=settings.DISPATCHER_IDLE_TIMEOUT,
                            max_retry_delay=settings.DISPATCHER_DB_RETRY_MAX_DELAY,
                            batch_size=settings.DISPATCHER_BATCH_SIZE)
    log.info("%s starting (pid %d)", PROG, os.getpid())
    refresher = start_stats_refresher(settings, stop_event)
    sweeper = start_create_sweeper(settings, stop_event)
    try:
        dispatcher.declare()
        dispatcher.run()
    except Exception:
        log.exception("%s failed", PROG)
        return 1
    finally:
        for thread in (refresher, sweeper):
            if thread is not None:
                stop_event.set()
                thread.join(5)
        try:
            broker.close()
        except Exception as exc:
            log.debug("broker close: %s", exc)
    log.info("%s stopped: %d acked, %d dead-lettered", PROG, dispatcher.counts["acked"],
             dispatcher.counts["dead"])
    return 0


def main(argv=None):
    args = parse_args(argv)
    for attr in ("pid_file", "log_file"):
        if getattr(args, attr):
            setattr(args, attr, os.path.abspath(getattr(args, attr)))
    settings = load_django()
    if args.purge_queues:
        setup_logging(args.debug, None)
        return purge(settings, args.yes)
    return run_service(PROG, lambda stop_event: _run(settings, stop_event),
                       foreground=args.foreground, debug=args.debug, pid_file=args.pid_file,
                       log_file=args.log_file, default_pid_file=DEFAULT_PID_FILE,
                       default_log_file=DEFAULT_LOG_FILE,
                       before_detach=close_connections)  # never share a DB socket across the fork


if __name__ == "__main__":
    sys.exit(main())
