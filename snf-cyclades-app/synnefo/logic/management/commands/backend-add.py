"""snf-manage backend-add: register a Ganeti cluster (spec 04 §5)."""

from django.core.management.base import BaseCommand, CommandError
from synnefo.db.models import Backend, Network
from synnefo.logic import backends
from synnefo.logic.management.password import add_password_arguments, read_password
from synnefo.logic.utils import one_line_errors
from synnefo.rapi import GanetiApiError


def add_tls_arguments(parser):
    tls = parser.add_mutually_exclusive_group()
    tls.add_argument("--ca-file", help="verify the RAPI certificate against this CA file")
    tls.add_argument("--fingerprint", help="pin the RAPI certificate's SHA-256 fingerprint")
    tls.add_argument("--no-verify", action="store_true",
                     help="do not verify the RAPI certificate (insecure)")


class Command(BaseCommand):
    help = ("Add a Ganeti backend. Cyclades reaches its RAPI at https://<clustername>:<port>: "
            "the cluster name is also the RAPI host, so it must resolve (DNS or /etc/hosts), on "
            "every API and dispatcher node, to the cluster's master (its floating address). "
            "Credentials are checked first (unless "
            "--no-check): /2/info must name the cluster. The password is read from a file, "
            "standard input or an environment variable, never from the command line. The backend "
            "is added drained unless --undrained is given.")

    def create_parser(self, *args, **kwargs):
        return one_line_errors(super().create_parser(*args, **kwargs))

    def add_arguments(self, parser):
        parser.add_argument("--clustername", required=True,
                            help="cluster name (as in /2/info), also the RAPI host name")
        parser.add_argument("--port", type=int, default=5080, help="RAPI port (default 5080)")
        parser.add_argument("--user", required=True, help="RAPI user with write access")
        add_password_arguments(parser)
        add_tls_arguments(parser)
        drain = parser.add_mutually_exclusive_group()
        drain.add_argument("--drained", dest="drained", action="store_true", default=True,
                           help="add the backend drained: no new servers (the default)")
        drain.add_argument("--undrained", dest="drained", action="store_false",
                           help="accept new servers at once")
        parser.add_argument("--no-check", action="store_true",
                            help="do not check the cluster name and credentials")
        parser.add_argument("--no-init", action="store_true",
                            help="do not create the existing private networks on the backend")

    def handle(self, *args, **options):
        password = read_password(options, required=True)
        clustername, port = options["clustername"], options["port"]
        if not 0 < port <= 65535:
            raise CommandError("invalid port: %s" % port)
        if Backend.objects.filter(clustername=clustername).exists():
            raise CommandError("Backend %s already exists" % clustername)
        if backends.first_free_index() is None:
            raise CommandError("All backend indexes (0-15) are in use")
        verify = not options["no_verify"]
        if not options["no_check"]:
            try:
                warnings = backends.check_credentials(clustername, port, options["user"], password,
                                           verify=verify, fingerprint=options["fingerprint"],
                                           ca_file=options["ca_file"])
            except backends.BackendCheckError as exc:
                raise CommandError(str(exc))
            for warning in warnings:
                self.stderr.write("Warning: %s" % warning)
        try:
            backend = backends.create_backend(
                clustername, port, options["user"], password, drained=options["drained"],
                ssl_verify=verify, ssl_ca_file=options["ca_file"], ssl_fingerprint=options["fingerprint"])
        except Exception as exc:
            raise CommandError("Cannot create backend: %s" % exc)
        self.stdout.write("Created backend %d (%s, RAPI https://%s:%d), index %d, %s" % (
            backend.id, backend.clustername, backend.clustername, backend.port, backend.index,
            "drained (undrain with: snf-manage backend-modify %d --undrained)" % backend.id
            if backend.drained else "undrained"))
        try:
            backends.update_resources(backend)
        except (GanetiApiError, Exception) as exc:
            self.stderr.write("Warning: cannot fetch resources of %s: %s" % (clustername, exc))
        if options["no_init"]:
            return
        for network in Network.objects.filter(public=False, deleted=False).order_by("id"):
            backends.ensure_backend_network(network, backend)
            ok, message = backends.create_network_on_backend_sync(network, backend)
            stream = self.stdout if ok else self.stderr
            stream.write("Network %d (%s): %s" % (network.id, network.name,
                                                   "created" if ok else "FAILED: %s" % message))
