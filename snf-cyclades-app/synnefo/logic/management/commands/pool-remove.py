"""snf-manage pool-remove."""

import importlib

from django.core.management.base import BaseCommand
from synnefo.logic.utils import get_object_or_error, one_line_errors

create = importlib.import_module("synnefo.logic.management.commands.pool-create")


class Command(BaseCommand):
    help = "Remove a bridge or MAC-prefix pool."

    def create_parser(self, *args, **kwargs):
        return one_line_errors(super().create_parser(*args, **kwargs))

    def add_arguments(self, parser):
        parser.add_argument("pool_id")
        create.add_type_argument(parser)

    def handle(self, *args, **options):
        cls = create.POOL_TYPES[options["pool_type"]]
        row = get_object_or_error(cls.model, options["pool_id"], "Pool", "pool-list")
        row.delete()
        self.stdout.write("Removed %s pool %s" % (options["pool_type"], options["pool_id"]))
