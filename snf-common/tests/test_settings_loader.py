"""The settings loader: package defaults, then *.conf files in lexical order."""

import copy
import os
import subprocess
import sys

import pytest
from synnefo.settings import loader
from synnefo.settings.loader import SettingsError, conf_files, execute_conf_file, load_settings

VENV_BIN = os.path.dirname(sys.executable)


def write(directory, name, text):
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_defaults_come_from_every_installed_package(tmp_path):
    namespace = load_settings({}, str(tmp_path))
    # one setting of each package's default_settings entry point
    assert namespace["EXCHANGE_GANETI"] == "ganeti"            # snf-common
    assert namespace["TIME_ZONE"] == "UTC"                     # snf-webproject
    assert namespace["MAX_VMS_PER_USER"] == 3                  # snf-cyclades-app
    assert "BACKEND_PREFIX_ID" in namespace
    assert namespace["SYNNEFO_SETTINGS_DIR"] == str(tmp_path)


def test_excluded_package_contributes_no_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNNEFO_EXCLUDE_PACKAGES", "snf-cyclades-app")
    namespace = load_settings({}, str(tmp_path))
    assert "MAX_VMS_PER_USER" not in namespace
    assert namespace["EXCHANGE_GANETI"] == "ganeti"


def test_conf_files_run_in_lexical_order_and_see_earlier_values(tmp_path):
    write(tmp_path, "20-b.conf", "ORDER.append('20-b')\nPOLL_LIMIT = POLL_LIMIT * 2\n")
    write(tmp_path, "10-a.conf", "ORDER = ['10-a']\nPOLL_LIMIT = 100\n")
    write(tmp_path, "99-z.conf", "ORDER.append('99-z')\n")
    namespace = load_settings({}, str(tmp_path))
    assert namespace["ORDER"] == ["10-a", "20-b", "99-z"]
    assert namespace["POLL_LIMIT"] == 200


def test_only_regular_conf_files_are_read(tmp_path):
    write(tmp_path, "10-a.conf", "A = 1\n")
    write(tmp_path, "10-a.conf.dpkg-old", "raise RuntimeError('must not run')\n")
    write(tmp_path, "README", "not python at all (\n")
    (tmp_path / "30-dir.conf").mkdir()
    assert conf_files(str(tmp_path)) == [str(tmp_path / "10-a.conf")]


def test_missing_directory_means_defaults_only(tmp_path):
    namespace = load_settings({}, str(tmp_path / "absent"))
    assert namespace["TIME_ZONE"] == "UTC"


@pytest.fixture
def private_database_defaults(monkeypatch):
    """A copy of the webproject's DATABASES default for the test to change.

    The loader copies references to the defaults modules' objects, so a conf
    file changing a nested default changes the module (and the live settings
    of this test process, whose database would then point elsewhere).
    """
    from synnefo.webproject import default_settings
    monkeypatch.setattr(default_settings, "DATABASES", copy.deepcopy(default_settings.DATABASES))
    return default_settings


def test_conf_file_may_change_nested_defaults(tmp_path, private_database_defaults):
    write(tmp_path, "10-db.conf", 'DATABASES["default"]["NAME"] = os.path.join("/srv", "x.db")\n')
    namespace = load_settings({}, str(tmp_path))
    assert namespace["DATABASES"]["default"]["NAME"] == "/srv/x.db"


# Remove the marker once loader.apply_module_defaults copies the defaults
# (copy.deepcopy): the test then passes.
def test_conf_file_does_not_change_the_package_defaults(tmp_path, private_database_defaults):
    before = copy.deepcopy(private_database_defaults.DATABASES)
    write(tmp_path, "10-db.conf", 'DATABASES["default"]["NAME"] = "/srv/y.db"\n')
    load_settings({}, str(tmp_path))
    assert private_database_defaults.DATABASES == before


def test_syntax_error_names_file_and_line(tmp_path):
    path = write(tmp_path, "10-bad.conf", "A = 1\nB = (\nC = 3\n")
    with pytest.raises(SettingsError) as info:
        load_settings({}, str(tmp_path))
    message = str(info.value)
    assert message.startswith("%s, line " % path)
    assert "SyntaxError" in message


def test_runtime_error_names_file_and_line(tmp_path):
    write(tmp_path, "10-good.conf", "A = 1\n")
    path = write(tmp_path, "20-bad.conf", "B = 2\n\nC = undefined_name + 1\n")
    with pytest.raises(SettingsError) as info:
        load_settings({}, str(tmp_path))
    assert str(info.value) == ("%s, line 3: NameError: name 'undefined_name' is not defined" % path)


def test_error_inside_a_function_defined_in_the_file_points_at_its_line(tmp_path):
    path = write(tmp_path, "10-f.conf", "def f():\n    return 1 / 0\n\nX = f()\n")
    with pytest.raises(SettingsError) as info:
        execute_conf_file({}, path)
    assert str(info.value).startswith("%s, line 2: ZeroDivisionError" % path)


def test_unreadable_conf_file_is_an_error(tmp_path):
    path = tmp_path / "10-bin.conf"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(SettingsError) as info:
        load_settings({}, str(tmp_path))
    assert str(path) in str(info.value)


def test_unlistable_directory_is_an_error(tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    with pytest.raises(SettingsError) as info:
        conf_files(str(not_a_dir))
    assert "cannot list settings directory" in str(info.value)


def test_fail_prints_one_line_and_exits_1(capsys):
    with pytest.raises(SystemExit) as info:
        loader.fail(SettingsError("/etc/synnefo/x.conf, line 2: NameError: boom"), "snf-manage")
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert err == "snf-manage: settings error: /etc/synnefo/x.conf, line 2: NameError: boom\n"


BROKEN_CONFS = [("A = (\n", "SyntaxError"), ("A = 1\nB = 1 / 0\n", "ZeroDivisionError")]


@pytest.mark.parametrize("text, kind", BROKEN_CONFS)
def test_snf_manage_with_broken_conf_exits_with_one_line(tmp_path, text, kind):
    path = write(tmp_path, "50-broken.conf", text)
    env = dict(os.environ, SYNNEFO_SETTINGS_DIR=str(tmp_path), SYNNEFO_DATA_DIR=str(tmp_path))
    proc = subprocess.run([os.path.join(VENV_BIN, "snf-manage"), "help"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("snf-manage: settings error: %s, line " % path)
    assert kind in lines[0]
    assert proc.stdout == ""


@pytest.mark.parametrize("mode", [0o666, 0o646, 0o664])
def test_conf_file_writable_by_others_is_refused(tmp_path, mode):
    path = tmp_path / "10-a.conf"
    path.write_text("A = 1\n")
    os.chmod(path, mode)
    if mode & 0o020:
        os.chown(path, -1, 4242) if os.geteuid() == 0 else pytest.skip("chown needs root")
    with pytest.raises(SettingsError, match="refusing a settings file that .* can write"):
        load_settings({}, str(tmp_path))
    os.chmod(path, 0o644)
    assert load_settings({}, str(tmp_path))["A"] == 1


def test_conf_file_owned_by_another_user_is_refused(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("chown needs root")
    path = tmp_path / "10-a.conf"
    path.write_text("A = 1\n")
    os.chown(path, 4242, -1)
    with pytest.raises(SettingsError, match=r"its owner \(uid 4242\)"):
        load_settings({}, str(tmp_path))


def test_settings_directory_writable_by_everyone_is_refused(tmp_path):
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "10-a.conf").write_text("A = 1\n")
    os.chmod(conf, 0o777)
    with pytest.raises(SettingsError, match="refusing a settings directory that every user"):
        load_settings({}, str(conf))
    os.chmod(conf, 0o1777)   # sticky, like /tmp: others cannot replace our files
    assert load_settings({}, str(conf))["A"] == 1
