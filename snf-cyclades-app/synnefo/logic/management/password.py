"""How backend-add and backend-modify take a RAPI password: never on the
command line (every user sees it in ``ps``), but from a file, from standard
input or from an environment variable."""

import argparse
import getpass
import os
import sys

from django.core.management.base import CommandError

HOW = "--password-file FILE, --password-file - (standard input) or --password-env VAR"


def add_password_arguments(parser):
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--password-file", metavar="FILE",
                        help="read the RAPI password from the first line of FILE; '-' reads it "
                             "from standard input (asked for, not echoed, on a terminal)")
    source.add_argument("--password-env", metavar="VAR",
                        help="read the RAPI password from environment variable VAR")
    # Refused with a message that says what to use instead.
    parser.add_argument("--pass", "--password", dest="password_on_command_line",
                        help=argparse.SUPPRESS)


def _first_line(handle):
    return handle.readline().rstrip("\r\n")


def read_password(options, required):
    """The password the options point at, ``None`` when none is given and not ``required``."""
    if options.get("password_on_command_line") is not None:
        raise CommandError("a password on the command line is visible to every user of this "
                           "machine (ps): give it with %s" % HOW)
    path, var = options.get("password_file"), options.get("password_env")
    if path == "-":
        if sys.stdin.isatty():   # typed: do not echo it
            password = getpass.getpass("RAPI password: ")
        else:
            password = _first_line(sys.stdin)
        where = "standard input"
    elif path:
        try:
            with open(path, encoding="utf-8") as handle:
                password = _first_line(handle)
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError("cannot read the password file %s: %s"
                               % (path, getattr(exc, "strerror", None) or exc))
        where = path
    elif var:
        if var not in os.environ:
            raise CommandError("environment variable %s is not set" % var)
        password, where = os.environ[var], "environment variable %s" % var
    elif required:
        raise CommandError("give the RAPI password with %s" % HOW)
    else:
        return None
    if not password:
        raise CommandError("the password read from %s is empty" % where)
    return password
