"""`make run` reconciles a staggered share of the servers every minute, and
stopping the deployment stops that loop entirely (no sleep left behind)."""

import os
import time

from synnefo.tools.quickstart import Deployment


def test_reconciler_loop_runs_periodically_and_stops_whole(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    fake = bin_dir / "snf-manage"
    fake.write_text(f"#!/bin/sh\necho \"$@\" >> {calls}\n")
    fake.chmod(0o755)
    dep = Deployment(tmp_path / "dep", log=lambda *a: None, reconcile_every=6)
    dep.bin = str(bin_dir)
    os.makedirs(dep.log_dir)
    dep.start_reconciler()
    proc = dep.process("reconciler")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not calls.exists():
        time.sleep(0.05)
    time.sleep(0.2)  # now in its 6 s sleep
    lines = calls.read_text().splitlines()
    assert len(lines) == 1
    assert lines[0].split()[:2] == ["reconcile-servers", "--fix-all"] and "--all" not in lines[0]
    assert lines[0].split()[-2:] == ["--interval", "0.1"]  # 6 s
    dep.stop(timeout=5)
    assert proc.returncode == 0
    deadline = time.monotonic() + 3  # a killed sleep may take a moment to be reaped
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)   # the loop's process group, its sleep included
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError("a process of the reconciler loop outlived stop()")
