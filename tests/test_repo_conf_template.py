"""The shipped /etc/synnefo/NN-<package>.conf files are made from the defaults modules.

``synnefo.settings.conf_template`` writes them at package build time; these
tests prove that the text names every setting, that it changes nothing while
commented out, and that uncommenting every line reproduces each default.
"""

import copy
import importlib
import os

import pytest
from synnefo.settings import conf_template
from synnefo.settings.loader import is_setting_name, load_package_defaults, synnefo_entry_points

DISTRIBUTIONS = sorted({ep.dist.name for ep in synnefo_entry_points("default_settings")})


def module_settings(distribution):
    module = importlib.import_module(conf_template.defaults_module_of(distribution))
    return {n: getattr(module, n) for n in dir(module) if is_setting_name(n)}


def test_the_four_packages_with_settings_are_covered():
    assert {"snf-common", "snf-webproject", "snf-cyclades-app", "snf-cyclades-gtools"} <= set(
        DISTRIBUTIONS)


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_every_setting_is_in_the_file(distribution):
    text = conf_template.render(distribution, "20-x.conf")
    computed = conf_template.computed_names(text)
    lines = text.splitlines()
    for name in module_settings(distribution):
        assert name in computed or any(line.startswith("#%s = " % name) for line in lines), name


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_commented_file_changes_nothing_and_uncommented_file_gives_the_defaults(distribution):
    text = conf_template.render(distribution)
    namespace = {"os": os}
    load_package_defaults(namespace)
    before = copy.deepcopy({k: v for k, v in namespace.items() if is_setting_name(k)})
    exec(compile(text, "commented.conf", "exec"), namespace)
    assert {k: v for k, v in namespace.items() if is_setting_name(k)} == before
    active = conf_template.uncomment(text)
    assert active.strip(), "no setting line in the file"
    exec(compile(active, "uncommented.conf", "exec"), namespace)
    computed = conf_template.computed_names(text)
    for name, value in module_settings(distribution).items():
        if name not in computed:
            assert namespace[name] == value, name


def test_a_computed_setting_is_named_not_copied():
    text = conf_template.render("snf-webproject")
    assert conf_template.computed_names(text) == {"INSTALLED_APPS"}
    assert "_installed_apps" not in conf_template.uncomment(text)


def test_an_edited_default_changes_the_file(monkeypatch):
    # the file follows the code: a changed literal in the module shows up in the text
    module = importlib.import_module("synnefo.settings.common_defaults")
    source = conf_template.inspect.getsource(module)
    monkeypatch.setattr(conf_template.inspect, "getsource",
                        lambda m: source.replace('"snf-"', '"xyz-"'))
    assert '#BACKEND_PREFIX_ID = "xyz-"' in conf_template.render("snf-common")


def test_unknown_distribution_is_one_line_and_exit_1(capsys):
    assert conf_template.main(["snf-nothing"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "snf-nothing" in err
    assert conf_template.main([]) == 2

