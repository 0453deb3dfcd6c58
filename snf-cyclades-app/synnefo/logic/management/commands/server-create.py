"""snf-manage server-create: create a server for a user (no limit checks)."""

from django.core.management.base import BaseCommand, CommandError
from synnefo.db.models import Backend
from synnefo.logic import servers
from synnefo.logic.errors import LogicError
from synnefo.logic.utils import get_object_or_error, one_line_errors


class Command(BaseCommand):
    help = ("Create a server for a user, bypassing the per-user limit (and, with --backend-id, the "
            "allocator). Prints the server id and its password.")

    def create_parser(self, *args, **kwargs):
        return one_line_errors(super().create_parser(*args, **kwargs))

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--user-id", required=True, help="owner")
        parser.add_argument("--image-id", required=True)
        parser.add_argument("--flavor-id", required=True, type=int)
        parser.add_argument("--password", help="root password (default: generated)")
        parser.add_argument("--backend-id", help="place the server on this backend")

    def handle(self, *args, **options):
        backend = None
        if options["backend_id"] is not None:
            backend = get_object_or_error(Backend, options["backend_id"], "Backend", "backend-list")
            if backend.offline:
                raise CommandError("Backend %s is offline" % backend.clustername)
        try:
            vm, password = servers.create(options["user_id"], options["name"], options["flavor_id"],
                                          options["image_id"], backend=backend,
                                          password=options["password"], check_limit=False)
        except LogicError as exc:
            raise CommandError(exc.message)
        self.stdout.write("Created server %d (%s) on %s, job %s, password %s"
                          % (vm.id, vm.name, vm.backend, vm.backendjobid, password))
