"""Assemble the settings namespace of a Synnefo process.

Order (later wins):

1. defaults of every installed Synnefo package, found through the entry-point
   group ``synnefo`` under the name ``default_settings`` (so a node knows only
   the settings of what it installed);
2. every ``*.conf`` file of the settings directory (``$SYNNEFO_SETTINGS_DIR``,
   default ``/etc/synnefo``), executed as Python in lexical order of file name
   inside the same namespace, so a file may read and change earlier values.

A conf file that cannot be read or executed raises :class:`SettingsError`
naming the file, the line and the error; callers turn it into a one-line
message and a non-zero exit. So does a conf file, or a settings directory,
that anyone but root or the running user can write (:func:`check_writers`):
conf files are Python run by every Synnefo program, and hold its secrets.
"""

import copy
import importlib
import os
import stat
import sys
import traceback
from importlib.metadata import entry_points

DEFAULT_SETTINGS_DIR = "/etc/synnefo"
ENTRY_POINT_GROUP = "synnefo"


class SettingsError(Exception):
    """A settings file (or a package's defaults) could not be loaded."""


def settings_dir():
    return os.environ.get("SYNNEFO_SETTINGS_DIR", DEFAULT_SETTINGS_DIR)


def _excluded_distributions():
    value = os.environ.get("SYNNEFO_EXCLUDE_PACKAGES", "")
    return {name.strip() for name in value.split(":") if name.strip()}


def synnefo_entry_points(name):
    """Entry points ``name`` of group ``synnefo``, in a stable order.

    Order: snf-common first, then the other distributions by name, so that a
    package building on another one's defaults sees them already in place.
    """
    excluded = _excluded_distributions()
    found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP, name=name)
             if ep.dist is None or ep.dist.name not in excluded]
    found = {(ep.dist.name if ep.dist else "", ep.value): ep for ep in found}
    return [found[key] for key in sorted(found, key=lambda k: (k[0] != "snf-common", k))]


def is_setting_name(name):
    return name.isupper() and not name.startswith("_")


def apply_module_defaults(namespace, module):
    for name in dir(module):
        if is_setting_name(name):
            # a copy: conf files edit nested values (DATABASES[...]) in place
            namespace[name] = copy.deepcopy(getattr(module, name))


def load_package_defaults(namespace):
    for ep in synnefo_entry_points("default_settings"):
        try:
            module = importlib.import_module(ep.value)
        except Exception as exc:  # a broken package must not start silently
            raise SettingsError(
                f"cannot load default settings {ep.value!r} of "
                f"{ep.dist.name if ep.dist else '?'}: {exc}") from exc
        apply_module_defaults(namespace, module)


def conf_files(directory):
    """Regular ``*.conf`` files of ``directory`` in lexical order.

    A missing directory means no site configuration; anything else that
    prevents listing it is an error.
    """
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise SettingsError(f"{directory}: cannot list settings directory: "
                            f"{exc.strerror or exc}") from exc
    paths = [os.path.join(directory, n) for n in names if n.endswith(".conf")]
    return [p for p in paths if os.path.isfile(p)]


def unsafe_writers(path):
    """Who else than root and the running user may write ``path``, or ``None``."""
    info = os.stat(path)
    trusted = {0, os.geteuid()}
    if info.st_uid not in trusted:
        return "its owner (uid %d)" % info.st_uid
    sticky_dir = stat.S_ISDIR(info.st_mode) and info.st_mode & stat.S_ISVTX
    if info.st_mode & stat.S_IWOTH and not sticky_dir:  # in /tmp, others' files are refused
        return "every user"
    if info.st_mode & stat.S_IWGRP and info.st_gid != 0:
        return "group %d" % info.st_gid
    return None


def check_writers(path, what):
    try:
        who = unsafe_writers(path)
    except OSError as exc:
        raise SettingsError(f"{path}: cannot stat {what}: {exc.strerror or exc}") from exc
    if who:
        raise SettingsError(f"{path}: refusing a {what} that {who} can write (it runs as code in "
                            f"every Synnefo program): make it owned by root or this user and "
                            f"not writable by others (chown, chmod go-w)")


def _error_line(exc, path):
    if isinstance(exc, SyntaxError) and exc.filename == path:
        return exc.lineno
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename == path:
            return frame.lineno
    return None


def execute_conf_file(namespace, path):
    check_writers(path, "settings file")
    try:
        with open(path, encoding="utf-8") as handle:
            source = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: cannot read settings file: {exc}") from exc
    namespace["__file__"] = path
    try:
        code = compile(source, path, "exec")
        exec(code, namespace)
    except Exception as exc:
        line = _error_line(exc, path)
        where = f"{path}, line {line}" if line else path
        detail = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        raise SettingsError(f"{where}: {type(exc).__name__}: {detail}") from exc
    finally:
        namespace.pop("__file__", None)


def load_settings(namespace, directory=None):
    """Fill ``namespace`` (a module's ``__dict__``) with every setting."""
    namespace.setdefault("os", os)
    load_package_defaults(namespace)
    directory = directory or settings_dir()
    namespace["SYNNEFO_SETTINGS_DIR"] = directory
    paths = conf_files(directory)
    if paths:
        check_writers(directory, "settings directory")
    for path in paths:
        execute_conf_file(namespace, path)
    return namespace


def fail(exc, prog=None):
    """Print a settings error as one line on stderr and exit 1."""
    prog = prog or os.path.basename(sys.argv[0] or "synnefo")
    print(f"{prog}: settings error: {exc}", file=sys.stderr)
    raise SystemExit(1)
