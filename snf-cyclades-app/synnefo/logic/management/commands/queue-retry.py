"""snf-manage queue-retry: replay dead-lettered messages to their original queue."""

import logging

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from synnefo.logic import dispatcher, queues
from synnefo.logic.utils import one_line_errors
from synnefo.messaging.client import BrokerUnavailable


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
        try:
            retried, kept = queues.retry_dead_letters(
                broker, settings.BACKEND_PREFIX_ID, options["keep_zombies"],
                report=lambda text: self.stdout.write(text + "\n"))
        except BrokerUnavailable as exc:
            raise CommandError("Broker error (the message being handled stays in its "
                               "dead-letter queue): %s" % exc)
        finally:
            broker.close()
        self.stdout.write("%d message(s) retried, %d left in the dead-letter queues\n" % (retried, kept))
