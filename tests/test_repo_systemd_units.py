"""The shipped systemd units run the programs where pip installed them
(systemd/install-units.sh), not only from /usr/bin."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UNITS_DIR = os.path.join(ROOT, "systemd")
SCRIPT = os.path.join(UNITS_DIR, "install-units.sh")
BIN = os.path.dirname(sys.executable)
UNITS = (("snf-dispatcher@", "snf-dispatcher"), ("snf-ganeti-eventd", "snf-ganeti-eventd"))


def run(*args, path=None):
    env = dict(os.environ, PATH=path if path is not None else BIN + os.pathsep + os.environ["PATH"])
    return subprocess.run(["sh", SCRIPT, *args], capture_output=True, text=True, timeout=30, env=env)


def exec_start(path):
    with open(path) as handle:
        return [line.split("=", 1)[1].split()[0] for line in handle if line.startswith("ExecStart=")]


def test_units_point_at_the_installed_programs(tmp_path):
    proc = run("--dest", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    for unit, name in UNITS:
        [program] = exec_start(tmp_path / f"{unit}.service")
        assert program == os.path.join(BIN, name) and os.access(program, os.X_OK)
        with open(os.path.join(UNITS_DIR, f"{unit}.service")) as shipped:
            original = shipped.read()
        # only ExecStart changes
        assert (tmp_path / f"{unit}.service").read_text() == original.replace(
            f"ExecStart=/usr/bin/{name} ", f"ExecStart={BIN}/{name} ")


def test_explicit_bin_dir_and_errors(tmp_path):
    proc = run("--bin-dir", BIN, "--dest", str(tmp_path), "snf-dispatcher.service", path="/usr/bin:/bin")
    assert proc.returncode == 0, proc.stderr
    assert exec_start(tmp_path / "snf-dispatcher@.service") == [os.path.join(BIN, "snf-dispatcher")]
    assert not (tmp_path / "snf-ganeti-eventd.service").exists()
    missing = run("--dest", str(tmp_path), "snf-dispatcher", path="/nonexistent:/bin")
    assert missing.returncode == 1 and "not on PATH: give --bin-dir" in missing.stderr
    assert run("--dest", str(tmp_path), "snf-nothing").returncode == 2
    assert run("--dest", str(tmp_path), "snf-api").returncode == 2   # gunicorn of the package's venv
    assert run("--bin-dir", str(tmp_path), "--dest", str(tmp_path)).returncode == 1


DAEMONS = ("snf-api", "snf-dispatcher@", "snf-ganeti-eventd", "snf-vncauthproxy")


def unit_sections(path):
    """``{section: {key: value}}`` of a unit file (the last value of a repeated key)."""
    sections, current = {}, None
    with open(path) as handle:
        for line in handle:
            line = line.strip()
            if line.startswith("[") and line.endswith("]"):
                current = sections.setdefault(line[1:-1], {})
            elif current is not None and "=" in line and not line.startswith("#"):
                key, value = line.split("=", 1)
                current[key] = value
    return sections


def test_daemons_are_restarted_whatever_ended_them_and_never_given_up_on():
    """The policy snf-quickstart's supervisor follows (issue 18): restart on any
    exit, after a delay, without a start limit that would leave a daemon dead
    after a long database or broker outage."""
    for unit in DAEMONS:
        sections = unit_sections(os.path.join(UNITS_DIR, f"{unit}.service"))
        assert sections["Service"]["Restart"] == "always", unit
        assert 1 <= float(sections["Service"]["RestartSec"]) <= 30, unit
        assert sections["Unit"]["StartLimitIntervalSec"] == "0", unit


def test_the_timer_run_is_not_restarted():
    """The reconciliation run is a oneshot its timer starts again: no restart policy."""
    sections = unit_sections(os.path.join(UNITS_DIR, "snf-reconcile-servers.service"))
    assert sections["Service"]["Type"] == "oneshot" and "Restart" not in sections["Service"]
