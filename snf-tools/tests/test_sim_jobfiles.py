"""Job files written by snf-ganeti-sim: Ganeti's format and the rename-only
write pattern an inotify watcher (snf-ganeti-eventd) relies on."""

import json
import os
import re
import time

import pytest
import requests
from synnefo.ganeti import inotify as F
from synnefo.ganeti.inotify import INotify
from synnefo.tools.ganeti_sim.testing import SimProcess

pytestmark = pytest.mark.slow

# Keys of /var/lib/ganeti/queue/job-N as written by a real Ganeti 3.0.
JOB_FILE_KEYS = {"id", "ops", "start_timestamp", "end_timestamp", "received_timestamp", "livelock",
                 "process_id"}
OP_KEYS = {"input", "status", "result", "log", "start_timestamp", "exec_timestamp", "end_timestamp",
           "priority"}
NETWORK_ADD_INPUT_KEYS = {"network_name", "network", "gateway", "network6", "gateway6", "mac_prefix",
                          "add_reserved_ips", "conflicts_check", "tags", "dry_run", "debug_level",
                          "priority", "depends", "comment", "reason", "OP_ID"}
JOB_NAME = re.compile(r"^job-(\d+)$")


@pytest.fixture()
def sim(tmp_path):
    with SimProcess(tmp_path / "sim", "--job-duration", "0.05") as proc:
        yield proc


def set_duration(sim, seconds):
    answer = requests.put(sim.info["url"] + "/sim/config", json={"job_duration": seconds},
                          auth=("writer", "secret"), verify=sim.info["cert"], timeout=10)
    assert answer.status_code == 200, answer.text


def statuses_seen(sim, submit, duration=1.0):
    """Submit a job while watching the queue; return (job id, op status at
    every IN_MOVED_TO of job-N, names that got IN_CLOSE_WRITE)."""
    client = sim.client()
    set_duration(sim, duration)
    inotify = INotify()
    inotify.add_watch(sim.queue_dir, F.MOVED_TO | F.CLOSE_WRITE)
    try:
        job_id = submit(client)
        name = "job-%d" % job_id
        seen, closed = [], set()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            for event in inotify.read(timeout=100):
                if event.mask & F.CLOSE_WRITE:
                    closed.add(event.name)
                if event.mask & F.MOVED_TO and event.name == name:
                    with open(os.path.join(sim.queue_dir, name)) as handle:
                        seen.append(json.load(handle)["ops"][0]["status"])
            if seen and seen[-1] in ("success", "error", "canceled"):
                break
        return job_id, seen, closed
    finally:
        inotify.close()
        set_duration(sim, 0.05)
        client.close()


def dedupe(items):
    return [s for i, s in enumerate(items) if i == 0 or items[i - 1] != s]


def test_state_sequence_is_renamed_into_place(sim):
    client = sim.client()
    assert client.wait_for_job(client.create_instance(name="snf-1", os="noop", disk_template="diskless"),
                               10) == "success"
    job_id, seen, closed = statuses_seen(sim, lambda c: c.shutdown_instance("snf-1"))
    assert dedupe(seen) == ["queued", "waiting", "running", "success"]
    assert "job-%d" % job_id not in closed  # only ever renamed into place, like Ganeti
    assert all(not JOB_NAME.match(name) for name in closed)
    data = sim.job_file(job_id)
    assert set(data) == JOB_FILE_KEYS and set(data["ops"][0]) == OP_KEYS
    op = data["ops"][0]
    assert op["input"]["OP_ID"] == "OP_INSTANCE_SHUTDOWN" and op["result"] is None
    assert data["received_timestamp"] <= op["start_timestamp"] <= op["exec_timestamp"] <= op["end_timestamp"]
    assert data["start_timestamp"] == op["start_timestamp"] and data["end_timestamp"] >= op["end_timestamp"]
    for stamp in (data["received_timestamp"], op["exec_timestamp"]):
        assert isinstance(stamp, list) and len(stamp) == 2 and 0 <= stamp[1] < 1_000_000
    assert data["process_id"] == sim.proc.pid
    assert [k for k in op["input"]][-2:] == ["reason", "OP_ID"]
    client.close()


def test_log_lines_and_errors_in_files(sim):
    client = sim.client()
    job = client.create_network(network_name="snf-net-1", network="203.0.113.0/24", gateway="203.0.113.1",
                                tags=["ci"])
    assert client.wait_for_job(job, 10) == "success"
    assert set(sim.job_file(job)["ops"][0]["input"]) == NETWORK_ADD_INPUT_KEYS
    connect = client.connect_network("snf-net-1", "default", "bridged", "br0")
    assert client.wait_for_job(connect, 10) == "success"
    job = client.create_instance(name="snf-2", os="snf-image+default", disk_template="plain",
                                 disks=[{"size": 1024}], nics=[{"ip": "pool", "network": "snf-net-1"}])
    assert client.wait_for_job(job, 10) == "success"
    log_lines = sim.job_file(job)["ops"][0]["log"]
    assert [entry[0] for entry in log_lines] == list(range(1, len(log_lines) + 1))
    assert all(entry[2] == "message" and isinstance(entry[3], str) for entry in log_lines)
    assert " - INFO: Chose IP 203.0.113.2 from network snf-net-1" in [entry[3] for entry in log_lines]
    answer = client.wait_for_job_change(job, ["status"], None, 1)
    assert [entry[0] for entry in answer["log_entries"]] == list(range(2, len(log_lines) + 1))

    job = client.create_instance(name="snf-2", os="snf-image+default", disk_template="diskless")
    assert client.wait_for_job(job, 10) == "error"
    op = sim.job_file(job)["ops"][0]
    assert op["status"] == "error"
    assert op["result"] == ["OpPrereqError", ["Instance 'snf-2' is already in the cluster", "already_exists"]]
    assert sorted(int(JOB_NAME.match(n).group(1)) for n in os.listdir(sim.queue_dir)
                  if JOB_NAME.match(n)) == client.get_jobs()
    assert not [n for n in os.listdir(sim.queue_dir) if n.endswith(".tmp")]
    client.close()


def test_eventd_reads_the_job_files(sim):
    jobfile = pytest.importorskip("synnefo.ganeti.jobfile")
    client = sim.client()
    net = client.create_network(network_name="snf-net-3", network="198.51.100.0/24", gateway="198.51.100.1")
    create = client.create_instance(name="snf-3", os="noop", disk_template="diskless")
    for job in (net, create):
        assert client.wait_for_job(job, 10) == "success"
    events = {}
    for job in (net, create):
        with open(os.path.join(sim.queue_dir, "job-%d" % job)) as handle:
            parsed = jobfile.parse_job(handle.read(), "sim.cyclades.local", "snf-")
        assert parsed.job_id == job and parsed.finished
        [change] = parsed.changes
        events[job] = change.message
    assert events[net]["type"] == "ganeti-network-status" and events[net]["network"] == "snf-net-3"
    assert events[net]["subnet"] == "198.51.100.0/24" and events[net]["status"] == "success"
    instance = events[create]
    assert instance["type"] == "ganeti-op-status" and instance["instance"] == "snf-3"
    assert instance["operation"] == "OP_INSTANCE_CREATE" and instance["jobId"] == create
    assert instance["event_time"] == sim.job_file(create)["ops"][0]["end_timestamp"]
    assert instance["logmsg"] == sim.job_file(create)["ops"][0]["log"][-1][3]
    client.close()
