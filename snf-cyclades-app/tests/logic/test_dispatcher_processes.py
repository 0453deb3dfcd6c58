"""Real snf-dispatcher processes on a migrated temporary SQLite DB and a broker.

The dispatchers start (and declare the topology) before the test publishes:
kombu's virtual transports cache declared bindings per process, so a test
process that declared an exchange for an earlier test's broker directory
would not write the bindings into a new one.

Default: the embedded filesystem:// broker; the same tests run on RabbitMQ
when amqp://guest:guest@127.0.0.1:5672// answers (unique prefix and
exchange per test).
"""

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid

import pytest

pytest.importorskip("synnefo.messaging.client",
                    reason="synnefo.messaging (snf-common) is not installed yet")

from dispatcher_helpers import T0  # noqa: E402

pytestmark = pytest.mark.slow

BIN = os.path.dirname(sys.executable)
RABBIT = "amqp://guest:guest@127.0.0.1:5672//"


def rabbit_answers():
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=1).close()
        return True
    except OSError:
        return False


SETUP = """
import django
django.setup()
from synnefo.db.models import Backend, Flavor, VirtualMachine
b = Backend(clustername="cluster1.example.org", index=0, username="u")
b.password = "secret"
b.save()
f = Flavor.objects.create(cpu=1, ram=1024, disk=20, disk_template="drbd")
for i in range({count}):
    VirtualMachine.objects.create(name="vm%d" % i, userid="alice", backend=b, flavor=f, imageid="img1",
                                  operstate="BUILD", action="CREATE", task="BUILD")
print(",".join(str(pk) for pk in VirtualMachine.objects.values_list("pk", flat=True)))
"""


class Deployment:
    def __init__(self, tmp_path, amqp):
        self.tmp = tmp_path
        tag = uuid.uuid4().hex[:8]
        self.prefix_id = "t%s-" % tag if amqp != "filesystem://" else "snf-"
        self.exchange = "ganeti-%s" % tag if amqp != "filesystem://" else "ganeti"
        self.amqp = amqp
        self.db = str(tmp_path / "db.sqlite3")
        self.broker_dir = str(tmp_path / "broker")
        settings_dir = tmp_path / "settings"
        settings_dir.mkdir()
        (settings_dir / "00-test.conf").write_text(
            "DATABASES['default']['NAME'] = %r\n"
            "AMQP_HOSTS = [%r]\n"
            "AMQP_FILESYSTEM_DIR = %r\n"
            "EXCHANGE_GANETI = %r\n"
            "BACKEND_PREFIX_ID = %r\n"
            "SECRET_KEY = 'tests-only'\n"
            "SECRET_ENCRYPTION_KEY = 'tests-only encryption key'\n"
            % (self.db, amqp, self.broker_dir, self.exchange, self.prefix_id))
        self.env = dict(os.environ, SYNNEFO_SETTINGS_DIR=str(settings_dir),
                        DJANGO_SETTINGS_MODULE="synnefo.settings")
        self.procs = []

    def setup(self, count):
        subprocess.run([os.path.join(BIN, "snf-manage"), "migrate", "-v", "0", "--skip-checks"],
                       env=self.env,
                       check=True, timeout=120)
        out = subprocess.run([sys.executable, "-c", SETUP.format(count=count)], env=self.env,
                             check=True, timeout=60, capture_output=True, text=True).stdout
        return [int(x) for x in out.strip().splitlines()[-1].split(",")]

    def broker(self):
        from synnefo.messaging.client import Broker
        broker = Broker([self.amqp], exchange=self.exchange, filesystem_dir=self.broker_dir)
        broker.declare(self.prefix_id.split("-", 1)[0])
        return broker

    def start(self, name):
        """Start a dispatcher and wait until it consumes (it has declared the topology)."""
        log = open(self.tmp / ("%s.log" % name), "w")
        proc = subprocess.Popen([os.path.join(BIN, "snf-dispatcher"), "--foreground", "--debug"],
                                env=self.env, stdout=log, stderr=subprocess.STDOUT)
        proc.log_path = self.tmp / ("%s.log" % name)
        self.procs.append(proc)
        assert self.wait_for(lambda: "Consuming" in proc.log_path.read_text(), timeout=30), \
            proc.log_path.read_text()[-2000:]
        return proc

    def query(self, sql):
        conn = sqlite3.connect(self.db, timeout=30)
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()

    def wait_for(self, predicate, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.2)
        return False

    def stop_all(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(timeout=60) for proc in self.procs]
        return codes

    def acked(self, proc):
        text = proc.log_path.read_text()
        match = re.search(r"stopped: (\d+) acked, (\d+) dead-lettered", text)
        assert match, text[-2000:]
        return int(match.group(1)), int(match.group(2))


@pytest.fixture(params=["filesystem", pytest.param("rabbitmq", marks=pytest.mark.rabbitmq)])
def deployment(request, tmp_path):
    if request.param == "rabbitmq":
        if not rabbit_answers():
            pytest.skip("RabbitMQ does not answer on 127.0.0.1:5672")
        dep = Deployment(tmp_path, RABBIT)
    else:
        dep = Deployment(tmp_path, "filesystem://")
    yield dep
    for proc in dep.procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if request.param == "rabbitmq":  # delete this run's queues and exchanges
        broker = dep.broker()
        broker.delete(dep.prefix_id.split("-", 1)[0])
        broker.close()


def op_msg(dep, vm_id, operation, status, job, t):
    return {"type": "ganeti-op-status", "instance": "%s%d" % (dep.prefix_id, vm_id),
            "operation": operation, "status": status, "jobId": job, "logmsg": None,
            "cluster": "cluster1.example.org", "event_time": [T0 + t, 0]}


def info_msg(dep, vm_id, n):
    return {"type": "image-info", "instance": "%s%d" % (dep.prefix_id, vm_id),
            "messages": ["step %d" % n], "timestamp": float(T0 + n), "event_time": [T0 + n, 0]}


def test_two_dispatchers_apply_every_message_once(deployment):
    dep = deployment
    vms = dep.setup(20)
    a, b = dep.start("d1"), dep.start("d2")
    broker = dep.broker()
    published = 0
    for vm in vms:
        for t, status in enumerate(("queued", "running", "success"), start=1):
            broker.publish(op_msg(dep, vm, "OP_INSTANCE_CREATE", status, vm, t))
            published += 1
    broker.close()
    assert dep.wait_for(lambda: dep.query(
        "select count(*) from db_virtualmachine where operstate='STARTED' and task is null")[0][0]
        == len(vms)), "not every VM reached STARTED"
    assert dep.stop_all() == [0, 0]
    (acked_a, dead_a), (acked_b, dead_b) = dep.acked(a), dep.acked(b)
    assert acked_a + acked_b == published
    assert dead_a + dead_b == 0


def test_malformed_message_is_dead_lettered(deployment):
    dep = deployment
    vms = dep.setup(1)
    proc = dep.start("d1")
    broker = dep.broker()
    bad = op_msg(dep, vms[0], "OP_INSTANCE_CREATE", "exploded", 1, 1)
    broker.publish(bad)
    broker.publish(op_msg(dep, vms[0], "OP_INSTANCE_CREATE", "success", 1, 2))
    broker.close()
    assert dep.wait_for(lambda: dep.query("select operstate from db_virtualmachine")[0][0] == "STARTED")
    assert dep.stop_all() == [0]
    assert dep.acked(proc) == (1, 1)
    broker = dep.broker()
    dead = broker.get("%s-events-op-dl" % dep.prefix_id.split("-")[0])
    assert dead is not None and b"exploded" in dead.body
    dead.ack()
    broker.close()


def test_kill_one_dispatcher_mid_stream(deployment):
    dep = deployment
    vms = dep.setup(1)
    total = 300
    victim = dep.start("victim")
    dep.start("survivor")
    broker = dep.broker()
    for n in range(total):
        broker.publish(info_msg(dep, vms[0], n))
    broker.close()

    def diagnostics():
        return dep.query("select count(*) from db_virtualmachinediagnostic")[0][0]
    assert dep.wait_for(lambda: diagnostics() >= 30)
    victim.kill()  # SIGKILL mid-stream
    victim.wait()
    dep.procs.remove(victim)
    if dep.amqp == "filesystem://":
        # its claimed messages wait in claimed/ until a new client starts: the
        # victim restarted, as systemd's Restart= does (docs/dispatcher.rst)
        dep.start("restarted")
    assert dep.wait_for(lambda: diagnostics() >= total, timeout=120)   # nothing lost
    time.sleep(1)
    assert set(dep.stop_all()) == {0}
    assert diagnostics() <= total  # duplicates are de-duplicated, never double-applied


def test_sigterm_exits_cleanly_while_idle(deployment):
    dep = deployment
    dep.setup(1)
    proc = dep.start("d1")
    time.sleep(2)
    assert proc.poll() is None
    assert dep.stop_all() == [0]
    assert dep.acked(proc) == (0, 0)


NETWORK = """
import django
django.setup()
from synnefo.db.models import Network
n = Network.objects.create(name="public", subnet="192.0.2.0/24", gateway="192.0.2.1", public=True,
                           type="PUBLIC_ROUTED", mac_prefix="aa:00:0", state="ACTIVE")
print(n.pk)
"""


def test_dead_letter_inspect_retry_round_trip(deployment):
    """A net-status that violates the unique MAC is dead-lettered; once the
    conflict is gone, queue-inspect shows it and queue-retry replays it."""
    dep = deployment
    vm1, vm2 = dep.setup(2)
    net_id = int(subprocess.run([sys.executable, "-c", NETWORK], env=dep.env, check=True,
                                capture_output=True, text=True, timeout=60).stdout.split()[-1])
    proc = dep.start("d1")
    broker = dep.broker()
    nic = {"mac": "aa:00:00:00:00:01", "ip": "192.0.2.7", "network": "%snet-%d" % (dep.prefix_id, net_id)}
    for vm in (vm1, vm2):
        broker.publish({"type": "ganeti-net-status", "instance": "%s%d" % (dep.prefix_id, vm),
                        "nics": [nic], "event_time": [T0, 0]})
    broker.close()
    assert dep.wait_for(lambda: "Dead-lettering" in proc.log_path.read_text())
    assert dep.query("select machine_id from db_networkinterface") == [(vm1,)]
    # the operator fixes the cause ...
    conn = sqlite3.connect(dep.db)
    conn.execute("delete from db_networkinterface")
    conn.commit()
    conn.close()
    manage = os.path.join(BIN, "snf-manage")
    prefix = dep.prefix_id.split("-")[0]
    shown = subprocess.run([manage, "queue-inspect", "%s-events-net-dl" % prefix, "--output", "json",
                            "--skip-checks"],
                           env=dep.env, check=True, capture_output=True, text=True, timeout=60).stdout
    items = json.loads(shown)
    assert len(items) == 1 and items[0]["body"]["instance"] == "%s%d" % (dep.prefix_id, vm2)
    assert "x-death-reason" in items[0]["headers"]
    out = subprocess.run([manage, "queue-retry", "--skip-checks"], env=dep.env, check=True,
                         capture_output=True, text=True, timeout=60).stdout
    assert "1 message(s) retried" in out
    assert dep.wait_for(lambda: dep.query("select machine_id from db_networkinterface") == [(vm2,)])
    assert dep.stop_all() == [0]


def test_daemon_mode_pid_file(deployment, tmp_path):
    dep = deployment
    dep.setup(1)
    pid_file, log_file = tmp_path / "run" / "d.pid", tmp_path / "d.log"
    (tmp_path / "run").mkdir()
    subprocess.run([os.path.join(BIN, "snf-dispatcher"), "--pid-file", str(pid_file), "--log-file",
                    str(log_file)], env=dep.env, check=True, timeout=60)
    assert dep.wait_for(lambda: pid_file.exists() and log_file.exists()
                        and "Consuming" in log_file.read_text(), timeout=30)
    pid = int(pid_file.read_text().split()[0])
    # a second one refuses to start
    second = subprocess.run([os.path.join(BIN, "snf-dispatcher"), "--pid-file", str(pid_file),
                             "--log-file", str(log_file)], env=dep.env, capture_output=True,
                            text=True, timeout=60)
    assert second.returncode == 1 and "already running" in second.stderr
    os.kill(pid, signal.SIGTERM)
    assert dep.wait_for(lambda: not pid_file.exists(), timeout=30)
    assert "stopped: 0 acked" in log_file.read_text()
