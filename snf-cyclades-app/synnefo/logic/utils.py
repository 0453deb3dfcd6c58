"""Small helpers of the logic layer: Ganeti names, passwords."""

import secrets
import string

from django.conf import settings

PASSWORD_LENGTH = 10
_ALPHABET = string.ascii_letters + string.digits


def instance_name(vm_id):
    """Ganeti instance name of VM ``vm_id`` (``snf-42``)."""
    return "%s%s" % (settings.BACKEND_PREFIX_ID, vm_id)


def network_name(network_id):
    """Ganeti network name of network ``network_id`` (``snf-net-7``)."""
    return "%snet-%s" % (settings.BACKEND_PREFIX_ID, network_id)


def vm_id_of(name):
    """VM id of an instance name, ``None`` if the name is not ours."""
    prefix = settings.BACKEND_PREFIX_ID
    if not name or not name.startswith(prefix):
        return None
    rest = name[len(prefix):]
    return int(rest) if rest.isdigit() else None


def random_password(length=PASSWORD_LENGTH):
    """``length`` chars of [a-zA-Z0-9] with at least one lower, one upper, one digit."""
    if length < 3:
        raise ValueError("password length must be at least 3")
    while True:
        password = "".join(secrets.choice(_ALPHABET) for _ in range(length))
        if (any(c.islower() for c in password) and any(c.isupper() for c in password)
                and any(c.isdigit() for c in password)):
            return password


# --- snf-manage helpers ---------------------------------------------------

def one_line_errors(parser):
    """Make an argparse parser report usage errors in one stderr line (exit 2)."""
    import sys

    from django.core.management import CommandError

    def error(message):
        if getattr(parser, "called_from_command_line", False):
            sys.stderr.write("%s: error: %s\n" % (parser.prog, message))
            sys.exit(2)
        raise CommandError("Error: %s" % message)

    parser.error = error
    return parser


def add_list_output(parser):
    """``--output table|json|csv`` plus the legacy ``-c`` (pipe-separated, no header)."""
    from synnefo.webproject.management.output import add_output_argument
    add_output_argument(parser)
    parser.add_argument("-c", dest="csv_pipe", action="store_true",
                        help="pipe-separated values without a header (for scripts)")


def print_list(command, headers, rows, options):
    from synnefo.webproject.management.output import _text, print_rows
    if options.get("csv_pipe"):
        for row in rows:
            command.stdout.write("|".join(_text(v) for v in row))
        return
    print_rows(command.stdout, headers, rows, options.get("output", "table"))


def get_object_or_error(model, pk, what, list_command):
    from django.core.management import CommandError
    try:
        return model.objects.get(pk=int(pk))
    except (ValueError, TypeError, model.DoesNotExist):
        raise CommandError("%s with ID %s not found in DB. Use snf-manage %s to find out the "
                           "available IDs." % (what, pk, list_command))
