"""The settings reference tables: one row per default setting, and the defaults they show are right.

``test_repo_settings_documented`` checks that each setting is named somewhere
in the docs; this checks the reference itself (``docs/settings-*.rst``): every
setting of a package's defaults module has a row in a list-table, and where
the row's *Default* cell is a plain Python literal it equals the code's value.
"""

import ast
import importlib
import pathlib
import re

import pytest
from synnefo.settings.loader import is_setting_name, synnefo_entry_points

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"
# "   * - ``NAME``" then "     - <default, maybe over several lines>" then "     - <meaning>"
ROW = re.compile(r"^\s*\* - ``([A-Z][A-Z0-9_]*)``[ \t]*\n\s*- (.+?)\n\s*- ", re.M | re.S)


def table_rows():
    rows = {}
    for page in sorted(DOCS.glob("settings-*.rst")):
        for name, default in ROW.findall(page.read_text(encoding="utf-8")):
            rows.setdefault(name, []).append((page.name, " ".join(default.split())))
    return rows


def literal(cell):
    """The value of a Default cell that is exactly one ``literal``, else None."""
    match = re.fullmatch(r"``([^`]*)``", cell)
    if not match:
        return None
    try:
        return (ast.literal_eval(match.group(1)),)
    except (ValueError, SyntaxError):
        return None  # an expression such as APP_INSTALL_URL + "/api"


def defaults_modules():
    return [ep.value for ep in synnefo_entry_points("default_settings")]


@pytest.mark.parametrize("module_name", defaults_modules())
def test_every_setting_has_a_row_with_the_right_default(module_name):
    module = importlib.import_module(module_name)
    rows = table_rows()
    names = sorted(n for n in dir(module) if is_setting_name(n))
    missing = [n for n in names if n not in rows]
    assert not missing, "no row in docs/settings-*.rst for: %s" % ", ".join(missing)
    wrong = []
    for name in names:
        for page, cell in rows[name]:
            value = literal(cell)
            if value is not None and value[0] != getattr(module, name):
                wrong.append("%s (%s): documented %s, code %r" % (name, page, cell, getattr(module, name)))
    assert not wrong, "; ".join(wrong)


def test_row_parser_reads_multi_line_defaults_and_literals():
    text = ("   * - ``A_B``\n     - ``[1,\n       2]``\n     - meaning\n"
            "   * - ``C``\n     - ``X + 1``\n     - meaning\n")
    found = dict(ROW.findall(text))
    assert set(found) == {"A_B", "C"}
    assert literal(" ".join(found["A_B"].split())) == ([1, 2],)
    assert literal(found["C"]) is None and literal("a placeholder") is None


def test_the_tables_are_found():
    # a broken table format would make the check above vacuous
    assert len(table_rows()) >= 50
