"""snf-manage backend-list."""

from django.core.management.base import BaseCommand
from django.db.models import Count, Q
from synnefo.db.models import Backend
from synnefo.logic.utils import add_list_output, one_line_errors, print_list

HEADERS = ["id", "clustername", "port", "username", "index", "vms", "drained", "offline",
           "mfree", "dfree", "updated"]


class Command(BaseCommand):
    help = "List the Ganeti backends."

    def create_parser(self, *args, **kwargs):
        return one_line_errors(super().create_parser(*args, **kwargs))

    def add_arguments(self, parser):
        add_list_output(parser)

    def handle(self, *args, **options):
        query = Backend.objects.annotate(
            vms=Count("virtual_machines", filter=Q(virtual_machines__deleted=False))).order_by("id")
        rows = [(b.id, b.clustername, b.port, b.username, b.index, b.vms, b.drained, b.offline,
                 b.mfree, b.dfree, b.updated.strftime("%Y-%m-%d %H:%M:%S")) for b in query]
        print_list(self, HEADERS, rows, options)
