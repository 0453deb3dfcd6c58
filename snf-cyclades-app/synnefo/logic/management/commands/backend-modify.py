"""snf-manage backend-modify: change only what is given (spec 04 §5)."""

import importlib

from django.core.management.base import BaseCommand, CommandError
from synnefo.db.models import Backend
from synnefo.logic import backends
from synnefo.logic.management.password import add_password_arguments, read_password
from synnefo.logic.utils import get_object_or_error, one_line_errors

add_tls_arguments = importlib.import_module(
    "synnefo.logic.management.commands.backend-add").add_tls_arguments


class Command(BaseCommand):
    help = ("Modify a backend. Only the given options change; new credentials or TLS settings "
            "are checked against the cluster before saving (unless --no-check). A new password "
            "is read from a file, standard input or an environment variable. Changing only "
            "--drained/--undrained/--offline/--online decrypts nothing and contacts nothing.")

    def create_parser(self, *args, **kwargs):
        return one_line_errors(super().create_parser(*args, **kwargs))

    def add_arguments(self, parser):
        parser.add_argument("backend_id", help="backend id (see backend-list)")
        parser.add_argument("--clustername", help="new cluster name (also the RAPI host name)")
        parser.add_argument("--port", type=int, help="new RAPI port")
        parser.add_argument("--user", "--username", dest="user", help="new RAPI user")
        add_password_arguments(parser)
        add_tls_arguments(parser)
        parser.add_argument("--verify", action="store_true",
                            help="verify the certificate against the system CAs again")
        drain = parser.add_mutually_exclusive_group()
        drain.add_argument("--drained", dest="drained", action="store_const", const=True,
                           help="no new servers on this backend")
        drain.add_argument("--undrained", "--no-drained", dest="drained", action="store_const",
                           const=False, help="accept new servers again")
        offline = parser.add_mutually_exclusive_group()
        offline.add_argument("--offline", dest="offline", action="store_const", const=True,
                             help="no RAPI call at all to this backend")
        offline.add_argument("--online", "--no-offline", dest="offline", action="store_const",
                             const=False, help="the backend is reachable again")
        parser.add_argument("--no-check", action="store_true",
                            help="do not check changed credentials against the cluster")

    def handle(self, *args, **options):
        options["password"] = read_password(options, required=False)
        backend = get_object_or_error(Backend, options["backend_id"], "Backend", "backend-list")
        changes = {}
        for option, field in (("clustername", "clustername"), ("port", "port"), ("user", "username")):
            if options[option] is not None:
                changes[field] = options[option]
        if "port" in changes and not 0 < changes["port"] <= 65535:
            raise CommandError("invalid port: %s" % changes["port"])
        if options["ca_file"]:
            changes.update(ssl_verify=True, ssl_ca_file=options["ca_file"], ssl_fingerprint=None)
        elif options["fingerprint"]:
            changes.update(ssl_fingerprint=options["fingerprint"], ssl_ca_file=None)
        elif options["no_verify"]:
            changes.update(ssl_verify=False, ssl_ca_file=None, ssl_fingerprint=None)
        elif options["verify"]:
            changes.update(ssl_verify=True, ssl_ca_file=None, ssl_fingerprint=None)
        for flag in ("drained", "offline"):
            if options[flag] is not None:
                changes[flag] = options[flag]
        if not changes and options["password"] is None:
            raise CommandError("Nothing to change: give at least one option")
        if "clustername" in changes and Backend.objects.filter(
                clustername=changes["clustername"]).exclude(pk=backend.pk).exists():
            raise CommandError("Backend %s already exists" % changes["clustername"])
        credentials = {"clustername", "port", "username", "ssl_verify", "ssl_ca_file", "ssl_fingerprint"}
        if (credentials & set(changes) or options["password"] is not None) and not options["no_check"]:
            new = {f: changes.get(f, getattr(backend, f)) for f in credentials}
            password = options["password"] if options["password"] is not None else backend.password
            try:
                backends.check_credentials(new["clustername"], new["port"], new["username"], password,
                                           verify=new["ssl_verify"], fingerprint=new["ssl_fingerprint"],
                                           ca_file=new["ssl_ca_file"])
            except backends.BackendCheckError as exc:
                raise CommandError(str(exc))
        backend = backends.modify(backend, changes, options["password"])
        self.stdout.write("Backend %d (%s) modified: %s" % (
            backend.id, backend.clustername, describe_changes(changes, options["password"] is not None)))


FLAG_WORDS = {"drained": ("drained", "undrained"), "offline": ("offline", "online")}


def describe_changes(changes, password):
    """``drained`` -> "drained" or "undrained"; other fields: "port=5081"; never a secret."""
    words = []
    for field in sorted(changes):
        value = changes[field]
        if field in FLAG_WORDS:
            words.append(FLAG_WORDS[field][0 if value else 1])
        elif field == "ssl_verify":
            words.append("certificate %s" % ("verified" if value else "not verified"))
        else:
            words.append("%s=%s" % (field, value if value is not None else "(none)"))
    if password:
        words.append("password")
    return ", ".join(words)
