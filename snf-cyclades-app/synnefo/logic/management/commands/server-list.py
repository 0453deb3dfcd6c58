"""snf-manage server-list."""

import importlib

from django.core.management.base import BaseCommand, CommandError
from synnefo.db.models import Image, VirtualMachine
from synnefo.logic.utils import add_list_output, one_line_errors, print_list

parse_filters = importlib.import_module("synnefo.logic.management.commands.network-list").parse_filters

HEADERS = ["id", "name", "owner", "flavor", "image", "state", "task", "backend"]


def state_of(vm):
    if vm.deleted:
        return "DELETED"
    if vm.operstate == "BUILD":
        return "BUILD(%d%%)" % vm.buildpercentage
    return vm.operstate


class Command(BaseCommand):
    help = "List servers (non-deleted unless --deleted)."

    def create_parser(self, *args, **kwargs):
        return one_line_errors(super().create_parser(*args, **kwargs))

    def add_arguments(self, parser):
        parser.add_argument("--deleted", action="store_true", help="include deleted servers")
        parser.add_argument("--suspended", action="store_true", help="only suspended servers")
        parser.add_argument("--build", action="store_true", help="only servers being built")
        parser.add_argument("--backend-id", type=int, help="only servers of this backend")
        parser.add_argument("--filter-by", help="key=val,key!=val,key>val... over server fields")
        add_list_output(parser)

    def handle(self, *args, **options):
        query = VirtualMachine.objects.select_related("flavor", "backend").order_by("id")
        if not options["deleted"]:
            query = query.filter(deleted=False)
        if options["suspended"]:
            query = query.filter(suspended=True)
        if options["build"]:
            query = query.filter(operstate="BUILD")
        if options["backend_id"] is not None:
            query = query.filter(backend_id=options["backend_id"])
        include, exclude = parse_filters(options["filter_by"], VirtualMachine)
        try:
            vms = list(query.filter(**include).exclude(**exclude))
        except (ValueError, TypeError) as exc:
            raise CommandError("Invalid filter value: %s" % exc)
        images = dict(Image.objects.filter(id__in={vm.imageid for vm in vms}).values_list("id", "name"))
        rows = [(vm.id, vm.name, vm.userid, vm.flavor.name, images.get(vm.imageid, vm.imageid),
                 state_of(vm), vm.task, vm.backend.clustername if vm.backend else None) for vm in vms]
        print_list(self, HEADERS, rows, options)
