"""snf-manage: the --settings-dir global option and its errors."""

import os
import subprocess
import sys

VENV_BIN = os.path.dirname(sys.executable)
SNF_MANAGE = os.path.join(VENV_BIN, "snf-manage")


def run(args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if k != "SYNNEFO_SETTINGS_DIR"}
    env.update(env_extra or {})
    return subprocess.run([SNF_MANAGE] + args, capture_output=True, text=True, timeout=60, env=env)


def test_settings_dir_option_selects_the_conf_files(tmp_path):
    (tmp_path / "10-a.conf").write_text(
        'SECRET_KEY = "t"\nSECRET_ENCRYPTION_KEY = "tests-only key"\n'
        'DATABASES["default"]["NAME"] = %r\nPOLL_LIMIT = 4242\n'
        % str(tmp_path / "db.sqlite3"))
    for option in (["--settings-dir", str(tmp_path)], ["--settings-dir=%s" % tmp_path]):
        proc = run(option + ["diffsettings", "--all"])
        assert proc.returncode == 0, proc.stderr
        assert "POLL_LIMIT = 4242" in proc.stdout


def test_settings_dir_without_value_is_a_one_line_error():
    proc = run(["--settings-dir"])
    assert proc.returncode == 2
    assert proc.stderr == "snf-manage: --settings-dir needs a directory\n"


def test_missing_settings_directory_is_one_line_naming_the_variable(tmp_path):
    missing = str(tmp_path / "nowhere")
    proc = run(["backend-list"], {"SYNNEFO_SETTINGS_DIR": missing})
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "snf-manage: settings directory %s does not exist: set SYNNEFO_SETTINGS_DIR to the "
        "directory of your *.conf files" % missing]


def test_unreachable_database_is_one_line(tmp_path):
    (tmp_path / "10-a.conf").write_text(
        'SECRET_ENCRYPTION_KEY = "tests-only key"\nDATABASES["default"]["NAME"] = %r\n'
        % str(tmp_path / "no" / "such" / "dir" / "db.sqlite3"))
    proc = run(["--settings-dir", str(tmp_path), "network-list"])
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "unable to open database file" in lines[0], proc.stderr
    assert str(tmp_path) in lines[0]
