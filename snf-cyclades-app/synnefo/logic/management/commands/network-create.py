"""snf-manage network-create (spec 04 §6)."""

from django.core.management.base import BaseCommand, CommandError
from synnefo.db.models import NETWORK_TYPES, Backend
from synnefo.logic import networks
from synnefo.logic.errors import LogicError
from synnefo.logic.utils import get_object_or_error, one_line_errors


class Command(BaseCommand):
    help = ("Create a network. Public networks (--public) live on one backend (--backend-id) and "
            "give servers their public IPs; private ones are created on every non-offline backend.")

    def create_parser(self, *args, **kwargs):
        return one_line_errors(super().create_parser(*args, **kwargs))

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--subnet", required=True, help="IPv4 CIDR, e.g. 192.0.2.0/24")
        parser.add_argument("--gateway")
        parser.add_argument("--subnet6")
        parser.add_argument("--gateway6")
        parser.add_argument("--dhcp", action="store_true", help="hand out IPs from the pool (nfdhcpd)")
        parser.add_argument("--public", action="store_true")
        parser.add_argument("--type", dest="net_type", default="PRIVATE_MAC_FILTERED",
                            choices=NETWORK_TYPES)
        parser.add_argument("--owner", help="owner (user id); required for private networks")
        parser.add_argument("--backend-id", help="backend of a public network (required with --public)")
        parser.add_argument("--link", help="bridge or routing table (default: by type)")
        parser.add_argument("--mac-prefix", help="5 hex digits, e.g. aa:00:0 (default: by type)")

    def handle(self, *args, **options):
        backend = None
        if options["public"]:
            if not options["backend_id"]:
                raise CommandError("--backend-id is required with --public")
            backend = get_object_or_error(Backend, options["backend_id"], "Backend", "backend-list")
            if backend.offline:
                raise CommandError("Backend %s is offline" % backend.clustername)
        elif options["backend_id"]:
            raise CommandError("--backend-id is only for public networks")
        try:
            network, results = networks.admin_create(
                options["name"], options["subnet"], gateway=options["gateway"],
                subnet6=options["subnet6"], gateway6=options["gateway6"], dhcp=options["dhcp"],
                public=options["public"], net_type=options["net_type"], owner=options["owner"],
                backend=backend, link=options["link"], mac_prefix=options["mac_prefix"])
        except LogicError as exc:
            raise CommandError(exc.message)
        self.stdout.write("Created network %d (%s): %s, link %s, MAC prefix %s"
                          % (network.id, network.name, network.subnet, network.link, network.mac_prefix))
        for backend_id, error in sorted(results.items()):
            if error:
                self.stderr.write("Backend %s: Ganeti jobs not submitted: %s (the network stays "
                                  "PENDING there: fix the cause, then network-remove it and create "
                                  "it again)" % (backend_id, error))
