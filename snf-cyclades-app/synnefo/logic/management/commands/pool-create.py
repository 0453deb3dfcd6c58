"""snf-manage pool-create: the bridge or MAC-prefix pool (spec 04 §4.3)."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from synnefo.logic import pools
from synnefo.logic.utils import one_line_errors

POOL_TYPES = {"bridge": pools.BridgePool, "mac-prefix": pools.MacPrefixPool}


def add_type_argument(parser, required=True):
    parser.add_argument("--type", dest="pool_type", choices=sorted(POOL_TYPES), required=required,
                        help="pool type")


class Command(BaseCommand):
    help = "Create the bridge or MAC-prefix pool (only one of each type)."

    def create_parser(self, *args, **kwargs):
        return one_line_errors(super().create_parser(*args, **kwargs))

    def add_arguments(self, parser):
        add_type_argument(parser)
        parser.add_argument("--size", type=int, required=True, help="number of values")
        parser.add_argument("--base", help="bridge name prefix (prv) or MAC prefix (aa:00:0)")
        parser.add_argument("--offset", type=int)

    def handle(self, *args, **options):
        cls = POOL_TYPES[options["pool_type"]]
        size, base = options["size"], options["base"]
        if size <= 0:
            raise CommandError("--size must be positive")
        if cls is pools.MacPrefixPool:
            base = base or "aa:00:0"
            try:
                pools._mac_prefix_int(base)
            except pools.InvalidValue as exc:
                raise CommandError(str(exc))
            if pools._mac_prefix_int(base) + size > 16 ** pools.MAC_PREFIX_DIGITS:
                raise CommandError("--size too large for base %s" % base)
        elif not base:
            raise CommandError("--base is required for bridge pools (e.g. prv)")
        with transaction.atomic():
            if cls.model.objects.select_for_update().exists():
                raise CommandError("A %s pool already exists; only one is used" % options["pool_type"])
            row = cls.model.objects.create(size=size, base=base, offset=options["offset"])
            pool = cls.locked()
            pool.save()
        self.stdout.write("Created %s pool %d: size %d, base %s, %d available"
                          % (options["pool_type"], row.id, size, base, pool.count_available()))
