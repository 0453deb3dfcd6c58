"""snf-burnin over real processes: it passes against a whole deployment (the
simulator, PostgreSQL + RabbitMQ, a real Ganeti), fails clearly against a
broken one (dispatchers stopped: builds never finish), stops cleanly on
Ctrl-C, and leaves nothing behind in every case."""

import json
import os
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

pytestmark = pytest.mark.slow

BURNIN = os.path.join(os.path.dirname(sys.executable), "snf-burnin")
# Fast polling for a loopback deployment; the timeouts stay generous.
FAST = ["--query-interval", "0.3", "--guest-probe", "3"]


def ensure_pools(deployment):
    """The bridge and MAC-prefix pools private networks are allocated from."""
    pools = json.loads(deployment.manage("pool-list", "--output", "json").stdout or "[]")
    have = {p["type"] for p in pools}
    if "bridge" not in have:
        deployment.manage("pool-create", "--type", "bridge", "--size", "20", "--base", "prv")
    if "mac-prefix" not in have:
        deployment.manage("pool-create", "--type", "mac-prefix", "--size", "100")


def burnin(deployment, log_folder, *args, timeout=600):
    # --token=: a token may start with "-"
    cmd = [BURNIN, "--api", deployment.info["api"], f"--token={deployment.info['token']}",
           "--log-folder", str(log_folder), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def burnin_flavor_args(api, deployment):
    """On a real cluster, a flavor of a disk template it enables (the API cannot tell)."""
    if deployment.disk_templates is None:
        return []
    flavor = next(f for f in api.list_flavors(detail=True)
                  if f["SNF:disk_template"] in deployment.disk_templates)
    return ["--force-flavor", str(flavor["id"])]


def only_run(log_folder):
    runs = [d for d in os.listdir(log_folder) if d.isdigit()]
    assert len(runs) == 1, runs
    return os.path.join(log_folder, runs[0])


def assert_nothing_left(api):
    servers = [s for s in api.list_servers(detail=True) if s["name"].startswith("snf-test-")]
    networks = [n for n in api.list_networks(detail=True) if n["name"].startswith("snf-test-")]
    assert not servers and not networks, (servers, networks)


def test_burnin_passes_and_leaves_nothing(api, deployment, tmp_path):
    ensure_pools(deployment)
    proc = burnin(deployment, tmp_path, *FAST, *burnin_flavor_args(api, deployment))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "Result: PASSED" in out
    folder = only_run(tmp_path)
    report = json.load(open(os.path.join(folder, "report.json")))
    assert report["result"] == "passed" and not report["leftovers"], report
    names = {c["name"] for c in report["cases"]}
    assert names == {"setup", "auth", "images", "flavors", "servers", "server_spawn", "network_spawn"}
    for case in report["cases"]:
        assert case["status"] in ("passed", "skipped"), case
        for step in case["steps"]:
            assert step["status"] in ("passed", "skipped"), step
            if step["status"] == "skipped":
                assert step["message"], step       # every skip says why
    lifecycle = next(c for c in report["cases"] if c["name"] == "server_spawn")
    passed = {s["step"] for s in lifecycle["steps"] if s["status"] == "passed"}
    # create, build, metadata, rename, shutdown, start, both reboots, firewall, delete
    assert {"001", "004", "005", "006", "011", "012", "013", "014", "015", "018"} <= passed, lifecycle
    suites = ET.parse(os.path.join(folder, "junit.xml")).getroot()
    assert suites.get("failures") == "0" and suites.get("errors") == "0"
    assert int(suites.get("tests")) == sum(len(c["steps"]) for c in report["cases"])
    assert_nothing_left(api)


def stop_dispatchers(deployment):
    stopped = []
    for name, proc in deployment.processes:
        if name.startswith("dispatcher-"):
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
            stopped.append(name)
    return stopped


def test_stopped_dispatchers_are_a_build_failure(api, deployment, tmp_path):
    stopped = stop_dispatchers(deployment)
    try:
        proc = burnin(deployment, tmp_path, "--set-tests", "server_spawn", "--build-warning", "2",
                      "--build-fail", "5", "--action-timeout", "5", *FAST,
                      *burnin_flavor_args(api, deployment))
    finally:
        for name in stopped:
            deployment.restart(name)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "Result: FAILED" in out
    report = json.load(open(os.path.join(only_run(tmp_path), "report.json")))
    spawn = next(c for c in report["cases"] if c["name"] == "server_spawn")
    build = next(s for s in spawn["steps"] if s["step"] == "005")
    assert build["status"] == "failed", build
    assert build["message"].startswith("build failure: server "), build
    assert "not ACTIVE after 5 s" in build["message"], build
    assert "status BUILD" in build["message"], build
    assert build["warnings"] and "--build-warning 2" in build["warnings"][0], build
    assert build["message"] in out                         # the reason is on the terminal too
    assert all(s["status"] == "not run" for s in spawn["steps"] if s["step"] > "005"), spawn
    # Cleanup asked for the deletion; with no dispatcher it could not see it
    # done and says so. Once they are back, the deletion completes.
    assert report["leftovers"] and "snf-test-" in report["leftovers"][0], report
    server_id = spawn["steps"][0]["details"]["server"]
    api.wait_server(server_id, "DELETED", timeout=120)
    stale = burnin(deployment, tmp_path, "--show-stale")
    assert stale.returncode == 0 and "no stale servers or networks" in stale.stdout, stale.stdout
    assert_nothing_left(api)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_cleans_up(api, deployment, tmp_path, signum):
    """Ctrl-C, or the SIGTERM of snf-burnin-cron's time limit, mid-build."""
    if deployment.stack != "sqlite-filesystem":
        pytest.skip("Ctrl-C handling does not depend on the stack: checked on the default one")
    # --token=: a token may start with "-"
    cmd = [BURNIN, "--api", deployment.info["api"], f"--token={deployment.info['token']}",
           "--log-folder", str(tmp_path), "--set-tests", "server_spawn", *FAST]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = []
    try:
        for line in proc.stdout:
            seen.append(line)
            if " 005 build:" in line:      # a server exists and is building
                proc.send_signal(signum)
                break
        rest, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    out = "".join(seen) + rest
    assert proc.returncode == 130, out
    assert "Interrupted: stopped by Ctrl-C or SIGTERM" in out and "cleanup: deleting server" in out, out
    report = json.load(open(os.path.join(only_run(tmp_path), "report.json")))
    assert report["result"] == "interrupted" and not report["leftovers"], report
    assert_nothing_left(api)


def test_stale_resources_listed_and_deleted(api, deployment, tmp_path):
    if deployment.stack != "sqlite-filesystem":
        pytest.skip("stale handling does not depend on the stack: checked on the default one")
    flavor = api.list_flavors()[0]["id"]
    image = api.list_images()[0]["id"]
    server = api.create_server("snf-test-19990101000000 left over", image, flavor)
    api.wait_server(server["id"], "ACTIVE", timeout=60)
    shown = burnin(deployment, tmp_path, "--show-stale")
    assert shown.returncode == 0 and f"stale server  {server['id']:>8}" in shown.stdout, shown.stdout
    deleted = burnin(deployment, tmp_path, "--delete-stale", "--query-interval", "0.3")
    assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    assert api.get_server(server["id"])["status"] == "DELETED"
    assert_nothing_left(api)
