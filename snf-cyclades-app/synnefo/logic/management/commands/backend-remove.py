"""snf-manage backend-remove: delete a backend without live servers."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from synnefo.db.models import Backend, BackendNetwork, VirtualMachine
from synnefo.logic.utils import get_object_or_error, network_name, one_line_errors


class Command(BaseCommand):
    help = ("Remove a backend from the DB. Refused while non-deleted servers live on it; the "
            "Ganeti networks it had must be removed from the cluster by hand.")

    def create_parser(self, *args, **kwargs):
        return one_line_errors(super().create_parser(*args, **kwargs))

    def add_arguments(self, parser):
        parser.add_argument("backend_id", help="backend id (see backend-list)")

    def handle(self, *args, **options):
        backend = get_object_or_error(Backend, options["backend_id"], "Backend", "backend-list")
        with transaction.atomic():
            backend = Backend.objects.select_for_update().get(pk=backend.pk)
            live = VirtualMachine.objects.filter(backend=backend, deleted=False).count()
            if live:
                raise CommandError("Backend %s hosts %d non-deleted servers; remove them first"
                                   % (backend.clustername, live))
            bnets = list(BackendNetwork.objects.filter(backend=backend, deleted=False))
            names = [network_name(b.network_id) for b in bnets]
            BackendNetwork.objects.filter(backend=backend).delete()
            clustername = backend.clustername
            backend.delete()
        self.stdout.write("Backend %s removed" % clustername)
        if names:
            self.stdout.write("Ganeti networks left on %s (remove them manually): %s"
                              % (clustername, ", ".join(names)))
