"""A Ganeti node installs snf-common + snf-cyclades-gtools only: no Django, daemons work."""

import os
import shutil
import subprocess
import venv

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PIP_TIMEOUT = 240


def run(args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, timeout=PIP_TIMEOUT, **kwargs)


def install_role(base, packages):
    """A fresh venv under ``base`` with only ``packages`` of the tree -> (venv dir, env)."""
    target = base / "venv"
    venv.EnvBuilder(system_site_packages=False, with_pip=True, clear=True).create(str(target))
    # Build from copies: building in place would leave build/ and *.egg-info in the repository.
    sources = []
    for package in packages:
        copy = base / package
        shutil.copytree(os.path.join(ROOT, package), copy,
                        ignore=shutil.ignore_patterns("tests", "build", "*.egg-info", "__pycache__"))
        sources.append(str(copy))
    settings_dir = base / "settings"   # a node without site configuration
    settings_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["SYNNEFO_SETTINGS_DIR"] = str(settings_dir)
    pip = [str(target / "bin" / "python"), "-m", "pip", "install", "-q", "--no-input"]
    proc = run(pip + sources, env=env)
    if proc.returncode != 0:   # an offline machine without setuptools in the mirror
        proc = run(pip + ["--no-build-isolation"] + sources, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return target, env


@pytest.fixture(scope="module")
def ganeti_node_venv(tmp_path_factory):
    base = tmp_path_factory.mktemp("ganeti-node")
    yield install_role(base, ("snf-common", "snf-cyclades-gtools"))
    shutil.rmtree(base, ignore_errors=True)


@pytest.mark.slow
def test_django_is_not_installed_on_a_ganeti_node(ganeti_node_venv):
    target, env = ganeti_node_venv
    python = str(target / "bin" / "python")
    proc = run([python, "-c", "import django"], env=env)
    assert proc.returncode != 0
    assert "No module named 'django'" in proc.stderr
    # while the messaging layer of snf-common is there
    proc = run([python, "-c", "import kombu, synnefo.messaging, synnefo.settings.loader"], env=env)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.slow
def test_eventd_help_works_without_django(ganeti_node_venv):
    target, env = ganeti_node_venv
    proc = run([str(target / "bin" / "snf-ganeti-eventd"), "--help"], env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.lower().startswith("usage: snf-ganeti-eventd")


@pytest.mark.slow
def test_hook_and_progress_monitor_import_without_django(ganeti_node_venv):
    target, env = ganeti_node_venv
    for script in ("snf-ganeti-hook", "snf-progress-monitor"):
        assert (target / "bin" / script).exists()
    code = ("import sys, synnefo.ganeti.hook, synnefo.ganeti.progress_monitor, synnefo.ganeti.eventd; "
            "sys.exit('django' in sys.modules)")
    proc = run([str(target / "bin" / "python"), "-c", code], env=env)
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def console_proxy_venv(tmp_path_factory):
    """An API node's console proxy: snf-common + snf-vncauthproxy only."""
    base = tmp_path_factory.mktemp("console-proxy")
    target, env = install_role(base, ("snf-common", "snf-vncauthproxy"))
    yield target, env, base
    shutil.rmtree(base, ignore_errors=True)


@pytest.mark.slow
def test_console_proxy_installs_and_runs_without_django(console_proxy_venv):
    target, env, base = console_proxy_venv
    proc = run([str(target / "bin" / "snf-vncauthproxy"), "--help"], env=env)
    assert proc.returncode == 0 and proc.stdout.startswith("usage: snf-vncauthproxy"), proc.stderr
    users = str(base / "users")
    proc = run([str(target / "bin" / "snf-vncauthproxy"), "--auth-file", users, "--add-user", "cyclades"],
               env=env, input="pw\n")
    assert proc.returncode == 0, proc.stderr
    code = ("import sys, synnefo.vncauthproxy.cli, synnefo.vncauthproxy.proxy; "
            "from synnefo.util.rfb import vnc_auth_response; vnc_auth_response(bytes(16), 'pw'); "
            "sys.exit('django' in sys.modules)")
    proc = run([str(target / "bin" / "python"), "-c", code], env=env)
    assert proc.returncode == 0, proc.stderr
