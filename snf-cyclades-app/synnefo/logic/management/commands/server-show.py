"""snf-manage server-show."""

from django.core.management.base import BaseCommand
from synnefo.db.models import Image, VirtualMachine
from synnefo.logic.utils import get_object_or_error, one_line_errors
from synnefo.webproject.management.output import add_output_argument, print_object


class Command(BaseCommand):
    help = ("Show a server: owner, image, flavor, state, pending task, backend job, "
            "the last Ganeti errors and NICs.")

    def create_parser(self, *args, **kwargs):
        return one_line_errors(super().create_parser(*args, **kwargs))

    def add_arguments(self, parser):
        parser.add_argument("server_id")
        add_output_argument(parser)

    def handle(self, *args, **options):
        vm = get_object_or_error(VirtualMachine, options["server_id"], "Server", "server-list")
        image = Image.objects.filter(pk=vm.imageid).first()
        pairs = [
            ("id", vm.id), ("name", vm.name), ("owner", vm.userid),
            ("created", vm.created.strftime("%Y-%m-%d %H:%M:%S")),
            ("updated", vm.updated.strftime("%Y-%m-%d %H:%M:%S")),
            ("image", "%s (%s)" % (vm.imageid, image.name if image else "unknown")),
            ("flavor", "%s (%s)" % (vm.flavor_id, vm.flavor.name)),
            ("backend", vm.backend.clustername if vm.backend else None),
            ("operstate", vm.operstate), ("action", vm.action), ("task", vm.task),
            ("task_job_id", vm.task_job_id), ("backendjobid", vm.backendjobid),
            ("backendjobstatus", vm.backendjobstatus), ("backendopcode", vm.backendopcode),
            ("backendlogmsg", vm.backendlogmsg), ("deleted", vm.deleted),
            ("suspended", vm.suspended),
        ]
        # The Ganeti errors the dispatcher kept for the operator, newest first.
        for diag in vm.diagnostics.filter(level="ERROR")[:5]:
            when = diag.source_date.strftime("%Y-%m-%d %H:%M:%S") if diag.source_date else "?"
            pairs.append(("error %s" % when, "%s: %s" % (diag.source, diag.message)))
        for nic in vm.nics.all():
            pairs.append(("nic %d" % nic.index, "network %s, mac %s, ipv4 %s, ipv6 %s"
                          % (nic.network_id, nic.mac, nic.ipv4, nic.ipv6)))
        print_object(self.stdout, pairs, options["output"])
