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
