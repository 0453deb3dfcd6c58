"""snf-manage: Django's management utility on the Synnefo settings.

Global option ``--settings-dir DIR`` sets ``SYNNEFO_SETTINGS_DIR`` before the
settings are loaded. A broken settings file is reported in one line.
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


def main(argv=None):
    argv = list(sys.argv if argv is None else argv)
    argv[0] = "snf-manage"
    argv = _take_settings_dir(argv)
    # Django's own --version prints Django's release; ours is the tree's.
    from synnefo.util.version import print_version_if_asked
    print_version_if_asked(argv[1:], "snf-manage", "snf-webproject")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "synnefo.settings")
    from synnefo.util.startup import load_settings_or_exit
    load_settings_or_exit("snf-manage")
    from django.core.management import execute_from_command_line
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
