"""snf-manage pool-show: a pool and its maps."""

import importlib

from django.core.management.base import BaseCommand
from synnefo.logic.utils import get_object_or_error, one_line_errors
from synnefo.webproject.management.output import print_object

create = importlib.import_module("synnefo.logic.management.commands.pool-create")


def chunks(text, width):
    for start in range(0, len(text), width):
        part = text[start:start + width]
        yield "%6d %s %d" % (start, part, start + len(part) - 1)


class Command(BaseCommand):
    help = "Show a pool: counts, the pool map and the reserved map ('.' free, 'X' not)."

    def create_parser(self, *args, **kwargs):
        return one_line_errors(super().create_parser(*args, **kwargs))

    def add_arguments(self, parser):
        parser.add_argument("pool_id")
        create.add_type_argument(parser)

    def handle(self, *args, **options):
        cls = create.POOL_TYPES[options["pool_type"]]
        row = get_object_or_error(cls.model, options["pool_id"], "Pool", "pool-list")
        pool = cls(row)
        print_object(self.stdout, [("id", row.id), ("type", options["pool_type"]), ("size", row.size),
                                   ("base", row.base), ("offset", row.offset),
                                   ("available", pool.count_available()),
                                   ("reserved", pool.count_reserved())])
        width = 64 if options["pool_type"] == "bridge" else 80
        self.stdout.write("\nPool map (. = free):")
        for line in chunks(pool.to_map(), width):
            self.stdout.write(line)
        self.stdout.write("\nReserved map (X = reserved):")
        for line in chunks(pool.reserved_to_map(), width):
            self.stdout.write(line)
