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

pytestmark = pytest.mark.slow

KEYS = {"api", "token", "settings_dir", "rapi", "rapi_user", "rapi_password"}


def children_of(pid):
    """Pids whose session is ``pid``'s children's: quickstart starts each in a new session."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:        # ppid
            found.append(int(entry))
    return found


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
        children[:] = children_of(proc.pid)
        assert len(children) == 6          # simulator, eventd, two dispatchers, console proxy, gunicorn
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
    assert "stopping..." in out
    for child in children:
        assert not os.path.exists(f"/proc/{child}"), f"process {child} outlived snf-quickstart"
