"""snf-manage queue-retry: replay dead-lettered messages to their original queue."""

import json
import logging

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from synnefo.logic import dispatcher
from synnefo.logic.utils import one_line_errors

log = logging.getLogger(__name__)

FROM_DEAD_LETTER = "from-dead-letter"


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


class Command(BaseCommand):
    help = ("Drain the dead-letter queue of every dispatcher queue (<queue>-dl) and publish each "
            "message again to the exchange and routing key it was first sent with, marked with "
            "header from-dead-letter. Messages that are not JSON or do not say where they came "
            "from are dropped; a message that was already retried once (a 'zombie') is dropped "
            "unless --keep-zombies.")

    def create_parser(self, *args, **kwargs):
        return one_line_errors(super().create_parser(*args, **kwargs))

    def add_arguments(self, parser):
        parser.add_argument("--keep-zombies", action="store_true",
                            help="retry messages that already came from a dead-letter queue")

    def handle(self, *args, **options):
        if options["verbosity"] >= 2:
            logging.getLogger("synnefo").setLevel(logging.DEBUG)
        try:
            broker = dispatcher.make_broker(settings)
        except Exception as exc:
            raise CommandError("Cannot reach the broker: %s" % exc)
        retried = dropped = 0
        try:
            for queue in dispatcher.queue_names(settings.BACKEND_PREFIX_ID):
                dead_queue = queue + "-dl"
                while True:
                    delivery = broker.get(dead_queue)
                    if delivery is None:
                        break
                    headers = dict(delivery.headers or {})
                    reason = self._drop_reason(delivery, headers, options["keep_zombies"])
                    if reason:
                        self.stdout.write("Dropping message of %s: %s\n" % (dead_queue, reason))
                        delivery.ack()
                        dropped += 1
                        continue
                    exchange, key = original_route(headers)
                    message = json.loads(delivery.body.decode("utf-8"))
                    broker.publish(message, routing_key=key, headers={FROM_DEAD_LETTER: True},
                                   exchange=exchange)
                    delivery.ack()  # only once the broker confirmed the new copy
                    retried += 1
                    log.debug("Retried %s -> %s", dead_queue, key)
        finally:
            broker.close()
        self.stdout.write("%d message(s) retried, %d dropped\n" % (retried, dropped))

    @staticmethod
    def _drop_reason(delivery, headers, keep_zombies):
        try:
            message = json.loads(delivery.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return "body is not JSON"
        if not isinstance(message, dict):
            return "body is not a JSON object"
        if headers.get(FROM_DEAD_LETTER) and not keep_zombies:
            return "already retried once (use --keep-zombies to retry it again)"
        if original_route(headers) is None:
            return "no original routing key"
        return None
