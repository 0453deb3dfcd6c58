"""snf-ganeti-sim across restarts: state, job counter, unfinished jobs, command line errors."""

import subprocess
import sys
import time

import pytest
import requests
from synnefo.tools.ganeti_sim.testing import SimProcess

pytestmark = pytest.mark.slow


def wait_status(sim, job_id, wanted, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if sim.job_file(job_id)["ops"][0]["status"] == wanted:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.01)
    raise AssertionError("job %d never reached %s" % (job_id, wanted))


def test_state_survives_restart(tmp_path):
    state = tmp_path / "sim"
    with SimProcess(state, "--job-duration", "0.05") as sim:
        client = sim.client()
        net = client.create_network(network_name="snf-net-1", network="192.0.2.0/24", gateway="192.0.2.1")
        connect = client.connect_network("snf-net-1", "default", "bridged", "br0",
                                         depends=[[net, ["success"]]])
        assert client.wait_for_job(connect, 10) == "success"   # a NIC needs a connected network
        job = client.create_instance(name="snf-1", os="snf-image+default", disk_template="diskless",
                                     nics=[{"ip": "pool", "network": "snf-net-1"}], tags=["a"])
        assert client.wait_for_job(job, 10) == "success"
        assert client.wait_for_job(client.shutdown_instance("snf-1"), 10) == "success"
        before = client.get_instance("snf-1")
        fingerprint, last_job = sim.info["fingerprint"], max(client.get_jobs())
        client.close()
    assert not (state / "sim.json").exists()  # removed on a clean stop
    with SimProcess(state, "--job-duration", "0.05") as sim:
        assert sim.info["fingerprint"] == fingerprint  # the certificate is reused
        client = sim.client()
        assert client.get_instance("snf-1") == before
        assert client.get_network("snf-net-1")["inst_list"] == ["snf-1"]
        assert client.get_jobs() == list(range(1, last_job + 1))
        assert client.get_job(job)["status"] == "success"
        new_job = client.startup_instance("snf-1")
        assert new_job == last_job + 1
        assert client.wait_for_job(new_job, 10) == "success"
        client.close()


def test_unfinished_jobs_after_a_crash(tmp_path):
    state = tmp_path / "sim"
    with SimProcess(state, "--job-duration", "0.05") as sim:
        client = sim.client()
        assert client.wait_for_job(client.create_instance(name="snf-1", os="noop", disk_template="diskless"),
                                   10) == "success"
        client.close()
    with SimProcess(state, "--job-duration", "4") as sim:
        client = sim.client()
        running = client.shutdown_instance("snf-1")
        wait_status(sim, running, "running")
        queued = client.create_instance(name="snf-2", os="noop", disk_template="diskless")
        client.close()
        sim.kill()  # no clean shutdown: job files still say running / queued
        assert sim.job_file(running)["ops"][0]["status"] == "running"
        assert sim.job_file(queued)["ops"][0]["status"] == "queued"
    with SimProcess(state, "--job-duration", "0.05") as sim:
        client = sim.client()
        assert client.get_job(running)["status"] == "error"
        [result] = client.get_job(running)["opresult"]
        assert result[0] == "OpExecError" and "stopped while the job was running" in result[1][0]
        assert client.get_instance("snf-1")["admin_state"] == "up"  # the shutdown never happened
        assert client.wait_for_job(queued, 10) == "success"  # queued jobs run after the restart
        assert client.get_instance("snf-2")["status"] == "running"
        client.close()


def test_sigterm_ends_a_running_job_as_error(tmp_path):
    with SimProcess(tmp_path / "sim", "--job-duration", "0.05") as sim:
        client = sim.client()
        assert client.wait_for_job(client.create_instance(name="snf-1", os="noop", disk_template="diskless"),
                                   10) == "success"
        requests.put(sim.info["url"] + "/sim/config", json={"job_duration": 5}, auth=("writer", "secret"),
                     verify=sim.info["cert"], timeout=10).raise_for_status()
        job = client.reboot_instance("snf-1")
        wait_status(sim, job, "running")
        assert sim.stop() == 0
        op = sim.job_file(job)["ops"][0]
        assert op["status"] == "error" and op["end_timestamp"] is not None
        client.close()


@pytest.mark.parametrize("args,words", [
    (["--user", "nopassword"], "NAME:PASSWORD"),
    (["--user", "u:p:admin"], "write|read"),
    (["--job-duration", "-1"], "job_duration"),
    (["--fail", "INSTANCE_CREATE"], "OP_"),
    (["--node-memory", "0"], "positive"),
])
def test_bad_command_lines(tmp_path, args, words):
    argv = [sys.executable, "-m", "synnefo.tools.ganeti_sim.server", "--state-dir", str(tmp_path), "--port",
            "0", "--foreground"]
    if "--user" not in args:
        argv += ["--user", "u:p:write"]
    proc = subprocess.run(argv + args, capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0 and words in proc.stderr


def test_broken_state_file_is_refused(tmp_path):
    (tmp_path / "state.json").write_text("{not json")
    proc = subprocess.run([sys.executable, "-m", "synnefo.tools.ganeti_sim.server", "--state-dir",
                           str(tmp_path), "--port", "0", "--foreground", "--user", "u:p:write"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1
    assert proc.stderr.startswith("snf-ganeti-sim: cannot load the simulator state")
    assert len(proc.stderr.strip().splitlines()) == 1
    assert (tmp_path / "state.json").read_text() == "{not json"  # left alone


def test_failure_injection(tmp_path):
    rule = "OP_INSTANCE_STARTUP:snf-f*"
    with SimProcess(tmp_path / "sim", "--job-duration", "0.05", "--fail", rule) as sim:
        client = sim.client()
        url, auth, cert = sim.info["url"] + "/sim/config", ("writer", "secret"), sim.info["cert"]
        config = requests.get(url, auth=auth, verify=cert, timeout=10).json()
        assert config["fail_rules"][0]["opcode"] == "OP_INSTANCE_STARTUP"
        assert config["fail_rules"][0]["instance"] == "snf-f*"
        for name in ("snf-f1", "snf-ok"):
            job = client.create_instance(name=name, os="noop", disk_template="diskless", start=False)
            assert client.wait_for_job(job, 10) == "success"
        failed = client.startup_instance("snf-f1")
        assert client.wait_for_job(failed, 10) == "error"
        assert client.get_job(failed)["opresult"][0][0] == "OpExecError"
        assert client.get_instance("snf-f1")["admin_state"] == "down"  # no change on failure
        assert client.wait_for_job(client.startup_instance("snf-ok"), 10) == "success"

        rules = {"fail_rules": [{"opcode": "OP_INSTANCE_CREATE", "instance": "snf-bad*",
                                 "message": "disk full"}], "job_duration": 0.05}
        answer = requests.put(url, json=rules, auth=auth, verify=cert, timeout=10)
        assert answer.status_code == 200 and answer.json()["fail_rules"][0]["message"] == "disk full"
        job = client.create_instance(name="snf-bad1", os="noop", disk_template="diskless")
        assert client.wait_for_job(job, 10) == "error"
        assert client.get_job(job)["opresult"] == [["OpExecError", ["disk full"]]]
        assert "snf-bad1" not in client.get_instances()
        assert client.wait_for_job(client.startup_instance("snf-f1"), 10) == "success"  # old rules replaced
        bad = requests.put(url, json={"fail_rules": [{"opcode": "OP_X", "bogus": 1}]}, auth=auth, verify=cert,
                           timeout=10)
        assert bad.status_code == 400 and bad.json()["code"] == 400
        assert requests.get(url, auth=auth, verify=cert, timeout=10).json() == answer.json()
        client.close()
