"""Write the shipped ``/etc/synnefo/NN-<package>.conf`` of a package from its defaults module.

Every setting of the package's ``default_settings`` module (following its
``from synnefo.x import *`` lines) appears commented out at its default, with
the comments that precede it in the source, so the file an operator edits is
made from the code and cannot drift from it. Lines of code start with ``#``,
lines of explanation with ``##``; removing the ``#`` of a code line gives a
working override. A setting the module computes at import time from a helper
(for example ``INSTALLED_APPS``, completed from the installed packages) is
shown at its literal start and listed as computed.

Usage: ``python3 -m synnefo.settings.conf_template DISTRIBUTION [FILE_NAME]``.
"""

import ast
import importlib
import inspect
import sys

from synnefo.settings.loader import is_setting_name, synnefo_entry_points

HEADER = """\
## {file_name}: settings of {distribution}, each one commented out at its default.
##
## Python, executed after the packages' defaults, with the other files of this
## directory in lexical order of name (a later file wins and may change the
## values of an earlier one, e.g. DATABASES["default"]["HOST"] = "db").
## To change a setting, remove the single '#' in front of its code lines.
## Reference: the settings pages of the admin guide (docs/settings-*.rst).
## Generated from {module} by synnefo.settings.conf_template.
"""


class TemplateError(Exception):
    pass


def defaults_module_of(distribution):
    for ep in synnefo_entry_points("default_settings"):
        if ep.dist is not None and ep.dist.name == distribution:
            return ep.value
    raise TemplateError(f"{distribution}: no 'default_settings' entry point "
                        f"(is the package installed?)")


def _names_in(node):
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _targets(stmt):
    if isinstance(stmt, ast.Assign):
        return [t.id for t in stmt.targets if isinstance(t, ast.Name)]
    if isinstance(stmt, (ast.AnnAssign, ast.AugAssign)) and isinstance(stmt.target, ast.Name):
        return [stmt.target.id]
    return []


def _comment_block(lines, first_line):
    """The full-line comments right above line ``first_line`` (1-based)."""
    block, index = [], first_line - 2
    while index >= 0 and lines[index].lstrip().startswith("#"):
        block.insert(0, lines[index].strip())
        index -= 1
    return block


def module_sections(module_name):
    """[(module name, [text lines])] for a defaults module and the ones it star-imports."""
    module = importlib.import_module(module_name)
    source = inspect.getsource(module)
    lines = source.splitlines()
    tree = ast.parse(source)
    sections, body, computed = [], [], []
    for stmt in tree.body:
        if isinstance(stmt, ast.ImportFrom) and any(a.name == "*" for a in stmt.names):
            sections.extend(module_sections(stmt.module))
            continue
        names = [n for n in _targets(stmt) if is_setting_name(n)]
        if not names:
            continue
        foreign = {n for n in _names_in(stmt.value) if n != "os" and not is_setting_name(n)}
        if foreign:   # computed from a helper of the module: not something to copy
            computed.extend(names)
            continue
        comments = _comment_block(lines, stmt.lineno)
        if body:
            body.append("")
        body.extend("##" + c[1:] for c in comments)
        body.extend("#" + line for line in lines[stmt.lineno - 1:stmt.end_lineno])
    for name in computed:
        body += ["", f"## {name}: completed when the settings load (by {module_name});",
                 f"## extend it here rather than replacing it, e.g. {name} += [...]"]
    return [(module_name, body)] + sections


def render(distribution, file_name=None):
    module_name = defaults_module_of(distribution)
    file_name = file_name or f"{distribution}.conf"
    out = [HEADER.format(file_name=file_name, distribution=distribution, module=module_name)]
    for name, body in module_sections(module_name):
        if not body:
            continue
        out.append(f"\n## ---- {name} " + "-" * max(4, 66 - len(name)) + "\n\n")
        out.append("\n".join(body) + "\n")
    return "".join(out)


def uncomment(text):
    """The conf text with every setting active (what a test executes)."""
    return "\n".join(line[1:] for line in text.splitlines()
                     if line.startswith("#") and not line.startswith("##"))


def computed_names(text):
    return {line.split()[1].rstrip(":") for line in text.splitlines()
            if line.startswith("## ") and line.endswith(";") and "completed when" in line}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) not in (1, 2) or argv[0].startswith("-"):
        print("usage: python3 -m synnefo.settings.conf_template DISTRIBUTION [FILE_NAME]",
              file=sys.stderr)
        return 2
    try:
        sys.stdout.write(render(*argv))
    except TemplateError as exc:
        print(f"conf_template: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
