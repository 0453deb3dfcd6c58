"""Shared pieces of the user, flavor and image commands of snf-manage.

Every error of these commands (a bad option value, an unknown id, a
constraint the new row would break) is one line on stderr that starts with
``Error:`` and a non-zero exit status; arguments are validated before
anything is written and writes happen inside one transaction.
"""

import sys

from django.core.management.base import BaseCommand, CommandError
from django.db import OperationalError, ProgrammingError


class ManageCommand(BaseCommand):
    """A command whose usage and run-time errors are one ``Error:`` line.

    These commands touch only the database, so Django's system checks (URLs,
    templates ...) are not run for them.
    """

    requires_system_checks = []

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)

        def error(message):
            if getattr(parser, "called_from_command_line", False):
                sys.stderr.write("Error: %s (see snf-manage %s --help)\n" % (message, subcommand))
                sys.exit(2)
            raise CommandError(message)

        parser.error = error
        return parser

    def execute(self, *args, **options):
        try:
            try:
                return super().execute(*args, **options)
            except (OperationalError, ProgrammingError) as exc:
                message = database_error(exc)
                if message is None:
                    raise
                raise CommandError(message) from exc
        except CommandError as exc:
            if options.get("traceback") or not getattr(self, "_called_from_command_line", False):
                raise
            message = str(exc).splitlines()[0] if str(exc) else "command failed"
            self.stderr.write("Error: %s" % message)
            sys.exit(exc.returncode)


def database_error(exc):
    """One line for a database that is unreachable, locked or not migrated; None for other errors."""
    text = (str(exc).strip().splitlines() or ["unavailable"])[0]
    missing_table = "no such table" in text or ("relation" in text and "does not exist" in text)
    if missing_table:
        return "database: %s (not migrated yet? run snf-manage migrate)" % text
    if isinstance(exc, OperationalError):
        return "database: %s" % text
    return None  # a ProgrammingError of another kind is a bug: keep its traceback


def positive_int(text, option):
    """``text`` as an integer > 0, or a CommandError naming ``option``."""
    value = non_negative_int(text, option)
    if value == 0:
        raise CommandError("%s must be a positive integer, not %r" % (option, text))
    return value


MAX_TOKEN_LIFETIME_DAYS = 36500


def non_negative_int(text, option, maximum=2**31 - 1):
    """``text`` as an integer in [0, maximum], or a CommandError naming ``option``."""
    try:
        value = int(str(text).strip())
    except ValueError:
        raise CommandError("%s must be an integer, not %r" % (option, text)) from None
    if value < 0:
        raise CommandError("%s must not be negative, not %r" % (option, text))
    if value > maximum:
        raise CommandError("%s is too large: %r" % (option, text))
    return value


def checked_text(value, option, max_length, allow_empty=True):
    """A one-line text value of at most ``max_length`` characters."""
    if value is None:
        return None
    if not allow_empty and not value.strip():
        raise CommandError("%s must not be empty" % option)
    if len(value) > max_length:
        raise CommandError("%s is longer than %d characters" % (option, max_length))
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise CommandError("%s must not contain control characters" % option)
    return value


def when(moment):
    """A datetime as ``YYYY-MM-DD HH:MM:SS`` (UTC), ``None`` stays ``None``."""
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment is not None else None


def get_user(ref):
    """The user whose uniq is ``ref`` (or, failing that, whose numeric id is ``ref``)."""
    from synnefo.db.models import User
    user = User.objects.filter(uniq=ref).first()
    if user is None and str(ref).isdigit() and len(str(ref)) < 19:
        user = User.objects.filter(pk=int(ref)).first()
    if user is None:
        raise CommandError("User %r not found in DB. Use snf-manage user-list to find out the "
                           "available users." % ref)
    return user


def get_flavor(ref):
    from synnefo.db.models import Flavor
    flavor = None
    if str(ref).isdigit() and len(str(ref)) < 19:
        flavor = Flavor.objects.filter(pk=int(ref)).first()
    if flavor is None:
        raise CommandError("Flavor with ID %r not found in DB. Use snf-manage flavor-list to find "
                           "out the available IDs." % ref)
    return flavor


def get_image(ref):
    from synnefo.db.models import Image
    image = Image.objects.filter(pk=ref).first()
    if image is None:
        raise CommandError("Image %r not found in DB. Use snf-manage image-list to find out the "
                           "available IDs." % ref)
    return image
