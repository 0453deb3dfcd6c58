"""snf-manage server-modify: DB-only edits of a server (spec 04 §7)."""

from django.core.management.base import BaseCommand, CommandError
from synnefo.db.models import OPER_STATES, VirtualMachine
from synnefo.logic import servers, validation
from synnefo.logic.errors import LogicError
from synnefo.logic.utils import get_object_or_error, one_line_errors


class Command(BaseCommand):
    help = ("Modify a server in the DB only (Ganeti is not told): name, owner, state, deleted and "
            "suspended flags. Suspended servers refuse every user action (403).")

    def create_parser(self, *args, **kwargs):
        return one_line_errors(super().create_parser(*args, **kwargs))

    def add_arguments(self, parser):
        parser.add_argument("server_id")
        parser.add_argument("--name")
        parser.add_argument("--owner")
        parser.add_argument("--state", choices=OPER_STATES)
        deleted = parser.add_mutually_exclusive_group()
        deleted.add_argument("--set-deleted", dest="deleted", action="store_const", const=True)
        deleted.add_argument("--set-undeleted", dest="deleted", action="store_const", const=False)
        suspended = parser.add_mutually_exclusive_group()
        suspended.add_argument("--set-suspended", dest="suspended", action="store_const", const=True)
        suspended.add_argument("--set-unsuspended", dest="suspended", action="store_const", const=False)

    def handle(self, *args, **options):
        vm = get_object_or_error(VirtualMachine, options["server_id"], "Server", "server-list")
        changes = {}
        if options["name"] is not None:
            try:
                changes["name"] = validation.server_name(options["name"])
            except LogicError as exc:
                raise CommandError(exc.message)
        if options["owner"] is not None:
            if not options["owner"]:
                raise CommandError("--owner must not be empty")
            changes["userid"] = options["owner"]
        if options["state"] is not None:
            changes["operstate"] = options["state"]
        if options["deleted"] is not None:
            changes["deleted"] = options["deleted"]
            if options["deleted"]:
                changes["operstate"] = "DESTROYED"
            elif changes.get("operstate", vm.operstate) == "DESTROYED":
                raise CommandError("--set-undeleted needs --state (an undeleted server cannot be DESTROYED)")
        if options["suspended"] is not None:
            changes["suspended"] = options["suspended"]
        if not changes:
            raise CommandError("Nothing to change: give at least one option")
        if changes.get("operstate") == "DESTROYED" and not changes.get("deleted", vm.deleted):
            raise CommandError("State DESTROYED needs --set-deleted")
        vm = servers.admin_modify(vm, changes)
        self.stdout.write("Server %d: changed %s" % (vm.id, ", ".join(sorted(changes))))
