"""snf-ganeti-hook-install: link snf-ganeti-hook into Ganeti's hook directories.

Ganeti runs the executables of ``<hooks dir>/instance-<op>-post.d/`` whose
names match ``^[a-zA-Z0-9_-]+$`` (a name with a dot, such as ``hook.py``, is
skipped without a word). This makes one symbolic link per operation the hook
handles, checks the name, and leaves a directory that already has a different
file of that name alone unless ``--force``. ``--remove`` takes the links away.
Run it on every node that can become the Ganeti master.
"""

import argparse
import os
import re
import shutil
import sys

from synnefo.util.version import add_version_option

PROG = "snf-ganeti-hook-install"
DEFAULT_HOOKS_DIR = "/etc/ganeti/hooks"
DEFAULT_NAME = "00-snf-ganeti-hook"
OPERATIONS = ("add", "modify", "reboot", "start", "stop")
VALID_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")


class InstallError(Exception):
    pass


def hook_dirs(hooks_dir):
    return [os.path.join(hooks_dir, "instance-%s-post.d" % op) for op in OPERATIONS]


def default_target():
    return shutil.which("snf-ganeti-hook") or "/usr/bin/snf-ganeti-hook"


def check_name(name):
    if not VALID_NAME.match(name):
        raise InstallError("link name %r: Ganeti runs only names matching ^[a-zA-Z0-9_-]+$ "
                           "(letters, digits, '_' and '-')" % name)


def install(hooks_dir, name, target, force=False):
    """Create the links; returns the paths made (an existing right link counts)."""
    check_name(name)
    if not os.path.isabs(target) or not os.access(target, os.X_OK):
        raise InstallError("%s: not an executable absolute path" % target)
    links = [os.path.join(d, name) for d in hook_dirs(hooks_dir)]
    for link in links:   # check all before changing anything
        if os.path.lexists(link) and os.path.realpath(link) != os.path.realpath(target) and not force:
            raise InstallError("%s exists and is not a link to %s (use --force to replace it)"
                               % (link, target))
    for link in links:
        os.makedirs(os.path.dirname(link), exist_ok=True)
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(target, link)
    return links


def remove(hooks_dir, name, target):
    """Remove the links to ``target`` named ``name``; returns the paths removed."""
    check_name(name)
    removed = []
    for link in (os.path.join(d, name) for d in hook_dirs(hooks_dir)):
        if os.path.islink(link) and os.path.realpath(link) == os.path.realpath(target):
            os.unlink(link)
            removed.append(link)
    return removed


def parse_args(argv):
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0].split(": ", 1)[1],
                                     epilog="Operations: instance-{%s}-post.d." % ",".join(OPERATIONS))
    parser.add_argument("--hooks-dir", default=DEFAULT_HOOKS_DIR,
                        help="Ganeti's hooks directory (default %s)" % DEFAULT_HOOKS_DIR)
    parser.add_argument("--name", default=DEFAULT_NAME,
                        help="link name, ^[a-zA-Z0-9_-]+$ (default %s)" % DEFAULT_NAME)
    parser.add_argument("--target", default=None,
                        help="the hook executable (default: snf-ganeti-hook on PATH)")
    parser.add_argument("--force", action="store_true",
                        help="replace a different file of the same name")
    parser.add_argument("--remove", action="store_true", help="remove the links instead")
    add_version_option(parser, PROG, "snf-cyclades-gtools")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    target = os.path.abspath(args.target or default_target())
    try:
        if args.remove:
            done = remove(args.hooks_dir, args.name, target)
            verb = "removed"
        else:
            done = install(args.hooks_dir, args.name, target, force=args.force)
            verb = "linked"
    except (InstallError, OSError) as exc:
        print("%s: %s" % (PROG, exc), file=sys.stderr)
        return 1
    for path in done:
        print("%s %s -> %s" % (verb, path, target))
    if not done:
        print("%s: nothing to do" % PROG)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
