"""snf-manage audit-list: what staff did in the admin web."""

from django.core.management.base import CommandError
from synnefo.admin import audit
from synnefo.db.management.common import ManageCommand, checked_text
from synnefo.logic.utils import add_list_output, print_list

HEADERS = ["id", "when", "actor", "action", "target", "reason", "outcome"]


class Command(ManageCommand):
    help = ("List the audit log of the admin web, newest first: who (staff user), what (action), "
            "on what (target), why (the reason typed in), when (UTC) and how it ended.")

    def add_arguments(self, parser):
        parser.add_argument("--actor", help="only the actions of this staff user (uniq)")
        parser.add_argument("--target", help="only this target, e.g. 'server 12' or 'user alice'")
        parser.add_argument("--limit", type=int, default=100, help="at most this many entries (100)")
        add_list_output(parser)

    def handle(self, *args, **options):
        if options["limit"] <= 0:
            raise CommandError("--limit must be a positive number")
        actor = checked_text(options["actor"], "--actor", 128) if options["actor"] else None
        rows = [(e.id, e.when.strftime("%Y-%m-%d %H:%M:%S"), e.actor, e.action, e.target, e.reason,
                 e.outcome)
                for e in audit.entries(actor=actor, target=options["target"], limit=options["limit"])]
        print_list(self, HEADERS, rows, options)
