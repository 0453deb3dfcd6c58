"""snf-manage network-list."""

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count
from synnefo.db.models import Network
from synnefo.logic.utils import add_list_output, one_line_errors, print_list

HEADERS = ["id", "name", "type", "owner", "mac_prefix", "dhcp", "state", "link", "vms", "public",
           "subnet", "gateway"]


def parse_filters(text, model):
    """``key=val,key!=val,key>=val...`` -> (filter kwargs, exclude kwargs)."""
    include, exclude = {}, {}
    names = {f.name for f in model._meta.get_fields()} | {f.attname for f in model._meta.concrete_fields}
    for cond in [c for c in (text or "").split(",") if c]:
        for op, lookup in (("!=", ""), (">=", "__gte"), ("<=", "__lte"), ("=", ""), (">", "__gt"),  # noqa: B007
                           ("<", "__lt")):
            if op in cond:
                key, value = cond.split(op, 1)
                break
        else:
            raise CommandError("Invalid filter: %s" % cond)
        key = key.strip()
        if key not in names:
            raise CommandError("Invalid filter field: %s" % key)
        value = {"yes": True, "true": True, "t": True, "no": False, "false": False,
                 "f": False}.get(value.strip().lower(), value.strip())
        (exclude if op == "!=" else include)[key + lookup] = value
    return include, exclude


class Command(BaseCommand):
    help = "List networks (non-deleted unless --deleted)."

    def create_parser(self, *args, **kwargs):
        return one_line_errors(super().create_parser(*args, **kwargs))

    def add_arguments(self, parser):
        parser.add_argument("--deleted", action="store_true", help="only deleted networks")
        parser.add_argument("--public", action="store_true", help="only public networks")
        parser.add_argument("--ipv6", action="store_true", help="show IPv6 subnet/gateway")
        parser.add_argument("--filter-by", help="key=val,key!=val,key>val... over network fields")
        add_list_output(parser)

    def handle(self, *args, **options):
        query = Network.objects.filter(deleted=options["deleted"])
        if options["public"]:
            query = query.filter(public=True)
        include, exclude = parse_filters(options["filter_by"], Network)
        try:
            query = query.filter(**include).exclude(**exclude)
            query = query.annotate(vms=Count("nics__machine", distinct=True)).order_by("id")
            rows = [(n.id, n.name, n.type, n.userid, n.mac_prefix, n.dhcp, n.state, n.link, n.vms,
                     n.public, n.subnet6 if options["ipv6"] else n.subnet,
                     n.gateway6 if options["ipv6"] else n.gateway) for n in query]
        except (ValueError, TypeError) as exc:
            raise CommandError("Invalid filter value: %s" % exc)
        print_list(self, HEADERS, rows, options)
