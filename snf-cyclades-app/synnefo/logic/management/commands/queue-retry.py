"""snf-manage queue-retry: replay dead-lettered messages to their original queue."""

import json
import logging

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from synnefo.logic import dispatcher
from synnefo.logic.utils import one_line_errors
from synnefo.messaging import names
from synnefo.messaging.client import BrokerUnavailable, NoSuchQueue

log = logging.getLogger(__name__)

FROM_DEAD_LETTER = "from-dead-letter"
RETRY_COUNT = "x-retry-count"
KEEP_REASON = "x-retry-skipped"


def original_route(headers):
    """``(exchange or None, routing key)`` a dead letter came from, or ``None``.

    Dead letters written by the dispatcher carry ``x-original-routing-key``
    (exchange: the Ganeti exchange); RabbitMQ's own dead-lettering writes
    ``x-death`` (a list of dicts with ``exchange`` and ``routing-keys``)."""
    key = headers.get("x-original-routing-key")
    if key:
        return headers.get("x-original-exchange"), key
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict):
        keys = deaths[0].get("routing-keys") or []
        if keys:
            return deaths[0].get("exchange") or None, keys[0]
    return None


def retry_count(headers):
    """How many times queue-retry already replayed this message (0: never).

    Messages replayed before the count existed carry only ``from-dead-letter``."""
    try:
        count = int(headers.get(RETRY_COUNT) or 0)
    except (TypeError, ValueError):
        count = 0
    if count <= 0 and headers.get(FROM_DEAD_LETTER):
        count = 1
    return max(count, 0)


class Command(BaseCommand):
    help = ("Replay the dead letters of every dispatcher queue (<queue>-dl): each message present "
            "when the command starts is published again to the exchange and routing key it was "
            "first sent with, with headers from-dead-letter and x-retry-count (how many times it "
            "was replayed); the dead copy is acknowledged only after the broker confirmed the new "
            "one. A message that failed again after a replay (x-retry-count >= 1), a body that is "
            "not a JSON object and a message that does not say where it came from are never "
            "dropped: they go back to the end of their dead-letter queue with the reason in "
            "header x-retry-skipped (delete them with queue-inspect -i). One run handles the "
            "messages present when it starts; those that arrive while it runs wait for the next.")

    def create_parser(self, *args, **kwargs):
        return one_line_errors(super().create_parser(*args, **kwargs))

    def add_arguments(self, parser):
        parser.add_argument("--keep-zombies", action="store_true",
                            help="replay also messages that failed again after a replay")

    def handle(self, *args, **options):
        if options["verbosity"] >= 2:
            logging.getLogger("synnefo").setLevel(logging.DEBUG)
        try:
            broker = dispatcher.make_broker(settings)
        except Exception as exc:
            raise CommandError("Cannot reach the broker: %s" % exc)
        self.counts = {"retried": 0, "kept": 0}
        prefix = dispatcher.backend_prefix(settings.BACKEND_PREFIX_ID)
        try:
            # Only the messages present now: those put back below, and new dead
            # letters, are behind them in their queue and wait for the next run.
            present = {kind: self._count(broker, prefix, kind) for kind in names.QUEUE_KINDS}
            for kind in names.QUEUE_KINDS:
                self._replay_queue(broker, prefix, kind, present[kind], options["keep_zombies"])
        except BrokerUnavailable as exc:
            raise CommandError("Broker error (the message being handled stays in its "
                               "dead-letter queue): %s" % exc)
        finally:
            broker.close()
        self.stdout.write("%d message(s) retried, %d left in the dead-letter queues\n"
                          % (self.counts["retried"], self.counts["kept"]))

    @staticmethod
    def _count(broker, prefix, kind):
        try:
            return broker.message_count(names.dead_letter(names.queue_name(prefix, kind)))
        except NoSuchQueue:
            return 0

    def _replay_queue(self, broker, prefix, kind, present, keep_zombies):
        dead_queue = names.dead_letter(names.queue_name(prefix, kind))
        for _ in range(present):
            delivery = broker.get(dead_queue)
            if delivery is None:
                break
            headers = dict(delivery.headers or {})
            reason = self._keep_reason(delivery, headers, keep_zombies)
            if reason:
                headers[KEEP_REASON] = reason
                broker.publish(delivery.body, routing_key=names.routing_key(prefix, kind),
                               headers=headers, exchange=names.dead_letter(broker.exchange))
                delivery.ack()  # only once the broker has the copy at the queue's end
                self.counts["kept"] += 1
                self.stdout.write("Left in %s: %s\n" % (dead_queue, reason))
                continue
            exchange, key = original_route(headers)
            count = retry_count(headers) + 1
            broker.publish(delivery.body, routing_key=key, exchange=exchange,
                           headers={FROM_DEAD_LETTER: True, RETRY_COUNT: count})
            delivery.ack()  # only once the broker confirmed the new copy
            self.counts["retried"] += 1
            log.debug("Retried %s -> %s (replay %d)", dead_queue, key, count)

    @staticmethod
    def _keep_reason(delivery, headers, keep_zombies):
        try:
            message = json.loads(delivery.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return "body is not JSON"
        if not isinstance(message, dict):
            return "body is not a JSON object"
        if original_route(headers) is None:
            return "no original routing key"
        count = retry_count(headers)
        if count and not keep_zombies:
            return ("failed again after %d replay(s) (fix the cause, then use --keep-zombies)"
                    % count)
        return None
