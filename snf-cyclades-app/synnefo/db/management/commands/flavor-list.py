"""snf-manage flavor-list."""

from django.db.models import Count, Q
from synnefo.db.management.common import ManageCommand
from synnefo.db.models import Flavor
from synnefo.logic.utils import add_list_output, print_list

HEADERS = ["id", "name", "cpu", "ram", "disk", "disk_template", "deleted", "servers"]


class Command(ManageCommand):
    help = "List the flavors (not deleted ones unless --deleted) with their number of live servers."

    def add_arguments(self, parser):
        parser.add_argument("--deleted", action="store_true", help="include deleted flavors")
        add_list_output(parser)

    def handle(self, *args, **options):
        flavors = Flavor.objects.annotate(
            servers=Count("virtualmachine", filter=Q(virtualmachine__deleted=False)))
        if not options["deleted"]:
            flavors = flavors.filter(deleted=False)
        rows = [(f.id, f.name, f.cpu, f.ram, f.disk, f.disk_template, f.deleted, f.servers)
                for f in flavors.order_by("id")]
        print_list(self, HEADERS, rows, options)
