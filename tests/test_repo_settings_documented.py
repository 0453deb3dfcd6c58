"""Every setting that a package's defaults module defines is documented in docs/."""

import importlib
import pathlib
import re

import pytest
from synnefo.settings.loader import is_setting_name, synnefo_entry_points

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def default_settings_modules():
    modules = [ep.value for ep in synnefo_entry_points("default_settings")]
    assert modules, "no package declares synnefo.default_settings"
    return modules


def documented_names():
    text = "\n".join(p.read_text(encoding="utf-8") for p in DOCS.rglob("*.rst"))
    return set(re.findall(r"``([A-Z][A-Z0-9_]*)``", text))


def test_every_package_with_defaults_is_found():
    modules = default_settings_modules()
    for expected in ("synnefo.settings.common_defaults", "synnefo.webproject.default_settings",
                     "synnefo.app_settings", "synnefo.ganeti.default_settings"):
        assert expected in modules


@pytest.mark.parametrize("module_name", default_settings_modules())
def test_settings_of_module_are_documented(module_name):
    module = importlib.import_module(module_name)
    names = sorted(name for name in dir(module) if is_setting_name(name))
    assert names, "%s defines no settings" % module_name
    missing = [name for name in names if name not in documented_names()]
    assert not missing, "settings of %s not documented in docs/*.rst (as ``NAME``): %s" % (
        module_name, ", ".join(missing))


def test_documented_name_detection_needs_literal_markup(tmp_path):
    # The check only counts ``NAME`` (inline literal), not a bare word in prose.
    text = "The POLL_LIMIT setting and ``MAX_VMS_PER_USER``."
    assert set(re.findall(r"``([A-Z][A-Z0-9_]*)``", text)) == {"MAX_VMS_PER_USER"}
