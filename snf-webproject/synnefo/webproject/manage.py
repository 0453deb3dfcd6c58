"""snf-manage: Django's management utility on the Synnefo settings.

Global option ``--settings-dir DIR`` sets ``SYNNEFO_SETTINGS_DIR`` before the
settings are loaded. A broken settings file, a settings directory that does
not exist, a failed start-up check (e.g. an unset ``SECRET_ENCRYPTION_KEY``),
a configuration error (e.g. a stored secret no key decrypts) and a database
that cannot be reached are each reported in one line, exit status 1.
"""

import os
import sys


def _take_settings_dir(argv):
    args = []
    it = iter(argv)
    for arg in it:
        if arg == "--settings-dir":
            value = next(it, None)
            if value is None:
                print("snf-manage: --settings-dir needs a directory", file=sys.stderr)
                raise SystemExit(2)
            os.environ["SYNNEFO_SETTINGS_DIR"] = value
        elif arg.startswith("--settings-dir="):
            os.environ["SYNNEFO_SETTINGS_DIR"] = arg.split("=", 1)[1]
        else:
            args.append(arg)
    return args


# Commands that run even while a start-up check fails (they report it).
UNCHECKED_COMMANDS = {"check", "help", "version", "--help", "-h", "--version"}


def main(argv=None):
    argv = list(sys.argv if argv is None else argv)
    argv[0] = "snf-manage"
    argv = _take_settings_dir(argv)
    # Django's own --version prints Django's release; ours is the tree's.
    from synnefo.util.version import print_version_if_asked
    print_version_if_asked(argv[1:], "snf-manage", "snf-webproject")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "synnefo.settings")
    from synnefo.util.startup import load_settings_or_exit, refuse_unsafe_start
    settings = load_settings_or_exit("snf-manage", require_dir=True)
    import django
    from django.core.exceptions import ImproperlyConfigured
    from django.db import DatabaseError
    try:
        django.setup()
        if len(argv) > 1 and argv[1] not in UNCHECKED_COMMANDS:
            refuse_unsafe_start("snf-manage")
        from django.core.management import execute_from_command_line
        execute_from_command_line(argv)
    except ImproperlyConfigured as exc:
        print("snf-manage: configuration error: %s" % exc, file=sys.stderr)
        raise SystemExit(1)
    except DatabaseError as exc:
        print("snf-manage: database error: %s (settings from %s; see SYNNEFO_SETTINGS_DIR)"
              % (str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
                 settings.SYNNEFO_SETTINGS_DIR), file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
