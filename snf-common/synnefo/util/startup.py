"""Start-up helpers shared by every Synnefo program."""

import sys


def load_settings_or_exit(prog):
    """Import ``synnefo.settings`` (which assembles every setting) and return it.

    A broken conf file ends the program with one line on stderr and exit
    status 1. The loader lives inside the package whose import runs it, so its
    ``SettingsError`` is looked up only after the import failed.
    """
    try:
        import synnefo.settings as settings
    except Exception as exc:
        loader = sys.modules.get("synnefo.settings.loader")
        if loader is None or not isinstance(exc, loader.SettingsError):
            raise
        print(f"{prog}: settings error: {exc}", file=sys.stderr)
        raise SystemExit(1)
    return settings
