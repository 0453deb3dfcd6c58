"""snf-manage queue-inspect: show (and optionally delete) the messages of a queue."""

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from synnefo.logic import dispatcher, queues
from synnefo.logic.utils import one_line_errors
from synnefo.webproject.management.output import add_output_argument


class Command(BaseCommand):
    help = ("Fetch every message of a queue (e.g. snf-events-op-dl) and print its headers and body. "
            "By default the messages stay in the queue: they return to it when the command exits "
            "(stop the dispatchers first, or messages they hold unacknowledged are not shown). "
            "--no-requeue deletes every message shown; --interactive asks per message.")

    def create_parser(self, *args, **kwargs):
        return one_line_errors(super().create_parser(*args, **kwargs))

    def add_arguments(self, parser):
        parser.add_argument("queue", help="queue name, e.g. snf-events-op or snf-events-op-dl")
        parser.add_argument("--no-requeue", action="store_true",
                            help="delete (acknowledge) every message shown")
        parser.add_argument("-i", "--interactive", action="store_true",
                            help="ask for every message whether to delete it")
        add_output_argument(parser)

    def _ask(self, number):
        answer = input("Delete message %d? [y/N/q] " % number).strip().lower()
        return answer

    def handle(self, *args, **options):
        try:
            broker = dispatcher.make_broker(settings)
        except Exception as exc:
            raise CommandError("Cannot reach the broker: %s" % exc)
        shown, deleted, rows = 0, 0, []
        try:
            while True:
                delivery = broker.get(options["queue"])
                if delivery is None:
                    break
                shown += 1
                item = queues.message_item(shown, delivery)
                if options["output"] == "json":
                    rows.append(item)
                else:
                    self.stdout.write("--- message %d\n%s\n" % (shown, json.dumps(item, indent=2,
                                                                                 default=str)))
                delete = options["no_requeue"]
                if options["interactive"]:
                    answer = self._ask(shown)
                    if answer == "q":
                        break
                    delete = answer in ("y", "yes")
                if delete:
                    delivery.ack()
                    deleted += 1
        except (LookupError, ConnectionError) as exc:
            raise CommandError("Cannot read %s: %s" % (options["queue"], exc))
        except Exception as exc:
            if type(exc).__name__ not in ("BrokerUnavailable", "Interrupted", "ConnectionLost"):
                raise
            raise CommandError("Broker unavailable: %s" % exc)
        finally:
            broker.close()  # unacknowledged messages return to the queue
        if options["output"] == "json":
            self.stdout.write(json.dumps(rows, indent=2, default=str) + "\n")
        else:
            self.stdout.write("%d message(s) in %s, %d deleted\n" % (shown, options["queue"], deleted))
