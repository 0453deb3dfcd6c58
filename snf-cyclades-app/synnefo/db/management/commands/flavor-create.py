"""snf-manage flavor-create: one flavor, or every combination of the given sizes."""

import itertools

from django.core.management.base import CommandError
from django.db import IntegrityError, transaction
from synnefo.db.management.common import ManageCommand
from synnefo.db.management.flavors import checked_template, sizes, split_values
from synnefo.db.models import Flavor
from synnefo.webproject.management.output import add_output_argument, print_rows

HEADERS = ["id", "name", "cpu", "ram", "disk", "disk_template"]


class Command(ManageCommand):
    help = ("Create flavors: every combination of the given CPUs, RAM sizes (MiB), disk sizes "
            "(GiB) and disk templates, e.g. --cpu 1 2 --ram 512 1024 --disk 20 "
            "--disk-template plain (4 flavors). The positional form "
            "'flavor-create 1,2 512,1024 20 plain' does the same. Nothing is created if one "
            "of the combinations already exists.")

    def add_arguments(self, parser):
        parser.add_argument("positional", nargs="*", metavar="CPUS RAMS DISKS TEMPLATES",
                            help="comma-separated lists, all four (instead of the options)")
        parser.add_argument("--cpu", nargs="+", default=[], help="number(s) of virtual CPUs")
        parser.add_argument("--ram", nargs="+", default=[], help="RAM size(s) in MiB")
        parser.add_argument("--disk", nargs="+", default=[], help="disk size(s) in GiB")
        parser.add_argument("--disk-template", nargs="+", default=[],
                            help="Ganeti disk template(s) (default: DEFAULT_GANETI_DISK_TEMPLATE)")
        add_output_argument(parser)

    def _lists(self, options):
        from django.conf import settings
        named = [options["cpu"], options["ram"], options["disk"], options["disk_template"]]
        positional = options["positional"]
        if positional:
            if any(named):
                raise CommandError("Give the sizes either as CPUS RAMS DISKS TEMPLATES or as "
                                   "--cpu/--ram/--disk/--disk-template, not both")
            if len(positional) != 4:
                raise CommandError("Expected 4 positional arguments CPUS RAMS DISKS TEMPLATES, "
                                   "got %d" % len(positional))
            named = [[value] for value in positional]
        cpus, rams, disks, templates = named
        for values, option in ((cpus, "--cpu"), (rams, "--ram"), (disks, "--disk")):
            if not values:
                raise CommandError("%s is required" % option)
        if not templates:
            templates = [settings.DEFAULT_GANETI_DISK_TEMPLATE]
        templates = [checked_template(t) for t in split_values(templates, "--disk-template")]
        return sizes(cpus, "--cpu"), sizes(rams, "--ram"), sizes(disks, "--disk"), templates

    def handle(self, *args, **options):
        combinations = list(itertools.product(*self._lists(options)))
        for cpu, ram, disk, template in combinations:
            existing = Flavor.objects.filter(cpu=cpu, ram=ram, disk=disk, disk_template=template).first()
            if existing is not None:
                raise CommandError("Flavor %s (%s) already exists with ID %d%s; nothing created"
                                   % (existing.name, template, existing.id,
                                      " (deleted: undelete it with flavor-modify --deleted no)"
                                      if existing.deleted else ""))
        try:
            with transaction.atomic():
                created = [Flavor.objects.create(cpu=cpu, ram=ram, disk=disk, disk_template=template)
                           for cpu, ram, disk, template in combinations]
        except IntegrityError as exc:  # created by someone else meanwhile
            raise CommandError("One of the flavors was created meanwhile; nothing created") from exc
        rows = [(f.id, f.name, f.cpu, f.ram, f.disk, f.disk_template) for f in created]
        print_rows(self.stdout, HEADERS, rows, options["output"])
