"""snf-manage queue-retry: replay dead-lettered messages to their original queue."""

import logging

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from synnefo.logic import dispatcher, queues
from synnefo.logic.utils import one_line_errors


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
        try:
            retried, dropped = queues.retry_dead_letters(
                broker, settings.BACKEND_PREFIX_ID, options["keep_zombies"],
                report=lambda text: self.stdout.write(text + "\n"))
        finally:
            broker.close()
        self.stdout.write("%d message(s) retried, %d dropped\n" % (retried, dropped))
