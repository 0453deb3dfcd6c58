"""Shared helpers of the gtools tests."""

import glob
import json
import os
import socket
import subprocess
import sys
import time

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
PREFIX_ID = "snf-"
CLUSTER = "cluster.gnt.test"

# Sample names (captured on a real Ganeti) -> Cyclades names.
RENAMES = {
    "ci-inst1.gnt.test": "snf-1",
    "probe2.gnt.test": "snf-2",
    "hooktest.gnt.test": "snf-3",
    "probe0.gnt.test": "snf-4",
    '"ci-net"': '"snf-net-7"',
}


def sample(name):
    with open(os.path.join(DATA, name), encoding="utf-8") as handle:
        return handle.read()


def ours(text):
    for old, new in RENAMES.items():
        text = text.replace(old, new)
    return text


def job_samples():
    return sorted(os.path.basename(p) for p in glob.glob(os.path.join(DATA, "*job-*.json")))


def hook_env(name, **overrides):
    env = {}
    for line in sample(name).splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            env[key] = value
    env.update(overrides)
    return env


def rabbitmq_answers():
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=1):
            return True
    except OSError:
        return False


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_settings(directory, broker_dir, amqp_hosts=None, exchange="ganeti", extra="",
                   prefix_id=PREFIX_ID):
    os.makedirs(directory, exist_ok=True)
    hosts = amqp_hosts or ["filesystem://"]
    with open(os.path.join(directory, "10-gtools-test.conf"), "w") as handle:
        handle.write(f"AMQP_HOSTS = {hosts!r}\n"
                     f"AMQP_FILESYSTEM_DIR = {str(broker_dir)!r}\n"
                     f"BACKEND_PREFIX_ID = {prefix_id!r}\n"
                     f"EXCHANGE_GANETI = {exchange!r}\n"
                     "AMQP_CONNECT_TIMEOUT = 2\n" + extra)
    return directory


def load_settings_from(directory):
    """A settings namespace read from ``directory`` (not the process' settings)."""
    from types import SimpleNamespace

    from synnefo.settings.loader import load_settings
    return SimpleNamespace(**{k: v for k, v in load_settings({}, str(directory)).items()
                              if k.isupper()})


def make_job(job_id, ops, received=None, base=1795384926):
    """A job file in Ganeti's format; ``ops`` = [(OP_ID, name, status), ...]."""
    received = received or [base, 100]
    out = []
    job_end = None
    for index, (op_id, name, status) in enumerate(ops):
        stamps = {"start_timestamp": None, "exec_timestamp": None, "end_timestamp": None}
        if status in ("waiting", "canceling", "running", "success", "error", "canceled"):
            stamps["start_timestamp"] = [base + 1 + index * 10, 0]
        if status in ("running", "success", "error"):
            stamps["exec_timestamp"] = [base + 2 + index * 10, 0]
        if status in ("success", "error", "canceled"):
            stamps["end_timestamp"] = [base + 3 + index * 10, 0]
            job_end = [base + 4 + index * 10, 0]
        key = "network_name" if op_id.startswith("OP_NETWORK") else "instance_name"
        out.append({"input": {"OP_ID": op_id, key: name, "reason": []}, "status": status,
                    "result": None, "log": [], "priority": 0, **stamps})
    finished = all(o["status"] in ("success", "error", "canceled") for o in out)
    return {"id": job_id, "ops": out, "received_timestamp": received,
            "start_timestamp": out[0]["start_timestamp"],
            "end_timestamp": job_end if finished else None,
            "livelock": None, "process_id": None}


_tmp_counter = [0]


def write_job(queue_dir, job):
    """Write a job file the way Ganeti does: temp file, then rename into place."""
    _tmp_counter[0] += 1
    tmp = os.path.join(queue_dir, "job-%d-%d-%d.tmp" % (job["id"], os.getpid(), _tmp_counter[0]))
    with open(tmp, "w") as handle:
        json.dump(job, handle)
    os.rename(tmp, os.path.join(queue_dir, "job-%d" % job["id"]))


def start_eventd(settings_dir, queue_dir, state_file, log_file, extra_args=()):
    env = dict(os.environ, SYNNEFO_SETTINGS_DIR=str(settings_dir))
    return subprocess.Popen(
        [sys.executable, "-m", "synnefo.ganeti.eventd", "--foreground", "--debug",
         "--queue-dir", str(queue_dir), "--cluster-name", CLUSTER,
         "--state-file", str(state_file), "--log-file", str(log_file), *extra_args],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_for_log(log_file, text, timeout=20, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with open(log_file, errors="replace") as handle:
                if text in handle.read():
                    return True
        except FileNotFoundError:
            pass
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"eventd exited with {proc.returncode}: "
                                 f"{proc.stderr.read().decode(errors='replace')}")
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not in {log_file} after {timeout}s")


class Collector:
    """Consume the four queues of a broker into a list of decoded messages."""

    def __init__(self, broker, prefix="snf"):
        from synnefo.messaging import names
        self.broker = broker
        self.queues = [names.queue_name(prefix, kind) for kind in names.QUEUE_KINDS]
        self.messages = []
        self.headers = []   # parallel to messages

    def drain(self):
        for queue in self.queues:
            while True:
                delivery = self.broker.get(queue)
                if delivery is None:
                    break
                self.messages.append(json.loads(delivery.body))
                self.headers.append(dict(delivery.headers or {}))
                delivery.ack()
        return self.messages

    def wait_for(self, predicate, timeout=30, interval=0.05):
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.drain()
            if predicate(self.messages):
                return self.messages
            time.sleep(interval)
        raise AssertionError(f"timed out; got {len(self.messages)} messages: {self.messages[-5:]}")


def key_of(message):
    return (message["jobId"], message.get("instance") or message.get("network"),
            message["operation"], message["status"])
