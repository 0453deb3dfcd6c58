"""snf-quickstart supervises its daemons (issue 18 item 3): kill -9 of a
dispatcher and of eventd, both come back by themselves (reported on the
terminal and in log/supervisor.log) and a new server still reaches ACTIVE."""

import json
import os
import re
import signal
import subprocess
import sys

import pytest
from synnefo.tools.client import ComputeClient, wait_for
from synnefo.tools.loopback import free_port
from synnefo.tools.processes import children

pytestmark = pytest.mark.slow


def pid_of(pid, program):
    matches = [p for name, p in children(pid) if program in name]
    return matches[0] if len(matches) == 1 else None


def wait_until(predicate, timeout, what):
    return wait_for(predicate, bool, what=what, timeout=timeout, interval=0.2)


def test_killed_daemons_come_back_and_servers_still_build(tmp_path):
    base = tmp_path / "var"
    quickstart = os.path.join(os.path.dirname(sys.executable), "snf-quickstart")
    proc = subprocess.Popen([quickstart, "--dir", str(base), "--port", str(free_port()),
                             "--sim-arg=--job-duration=0.2"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    started = []
    try:
        def running():
            assert proc.poll() is None, proc.stdout.read()
            return (base / "quickstart.json").exists()
        wait_until(running, 120, "quickstart.json")
        info = json.loads((base / "quickstart.json").read_text())
        started[:] = [p for _name, p in children(proc.pid)]
        dispatcher = min(p for name, p in children(proc.pid) if "snf-dispatcher" in name)
        eventd = pid_of(proc.pid, "snf-ganeti-eventd")
        for pid in (dispatcher, eventd):
            os.kill(pid, signal.SIGKILL)
        log = base / "log" / "supervisor.log"

        def both_back():
            text = log.read_text() if log.exists() else ""
            return "eventd restarted" in text and re.search(r"dispatcher-\d restarted", text) and text
        text = wait_until(both_back, 30, "both daemons restarted")
        assert "eventd died (killed by SIGKILL)" in text
        assert re.search(r"dispatcher-\d died \(killed by SIGKILL\) after \d+ s; restarting in 1 s", text)
        assert proc.poll() is None  # the deployment is still up
        now = children(proc.pid)
        assert pid_of(proc.pid, "snf-ganeti-eventd") not in (None, eventd)
        assert len([n for n, _p in now if "snf-dispatcher" in n]) == 2
        with ComputeClient(info["api"], info["token"], interval=0.3) as api:
            flavor = api.list_flavors()[0]["id"]
            image = api.list_images()[0]["id"]
            server = api.create_server("after-kill", image, flavor)
            api.wait_server(server["id"], "ACTIVE", timeout=60)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        started.extend(p for _name, p in children(proc.pid))  # restarted ones included
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        for pid in started:  # each leads a process group of its own
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert proc.returncode == 0, out
    assert "eventd died (killed by SIGKILL)" in out and "eventd restarted" in out
