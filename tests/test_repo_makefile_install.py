"""`make run` / `make venv` install the packages without setuptools deprecation banners
(the editable mode the Makefile asks for is the one setuptools supports)."""

import os
import re
import subprocess
import venv

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytestmark = pytest.mark.slow


def makefile_pip_command():
    """``(environment assignments, pip options)`` of the Makefile's editable install."""
    with open(os.path.join(ROOT, "Makefile")) as handle:
        text = handle.read().replace("\\\n", " ")
    match = re.search(r"\n\t([A-Z_]+=\S+ )*\$\(BIN\)/python -m pip install (.*?)\$\(foreach", text)
    assert match, "no pip install line in the Makefile"
    assignments = re.findall(r"([A-Z_]+)=(\S+)", text[match.start():match.start(2)])
    return dict(assignments), match.group(2).split()


def test_editable_install_prints_no_deprecation_banner(tmp_path):
    target = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(str(target))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    # as the Makefile does: a current pip shows the build backend's warnings
    subprocess.run([str(target / "bin" / "python"), "-m", "pip", "install", "-q", "--upgrade", "pip"],
                   capture_output=True, timeout=300, env=env, check=True)
    extra_env, options = makefile_pip_command()
    proc = subprocess.run(
        [str(target / "bin" / "python"), "-m", "pip", "install", *options,
         "--no-deps", "-e", os.path.join(ROOT, "snf-common")],
        capture_output=True, text=True, timeout=300, env=dict(env, **extra_env))
    assert proc.returncode == 0, proc.stderr[-2000:]
    output = proc.stdout + proc.stderr
    assert "Deprecat" not in output and "!!" not in output, output[-3000:]
