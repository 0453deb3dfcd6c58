"""synnefo.settings.loader: package defaults, then *.conf files in lexical order."""

import os

import pytest
from synnefo.settings import loader
from synnefo.settings.loader import SettingsError, load_settings


def write(directory, name, text, mode="w"):
    path = os.path.join(directory, name)
    with open(path, mode) as handle:
        handle.write(text)
    return path


def test_defaults_come_from_every_installed_package(tmp_path):
    ns = load_settings({}, str(tmp_path / "missing"))
    # snf-common, snf-webproject, snf-cyclades-app, snf-cyclades-gtools each contribute
    assert ns["BACKEND_PREFIX_ID"] == "snf-"
    assert ns["TIME_ZONE"] == "UTC"
    assert ns["TOKEN_LIFETIME_DAYS"] == 180
    assert ns["GANETI_QUEUE_DIR"] == "/var/lib/ganeti/queue"
    assert ns["SYNNEFO_SETTINGS_DIR"] == str(tmp_path / "missing")
    assert not any(name.startswith("_") and name.isupper() for name in ns)


def test_snf_common_defaults_come_first():
    names = [ep.dist.name for ep in loader.synnefo_entry_points("default_settings")]
    assert names[0] == "snf-common"
    assert names[1:] == sorted(names[1:])
    assert {"snf-webproject", "snf-cyclades-app"} <= set(names)


def test_excluded_package_contributes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNNEFO_EXCLUDE_PACKAGES", "snf-cyclades-app: other")
    ns = load_settings({}, str(tmp_path))
    assert "TOKEN_LIFETIME_DAYS" not in ns and "BACKEND_PREFIX_ID" in ns


def test_conf_files_run_in_lexical_order_and_see_earlier_values(tmp_path):
    write(tmp_path, "20-b.conf", "ORDER = ORDER + ['20-b']\nMAX_VMS_PER_USER = MAX_VMS_PER_USER * 2\n")
    write(tmp_path, "10-a.conf", "ORDER = ['10-a']\nMAX_VMS_PER_USER = 4\n")
    write(tmp_path, "3-c.conf", "ORDER = ORDER + ['3-c']\n")  # '3' sorts after '2'
    write(tmp_path, "99-z.conf.disabled", "raise RuntimeError('not a conf file')\n")
    write(tmp_path, "50-notes.txt", "this is not python\n")
    os.mkdir(tmp_path / "40-dir.conf")
    ns = load_settings({}, str(tmp_path))
    assert ns["ORDER"] == ["10-a", "20-b", "3-c"]
    assert ns["MAX_VMS_PER_USER"] == 8
    assert "__file__" not in ns


def test_conf_file_can_use_os_and_its_own_path(tmp_path):
    write(tmp_path, "00.conf", "HERE = os.path.dirname(__file__)\n")
    assert load_settings({}, str(tmp_path))["HERE"] == str(tmp_path)


def test_missing_directory_is_skipped(tmp_path):
    assert loader.conf_files(str(tmp_path / "nope")) == []


def test_unlistable_directory_is_an_error(tmp_path):
    not_a_dir = write(tmp_path, "file", "")
    with pytest.raises(SettingsError, match="cannot list settings directory"):
        loader.conf_files(not_a_dir)


def test_syntax_error_names_file_and_line(tmp_path):
    write(tmp_path, "00-ok.conf", "A = 1\n")
    path = write(tmp_path, "10-broken.conf", "A = 1\nB = (\nC = 3\n\n")
    with pytest.raises(SettingsError) as info:
        load_settings({}, str(tmp_path))
    message = str(info.value)
    assert message.startswith(path + ", line ")
    assert "SyntaxError" in message and "\n" not in message


def test_runtime_error_names_file_and_line(tmp_path):
    path = write(tmp_path, "10-broken.conf", "A = 1\n\nB = UNDEFINED_NAME + 1\n")
    with pytest.raises(SettingsError) as info:
        load_settings({}, str(tmp_path))
    assert str(info.value) == "%s, line 3: NameError: name 'UNDEFINED_NAME' is not defined" % path


def test_error_raised_in_a_function_of_the_file_points_at_the_file(tmp_path):
    path = write(tmp_path, "10.conf", "def f():\n    return 1 / 0\n\nX = f()\n")
    with pytest.raises(SettingsError, match=r"^%s, line 2: ZeroDivisionError" % path):
        load_settings({}, str(tmp_path))


def test_later_files_do_not_run_after_an_error(tmp_path):
    write(tmp_path, "10.conf", "raise ValueError('stop here')\n")
    write(tmp_path, "20.conf", "REACHED = True\n")
    ns = {}
    with pytest.raises(SettingsError, match="line 1: ValueError: stop here"):
        load_settings(ns, str(tmp_path))
    assert "REACHED" not in ns


def test_undecodable_file_is_an_error(tmp_path):
    path = write(tmp_path, "10.conf", b"A = '\xff\xfe'\n", mode="wb")
    with pytest.raises(SettingsError, match="^%s: cannot read settings file" % path):
        load_settings({}, str(tmp_path))


def test_fail_prints_one_line_and_exits_1(capsys):
    with pytest.raises(SystemExit) as info:
        loader.fail(SettingsError("/etc/synnefo/x.conf, line 2: NameError: boom"), "snf-manage")
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert err == "snf-manage: settings error: /etc/synnefo/x.conf, line 2: NameError: boom\n"
