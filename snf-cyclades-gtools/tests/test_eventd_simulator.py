"""Issue 3's acceptance path: jobs submitted to the Ganeti simulator over RAPI
become the right messages on the broker (file system and RabbitMQ), each
exactly once, across a kill -9 and restart of snf-ganeti-eventd.

The simulator writes its job files into the queue directory eventd watches.
"""

import signal
import time

import pytest
from test_processes import FINAL, stack  # noqa: F401 (the fixture)

pytest.importorskip("synnefo.tools.ganeti_sim.testing", reason="snf-tools is not installed")
from synnefo.tools.ganeti_sim.testing import SimProcess  # noqa: E402

pytestmark = pytest.mark.slow

STATUS_ORDER = ("queued", "waiting", "running", "success", "error", "canceled")


def op_messages(messages):
    return [m for m in messages if m["type"] == "ganeti-op-status"]


def check_each_once_and_in_order(messages, headers):
    seen = {}
    for message, header in zip(messages, headers, strict=True):
        key = (message["jobId"], message["status"])
        if key in seen:
            # only a change in flight at a kill -9 may come twice, and it says so
            assert header.get("x-snf-possible-duplicate") == "true", (key, header)
        seen[key] = message
    by_job = {}
    for message in messages:
        by_job.setdefault(message["jobId"], []).append(message)
    for job_id, job_messages in by_job.items():
        ranks = [STATUS_ORDER.index(m["status"]) for m in job_messages]
        assert ranks == sorted(ranks), (job_id, [m["status"] for m in job_messages])
        times = [tuple(m["event_time"]) for m in job_messages]
        assert times == sorted(times), job_id
    return by_job


def test_simulator_jobs_reach_the_broker_exactly_once_across_restart(stack, tmp_path):  # noqa: F811
    name = stack.name(1)
    with SimProcess(tmp_path / "sim", "--queue-dir", stack.queue, "--job-duration", "0.3") as sim:
        client = sim.client()
        eventd = stack.start()
        jobs = {"create": client.create_instance(name=name, os="snf-image+default",
                                                 disk_template="diskless", nics=[{}])}
        assert client.wait_for_job(jobs["create"], 30) == "success"
        jobs["shutdown"] = client.shutdown_instance(name)
        time.sleep(0.4)                           # mid-job: kill eventd, restart it
        eventd.send_signal(signal.SIGKILL)
        eventd.wait()
        assert client.wait_for_job(jobs["shutdown"], 30) == "success"   # happens while it is down
        jobs["startup"] = client.startup_instance(name)
        stack.start()
        assert client.wait_for_job(jobs["startup"], 30) == "success"
        jobs["reboot"] = client.reboot_instance(name, "hard")
        assert client.wait_for_job(jobs["reboot"], 30) == "success"

        def finished(messages):
            done = {(m["jobId"], m["status"]) for m in op_messages(messages)}
            return all((job_id, "success") in done for job_id in jobs.values())
        stack.collector.wait_for(finished, timeout=30)
        time.sleep(1.0)                           # anything late would be a duplicate
        stack.collector.drain()

    pairs = [(m, h) for m, h in zip(stack.collector.messages, stack.collector.headers, strict=True)
             if m["type"] == "ganeti-op-status"]
    messages = [m for m, _ in pairs]
    by_job = check_each_once_and_in_order(messages, [h for _, h in pairs])
    operations = {"create": "OP_INSTANCE_CREATE", "shutdown": "OP_INSTANCE_SHUTDOWN",
                  "startup": "OP_INSTANCE_STARTUP", "reboot": "OP_INSTANCE_REBOOT"}
    for what, job_id in jobs.items():
        job_messages = by_job[job_id]
        assert {m["operation"] for m in job_messages} == {operations[what]}
        assert {m["instance"] for m in job_messages} == {name}
        assert job_messages[-1]["status"] == "success"
        assert all(m["cluster"] for m in job_messages)
    # while eventd ran, it saw the job move through Ganeti's states
    assert [m["status"] for m in by_job[jobs["reboot"]]][-2:] == ["running", "success"]
    assert set(FINAL) & {m["status"] for m in messages} == {"success"}
