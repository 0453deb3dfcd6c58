"""snf-manage pool-list."""

import importlib

from django.core.management.base import BaseCommand
from synnefo.logic.utils import add_list_output, one_line_errors, print_list

create = importlib.import_module("synnefo.logic.management.commands.pool-create")

HEADERS = ["id", "type", "size", "base", "offset", "available", "reserved"]


class Command(BaseCommand):
    help = "List the bridge and MAC-prefix pools."

    def create_parser(self, *args, **kwargs):
        return one_line_errors(super().create_parser(*args, **kwargs))

    def add_arguments(self, parser):
        create.add_type_argument(parser, required=False)
        add_list_output(parser)

    def handle(self, *args, **options):
        rows = []
        for name, cls in sorted(create.POOL_TYPES.items()):
            if options["pool_type"] not in (None, name):
                continue
            for row in cls.model.objects.order_by("id"):
                pool = cls(row)
                rows.append((row.id, name, row.size, row.base, row.offset, pool.count_available(),
                             pool.count_reserved()))
        print_list(self, HEADERS, rows, options)
