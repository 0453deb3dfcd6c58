"""Start-up helpers shared by every Synnefo program."""

import os
import sys

# Django system checks with this tag stop every Django program at start
# (snf-manage, snf-dispatcher, the WSGI application) until fixed.
STARTUP_TAG = "synnefo-startup"
# Exit status of a WSGI worker that refuses to start: gunicorn's "worker
# failed to boot", which stops gunicorn instead of starting workers forever.
WSGI_REFUSED_STATUS = 3


def load_settings_or_exit(prog, require_dir=False):
    """Import ``synnefo.settings`` (which assembles every setting) and return it.

    A broken conf file ends the program with one line on stderr and exit
    status 1. The loader lives inside the package whose import runs it, so its
    ``SettingsError`` is looked up only after the import failed. With
    ``require_dir`` (programs that need a database), a settings directory that
    does not exist ends it the same way, naming ``SYNNEFO_SETTINGS_DIR``.
    """
    try:
        import synnefo.settings as settings
    except Exception as exc:
        loader = sys.modules.get("synnefo.settings.loader")
        if loader is None or not isinstance(exc, loader.SettingsError):
            raise
        print(f"{prog}: settings error: {exc}", file=sys.stderr)
        raise SystemExit(1)
    directory = settings.SYNNEFO_SETTINGS_DIR
    if require_dir and not os.path.isdir(directory):
        print(f"{prog}: settings directory {directory} does not exist: set "
              f"SYNNEFO_SETTINGS_DIR to the directory of your *.conf files", file=sys.stderr)
        raise SystemExit(1)
    return settings


def refuse_unsafe_start(prog, status=1):
    """Run the system checks tagged ``STARTUP_TAG`` (Django must be set up);
    on an error print one line per problem on stderr and exit ``status``."""
    from django.core import checks
    errors = [m for m in checks.run_checks(tags=[STARTUP_TAG]) if m.level >= checks.ERROR]
    if not errors:
        return
    for message in errors:
        print(f"{prog}: refusing to start: {message.msg}", file=sys.stderr)
    raise SystemExit(status)
