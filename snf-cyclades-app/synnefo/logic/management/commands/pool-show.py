"""snf-manage pool-show: a pool, the values in use, and (with --map) its maps."""

import importlib

from django.core.management.base import BaseCommand
from synnefo.logic.utils import get_object_or_error, one_line_errors
from synnefo.webproject.management.output import print_object

create = importlib.import_module("synnefo.logic.management.commands.pool-create")

MAX_RANGES = 20


def chunks(text, width):
    for start in range(0, len(text), width):
        part = text[start:start + width]
        yield "%6d %s %d" % (start, part, start + len(part) - 1)


def ranges(text, mark):
    """``"XX..X"``, ``"X"`` -> ``[(0, 1), (4, 4)]``: the runs of ``mark``."""
    found, start = [], None
    for index, char in enumerate(text + "\0"):
        if char == mark and start is None:
            start = index
        elif char != mark and start is not None:
            found.append((start, index - 1))
            start = None
    return found


def describe_ranges(runs, limit=MAX_RANGES):
    text = ", ".join("%d" % a if a == b else "%d-%d" % (a, b) for a, b in runs[:limit])
    if len(runs) > limit:
        text += ", ... (%d more ranges: --map shows all)" % (len(runs) - limit)
    return text or "none"


class Command(BaseCommand):
    help = ("Show a pool: size, counts and the index ranges handed out or reserved. --map adds "
            "the whole pool map and reserved map ('.' free, 'X' not), one line per 64 or 80 "
            "values (a MAC-prefix pool of 65536 is 800 lines each).")

    def create_parser(self, *args, **kwargs):
        return one_line_errors(super().create_parser(*args, **kwargs))

    def add_arguments(self, parser):
        parser.add_argument("pool_id")
        create.add_type_argument(parser)
        parser.add_argument("--map", action="store_true",
                            help="print the pool map and the reserved map in full")

    def handle(self, *args, **options):
        cls = create.POOL_TYPES[options["pool_type"]]
        row = get_object_or_error(cls.model, options["pool_id"], "Pool", "pool-list")
        pool = cls(row)
        pool_map, reserved_map = pool.to_map(), pool.reserved_to_map()
        print_object(self.stdout, [("id", row.id), ("type", options["pool_type"]), ("size", row.size),
                                   ("base", row.base), ("offset", row.offset),
                                   ("available", pool.count_available()),
                                   ("reserved", pool.count_reserved()),
                                   ("in use", describe_ranges(ranges(pool_map, "X"))),
                                   ("reserved at", describe_ranges(ranges(reserved_map, "X")))])
        if not options["map"]:
            return
        width = 64 if options["pool_type"] == "bridge" else 80
        self.stdout.write("\nPool map (. = free):")
        for line in chunks(pool_map, width):
            self.stdout.write(line)
        self.stdout.write("\nReserved map (X = reserved):")
        for line in chunks(reserved_map, width):
            self.stdout.write(line)
