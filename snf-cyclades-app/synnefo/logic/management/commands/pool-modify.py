"""snf-manage pool-modify: base/offset and external reservations."""

import importlib

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from synnefo.logic import pools
from synnefo.logic.utils import get_object_or_error, one_line_errors

create = importlib.import_module("synnefo.logic.management.commands.pool-create")


def values(text):
    return [v.strip() for v in (text or "").split(",") if v.strip()]


class Command(BaseCommand):
    help = "Modify a pool: --base/--offset, externally reserve or release values."

    def create_parser(self, *args, **kwargs):
        return one_line_errors(super().create_parser(*args, **kwargs))

    def add_arguments(self, parser):
        parser.add_argument("pool_id")
        create.add_type_argument(parser)
        parser.add_argument("--base")
        parser.add_argument("--offset", type=int)
        parser.add_argument("--add-reserved", help="comma-separated values to reserve")
        parser.add_argument("--remove-reserved", help="comma-separated values to release")

    def handle(self, *args, **options):
        cls = create.POOL_TYPES[options["pool_type"]]
        row = get_object_or_error(cls.model, options["pool_id"], "Pool", "pool-list")
        add, remove = values(options["add_reserved"]), values(options["remove_reserved"])
        if not (add or remove or options["base"] is not None or options["offset"] is not None):
            raise CommandError("Nothing to change: give at least one option")
        with transaction.atomic():
            row = cls.model.objects.select_for_update().get(pk=row.pk)
            pool = cls(row)
            if options["base"] is not None:
                if cls is pools.MacPrefixPool:
                    try:
                        pools._mac_prefix_int(options["base"])
                    except pools.InvalidValue as exc:
                        raise CommandError(str(exc))
                row.base = options["base"]
            if options["offset"] is not None:
                row.offset = options["offset"]
            try:
                for value in add:
                    pool.reserve(value, external=True)
                for value in remove:
                    pool.put(value, external=True)
            except pools.InvalidValue as exc:
                raise CommandError(str(exc))
            pool.save()
        self.stdout.write("Pool %d modified: %d available, %d reserved"
                          % (row.id, pool.count_available(), pool.count_reserved()))
