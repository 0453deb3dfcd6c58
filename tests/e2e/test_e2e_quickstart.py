"""snf-quickstart as `make run` starts it: a process that prints the endpoint
and the token, writes quickstart.json, and stops every process it started on
Ctrl-C (SIGINT), even when its shell handed SIGINT down ignored."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import requests
from synnefo.tools.loopback import free_port
from synnefo.tools.processes import child_pids

pytestmark = pytest.mark.slow

KEYS = {"ui", "api", "token", "settings_dir", "rapi", "rapi_user", "rapi_password"}


@pytest.mark.parametrize("sigint_ignored", [False, True])
def test_quickstart_runs_and_stops_on_ctrl_c(tmp_path, sigint_ignored):
    base = tmp_path / "var"
    port = free_port()
    quickstart = os.path.join(os.path.dirname(sys.executable), "snf-quickstart")

    def ignore_sigint():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    proc = subprocess.Popen([quickstart, "--dir", str(base), "--port", str(port),
                             "--sim-arg=--job-duration=0.2"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=ignore_sigint if sigint_ignored else None)
    children = []
    try:
        deadline = time.monotonic() + 120
        while not (base / "quickstart.json").exists():
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "no quickstart.json after 120 s"
            time.sleep(0.2)
        info = json.loads((base / "quickstart.json").read_text())
        assert set(info) == KEYS
        answer = requests.get(info["api"] + "flavors", headers={"X-Auth-Token": info["token"]}, timeout=10)
        assert answer.status_code == 200
        page = requests.get(info["ui"], timeout=10)     # the web UI and its collected static files
        assert page.status_code == 200 and 'id="signin-form"' in page.text
        assert requests.get(info["ui"].replace("/ui/", "/static/ui/app.css"), timeout=10).status_code == 200
        children[:] = child_pids(proc.pid)
        # simulator, eventd, two dispatchers, console proxy, gunicorn, the reconciliation loop
        assert len(children) == 7
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:     # it did not stop: leave no process of its behind
            proc.kill()
            proc.communicate()
            for child in children:  # each leads a session (process group) of its own
                try:
                    os.killpg(child, signal.SIGKILL)
                except ProcessLookupError:
                    pass
    assert proc.returncode == 0, out
    assert f"API:          {info['api']}" in out and info["token"] in out
    assert f"Web UI:       {info['ui']}" in out
    assert "stopping..." in out
    for child in children:
        assert not os.path.exists(f"/proc/{child}"), f"process {child} outlived snf-quickstart"
