"""The update path's two readers of Ganeti, against each target: eventd on the
target's own job queue directory, and the hook's message built from the
environment the target gives its hooks."""

import json
import os
import signal
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest
from synnefo.ganeti import hook
from synnefo.messaging import names
from synnefo.messaging.client import Broker
from synnefo.settings.loader import load_settings

pytestmark = pytest.mark.slow

JOB_TIMEOUT = 120
DUMP_HOOK = "snf-contract-dump"     # no dots: Ganeti skips hook files whose names have them


def create_body(target, name):
    return {"mode": "create", "name": name, "os": target.os, "disk_template": "diskless", "disks": [],
            "nics": [{"mode": "bridged", "link": target.bridge, "mac": "aa:00:00:c0:0c:01"}],
            "beparams": {"memory": 128, "vcpus": 1}, "hvparams": {}, "pnode": target.node,
            "ip_check": False, "name_check": False}


def succeeds(client, job_id):
    assert client.wait_for_job(job_id, JOB_TIMEOUT) == "success", client.get_job(job_id)["opresult"]
    return job_id


# --- eventd ---------------------------------------------------------------------

class Eventd:
    """snf-ganeti-eventd on the target's queue directory, publishing to a
    file-system broker of the test's own."""

    def __init__(self, target, tmp_path):
        self.prefix = target.prefix[:-1]
        settings_dir = tmp_path / "settings"
        settings_dir.mkdir()
        (settings_dir / "10-contract.conf").write_text(
            f"AMQP_HOSTS = ['filesystem://']\nAMQP_FILESYSTEM_DIR = {str(tmp_path / 'broker')!r}\n"
            f"BACKEND_PREFIX_ID = {target.prefix!r}\n")
        settings = SimpleNamespace(**{k: v for k, v in load_settings({}, str(settings_dir)).items()
                                      if k.isupper()})
        self.broker = Broker.from_settings(settings)
        self.broker.declare(self.prefix)
        self.log = tmp_path / "eventd.log"
        env = dict(os.environ, SYNNEFO_SETTINGS_DIR=str(settings_dir))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "synnefo.ganeti.eventd", "--foreground", "--queue-dir", target.queue_dir,
             "--cluster-name", target.cluster_name, "--state-file", str(tmp_path / "eventd.state"),
             "--log-file", str(self.log)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.messages = []
        self._wait_log("caught up")

    def _wait_log(self, text, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log.exists() and text in self.log.read_text(errors="replace"):
                return
            assert self.proc.poll() is None, self.proc.stderr.read().decode(errors="replace")
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not logged by eventd: {self.log.read_text()[-2000:]}")

    def drain(self):
        queue = names.queue_name(self.prefix, "op")
        while (delivery := self.broker.get(queue)) is not None:
            self.messages.append(json.loads(delivery.body))
            delivery.ack()
        return self.messages

    def wait_for_success(self, job_ids, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = {m["jobId"] for m in self.drain() if m["status"] == "success"}
            if set(job_ids) <= done:
                return
            time.sleep(0.1)
        raise AssertionError(f"no success message for {set(job_ids) - done}: {self.messages[-5:]}")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(timeout=15) == 0
        self.proc.stderr.close()
        self.broker.close()


@pytest.fixture
def eventd(target, tmp_path):
    daemon = Eventd(target, tmp_path)
    yield daemon
    daemon.stop()


def test_eventd_publishes_each_status_of_the_targets_jobs_once(target, client, eventd, instances):
    name = target.prefix + "1"
    instances.append(name)
    jobs = {"OP_INSTANCE_CREATE": succeeds(client, client.create_instance(**create_body(target, name))),
            "OP_INSTANCE_SHUTDOWN": succeeds(client, client.shutdown_instance(name)),
            "OP_INSTANCE_STARTUP": succeeds(client, client.startup_instance(name)),
            "OP_INSTANCE_REBOOT": succeeds(client, client.reboot_instance(name, "hard"))}
    other = client.modify_cluster()        # not an instance of ours: never published
    succeeds(client, other)
    eventd.wait_for_success(jobs.values())
    time.sleep(1.0)                         # anything late would be a duplicate
    messages = [m for m in eventd.drain() if m["type"] == "ganeti-op-status"]
    assert other not in {m["jobId"] for m in messages}
    for operation, job_id in jobs.items():
        mine = [m for m in messages if m["jobId"] == job_id]
        statuses = [m["status"] for m in mine]
        assert len(statuses) == len(set(statuses)), statuses           # each change once
        assert statuses[-1] == "success" and "error" not in statuses
        order = ["queued", "waiting", "running", "success"]
        assert statuses == sorted(statuses, key=order.index), statuses
        assert {m["operation"] for m in mine} == {operation}
        assert {m["instance"] for m in mine} == {name}
        assert {m["cluster"] for m in mine} == {target.cluster_name}
        times = [tuple(m["event_time"]) for m in mine]
        assert times == sorted(times)


def test_eventd_reports_a_failed_job_with_ganetis_reason(target, client, eventd):
    job = client.startup_instance(target.prefix + "404")
    assert client.wait_for_job(job, JOB_TIMEOUT) == "error"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        failed = [m for m in eventd.drain() if m["jobId"] == job and m["status"] == "error"]
        if failed:
            break
        time.sleep(0.1)
    [message] = failed
    assert message["operation"] == "OP_INSTANCE_STARTUP"
    assert "OpPrereqError" in message["logmsg"] and "not known" in message["logmsg"]


# --- the hook ---------------------------------------------------------------------

@pytest.fixture
def dumped_hook_env(target, tmp_path):
    """A hook in the target's instance-add, -start and -modify post dirs
    that saves its environment; yields a reader of the dumps."""
    dump_dir = tmp_path / "hook-env"
    dump_dir.mkdir()
    script = ("#!/bin/sh\n# installed by Cyclades' contract tests\n"
              f"env > '{dump_dir}'/\"$GANETI_HOOKS_PATH-$GANETI_HOOKS_PHASE-$$\"\n")
    paths = []
    for hooks_path in ("instance-add-post.d", "instance-start-post.d", "instance-modify-post.d"):
        directory = os.path.join(target.hooks_dir, hooks_path)
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, DUMP_HOOK)
        with open(path, "w") as handle:
            handle.write(script)
        os.chmod(path, 0o755)
        paths.append(path)

    def read(hooks_path):
        envs = []
        for entry in sorted(dump_dir.glob(f"{hooks_path}-post-*")):
            env = dict(line.split("=", 1) for line in entry.read_text().splitlines() if "=" in line)
            envs.append(env)
        return envs
    yield read
    for path in paths:
        os.unlink(path)


@pytest.mark.parametrize("hooks_path", ["instance-add", "instance-start"])
def test_hook_message_from_the_targets_hook_environment(target, client, instances, dumped_hook_env,
                                                        hooks_path):
    name = target.prefix + "2"
    instances.append(name)
    succeeds(client, client.create_instance(**create_body(target, name)))
    if hooks_path == "instance-start":
        succeeds(client, client.shutdown_instance(name))
        succeeds(client, client.startup_instance(name))
    envs = [e for e in dumped_hook_env(hooks_path) if e.get("GANETI_INSTANCE_NAME") == name]
    assert envs, f"no {hooks_path} post hook ran for {name}"
    env = envs[-1]
    settings = SimpleNamespace(BACKEND_PREFIX_ID=target.prefix, GANETI_HOOK_NODE_NAME=target.node)
    message = hook.build_message(env, settings)
    info = client.get_instance(name)
    assert message["type"] == "ganeti-net-status" and message["instance"] == name
    assert message["cluster"] == target.cluster_name
    assert [n["mac"] for n in message["nics"]] == info["nic.macs"]
    assert [n["link"] for n in message["nics"]] == info["nic.links"]
    assert [n["ip"] for n in message["nics"]] == info["nic.ips"]
    assert [n["network"] for n in message["nics"]] == info["nic.networks.names"]
    # on any other node than the master the hook stays silent
    elsewhere = SimpleNamespace(BACKEND_PREFIX_ID=target.prefix, GANETI_HOOK_NODE_NAME="other.node")
    assert hook.build_message(env, elsewhere) is None


def modify_envs(dumped_hook_env, name):
    return [e for e in dumped_hook_env("instance-modify") if e.get("GANETI_INSTANCE_NAME") == name]


def test_modify_hook_reports_the_nics_after_the_change(target, client, instances, dumped_hook_env):
    """NIC add and NIC remove (what connect and disconnect submit): the
    instance-modify post hook's environment, hence the hook's message, is the
    NIC list after the change, as in the samples captured from Ganeti 3.0
    (``hook-env-instance-modify-*``)."""
    name, net = target.prefix + "3", target.prefix + "net3"
    settings = SimpleNamespace(BACKEND_PREFIX_ID=target.prefix, GANETI_HOOK_NODE_NAME=target.node)
    # a routed Ganeti network: a NIC on it needs no bridge on the node
    succeeds(client, client.create_network(network_name=net, network="10.99.0.0/24",
                                           gateway="10.99.0.1"))
    for group in client.get_groups():
        succeeds(client, client.connect_network(net, group, "routed", "rt"))
    instances.append(name)
    try:
        succeeds(client, client.create_instance(**create_body(target, name)))
        for change, count in (([["add", {"network": net, "ip": "pool"}]], 2), ([["remove", 1, {}]], 1)):
            seen = len(modify_envs(dumped_hook_env, name))
            succeeds(client, client.modify_instance(name, nics=change))
            envs = modify_envs(dumped_hook_env, name)
            assert len(envs) == seen + 1, f"no instance-modify post hook ran for {change}"
            env = envs[-1]
            assert env["GANETI_INSTANCE_NIC_COUNT"] == env["GANETI_POST_INSTANCE_NIC_COUNT"] == str(count)
            message = hook.build_message(env, settings)
            info = client.get_instance(name)
            assert len(message["nics"]) == count == len(info["nic.macs"])
            assert [n["mac"] for n in message["nics"]] == info["nic.macs"]
            assert [n["ip"] for n in message["nics"]] == info["nic.ips"]
            assert [n["network"] for n in message["nics"]] == info["nic.networks.names"]
        assert info["nic.networks.names"] == [None]
    finally:
        if name in client.get_instances():
            succeeds(client, client.delete_instance(name))
        for group in client.get_groups():
            client.wait_for_job(client.disconnect_network(net, group), JOB_TIMEOUT)
        succeeds(client, client.delete_network(net))
