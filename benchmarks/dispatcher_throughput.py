"""snf-dispatcher: messages per second, against a bare consume + UPDATE + COMMIT loop.

Stacks (``--stack``): ``pg-rabbitmq`` is PostgreSQL (127.0.0.1:5432, a
temporary database named ``<--db-prefix>_<random>``) + RabbitMQ
(``amqp://guest:guest@127.0.0.1:5672//``, unique exchange and queue prefix);
``sqlite-fs`` is SQLite (temporary file) + the file-system broker. The
default, ``all``, measures both (PostgreSQL + RabbitMQ only where they
answer, with a printed note otherwise).

Both contenders consume the same ``--count`` op-status messages (startup /
shutdown successes for ``--servers`` servers, each one changing state) from
the same queue through ``synnefo.messaging.client.Broker.consume``:

* the dispatcher: a real ``snf-dispatcher --foreground`` process (decode,
  one transaction with a row lock, the state table, ack after commit);
* the limit: a bare loop in a subprocess doing, per message, one
  ``UPDATE db_virtualmachine SET backendjobid=...`` and ``COMMIT``, then ack.

Time = from the consumer being ready until the database shows the last
message applied (polled every 20 ms over one kept connection). The two
take turns, ``--rounds`` (3) times, each time on newer messages; the best
round of each counts. Printed: messages/s of each and the ratio; each stack's ratio is reported to the
``make bench`` summary (goal 0.6). Run time is bounded by ``--deadline``
seconds per phase. Usage::

    python benchmarks/dispatcher_throughput.py [--stack all|pg-rabbitmq|sqlite-fs]
        [--count N] [--servers N] [--prefetch N] [--rounds N] [--db-prefix NAME]

Profile (where the time goes, docs/benchmarks.rst "Dispatcher")::

    python benchmarks/dispatcher_throughput.py --profile /tmp/dispatcher-profile

attaches ``py-spy record --idle --format raw`` to the dispatcher and to the
bare loop while they consume, writes ``<dir>/<stack>-dispatcher.raw`` and
``<dir>/<stack>-bare.raw`` (collapsed stacks) and prints the share of
samples under each function (``--profile-cpu``: CPU time only, without
the waits on the database and the broker).
"""

import argparse
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid

import _profile
from _summary import report
from synnefo.tools.processes import cpu_seconds

BIN = os.path.dirname(sys.executable)
RABBIT = "amqp://guest:guest@127.0.0.1:5672//"
T0 = 1700000000

SETUP = """
import django
django.setup()
from synnefo.db.models import Backend, Flavor, VirtualMachine
b = Backend(clustername="bench.example.org", index=0, username="u")
b.password = "secret"
b.save()
f = Flavor.objects.create(cpu=1, ram=1024, disk=20, disk_template="drbd")
VirtualMachine.objects.bulk_create([
    VirtualMachine(name="vm%d" % i, userid="bench", backend=b, flavor=f, imageid="img",
                   operstate="STOPPED") for i in range({servers})])
print(",".join(str(pk) for pk in VirtualMachine.objects.order_by("pk").values_list("pk", flat=True)))
"""

BARE = r"""
import json, sys, threading, types
cfg = json.loads(sys.argv[1])
from synnefo.messaging.client import Broker
if cfg["db"]["engine"] == "sqlite":
    import sqlite3
    conn = sqlite3.connect(cfg["db"]["name"], timeout=30, isolation_level=None)
    sql = "UPDATE db_virtualmachine SET backendjobid = ? WHERE id = ?"
    def update(job, vm):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(sql, (job, vm))
        conn.execute("COMMIT")
else:
    import psycopg
    conn = psycopg.connect(host="127.0.0.1", user="postgres", dbname=cfg["db"]["name"])
    sql = "UPDATE db_virtualmachine SET backendjobid = %s WHERE id = %s"
    def update(job, vm):
        with conn.cursor() as cur:
            cur.execute(sql, (job, vm))
        conn.commit()
prefix = cfg["prefix_id"]
broker = Broker([cfg["amqp"]], exchange=cfg["exchange"], filesystem_dir=cfg["broker_dir"])
stop = threading.Event()
seen = [0]
def handle(delivery):
    msg = json.loads(delivery.body)
    update(msg["jobId"], int(msg["instance"][len(prefix):]))
    delivery.ack()
    seen[0] += 1
    if seen[0] >= cfg["count"]:
        stop.set()
print("ready", flush=True)
broker.consume([prefix.split("-")[0] + "-events-op"], handle, prefetch=cfg["prefetch"],
               stop_event=stop, idle_timeout=None)
broker.close()
"""


def answers(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


class Stack:
    def __init__(self, tmp, use_pg, use_rabbit, db_prefix="snf_bench"):
        tag = uuid.uuid4().hex[:8]
        self.label = ("PostgreSQL" if use_pg else "SQLite") + " + " + \
            ("RabbitMQ" if use_rabbit else "file-system broker")
        self._conn = None
        self.tmp = tmp
        self.amqp = RABBIT if use_rabbit else "filesystem://"
        self.exchange = "bench-%s" % tag if use_rabbit else "ganeti"
        self.prefix_id = "b%s-" % tag
        self.broker_dir = os.path.join(tmp, "broker")
        if use_pg:
            self.db = {"engine": "postgres", "name": "%s_%s" % (db_prefix, tag)}
            import psycopg
            with psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres",
                                 autocommit=True) as conn:
                conn.execute("CREATE DATABASE %s" % self.db["name"])
            databases = ('DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", '
                         '"NAME": %r, "USER": "postgres", "HOST": "127.0.0.1", "PORT": 5432}}\n'
                         % self.db["name"])
        else:
            self.db = {"engine": "sqlite", "name": os.path.join(tmp, "bench.sqlite3")}
            databases = "DATABASES['default']['NAME'] = %r\n" % self.db["name"]
        settings_dir = os.path.join(tmp, "settings")
        os.makedirs(settings_dir)
        with open(os.path.join(settings_dir, "00-bench.conf"), "w") as handle:
            handle.write(databases + "AMQP_HOSTS = [%r]\nAMQP_FILESYSTEM_DIR = %r\n"
                         "EXCHANGE_GANETI = %r\nBACKEND_PREFIX_ID = %r\nSECRET_KEY = 'bench'\n"
                         "SECRET_ENCRYPTION_KEY = 'bench encryption key'\n"
                         % (self.amqp, self.broker_dir, self.exchange, self.prefix_id))
        self.env = dict(os.environ, SYNNEFO_SETTINGS_DIR=settings_dir,
                        DJANGO_SETTINGS_MODULE="synnefo.settings")

    def drop(self):
        self.disconnect()
        if self.db["engine"] == "postgres":
            import psycopg
            with psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres",
                                 autocommit=True) as conn:
                conn.execute("DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.db["name"])

    def disconnect(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def query(self, sql):
        """Run ``sql`` on one kept connection (autocommit), so that polling costs no
        connection set-up while the contenders run."""
        if self._conn is None:
            if self.db["engine"] == "sqlite":
                self._conn = sqlite3.connect(self.db["name"], timeout=30, isolation_level=None)
            else:
                import psycopg
                self._conn = psycopg.connect(host="127.0.0.1", user="postgres",
                                             dbname=self.db["name"], autocommit=True)
        cursor = self._conn.execute(sql)
        return cursor.fetchall() if cursor.description else []

    def broker(self):
        from synnefo.messaging.client import Broker
        broker = Broker([self.amqp], exchange=self.exchange, filesystem_dir=self.broker_dir)
        broker.declare(self.prefix_id.split("-")[0])
        return broker


def messages(stack, vms, count, round_index=0):
    """``count`` messages; those of a later ``round_index`` are newer (event
    times and job ids), so the dispatcher applies them after an earlier round's."""
    rounds = (count + len(vms) - 1) // len(vms)
    base = round_index * (rounds + 1)
    out = []
    for r in range(base, base + rounds):
        for i, vm in enumerate(vms):
            if len(out) == count:
                break
            opcode = "OP_INSTANCE_STARTUP" if r % 2 == 0 else "OP_INSTANCE_SHUTDOWN"
            out.append({"type": "ganeti-op-status", "instance": "%s%d" % (stack.prefix_id, vm),
                        "operation": opcode, "status": "success", "jobId": r * len(vms) + i + 1,
                        "logmsg": None, "cluster": "bench.example.org",
                        "event_time": [T0 + r, i]})
    return out


def expected_sum(msgs):
    last = {}
    for m in msgs:
        last[m["instance"]] = m["jobId"]
    return sum(last.values())


def timed_run(stack, proc, ready, target, deadline):
    """(seconds, CPU seconds of ``proc``) from ``ready()`` to the DB showing
    ``target``, or (None, None) on timeout. The CPU time tells the cost of a
    message apart from waiting, which a loaded machine stretches."""
    limit = time.monotonic() + deadline
    while not ready():
        if time.monotonic() > limit or proc.poll() is not None:
            return None, None
        time.sleep(0.01)
    start = time.monotonic()
    cpu_start = cpu_seconds(proc.pid)
    while time.monotonic() < limit:
        total = stack.query("SELECT COALESCE(SUM(backendjobid), 0) FROM db_virtualmachine")[0][0]
        if total == target:
            return time.monotonic() - start, cpu_seconds(proc.pid) - cpu_start
        time.sleep(0.02)
    return None, None


def run_stack(args, use_pg, use_rabbit):
    """Measure one stack; returns (dispatcher messages/s, bare messages/s) or None."""
    tmp = tempfile.mkdtemp(prefix="snf-bench-dispatcher-")
    stack = Stack(tmp, use_pg, use_rabbit, args.db_prefix)
    procs = []
    samplers = []
    try:
        subprocess.run([os.path.join(BIN, "snf-manage"), "migrate", "-v", "0", "--skip-checks"],
                       env=stack.env, check=True, timeout=300)
        out = subprocess.run([sys.executable, "-c", SETUP.format(servers=args.servers)],
                             env=stack.env, check=True, capture_output=True, text=True,
                             timeout=120).stdout
        vms = [int(x) for x in out.strip().splitlines()[-1].split(",")]
        print("stack: %s; %d messages over %d servers, prefetch %d, the best of %d rounds"
              % (stack.label, args.count, len(vms), args.prefetch, args.rounds), flush=True)
        tag = "pg-rabbitmq" if use_pg else "sqlite-fs"
        with open(os.path.join(stack.env["SYNNEFO_SETTINGS_DIR"], "10-prefetch.conf"), "w") as handle:
            handle.write("DISPATCHER_PREFETCH = %d\n" % args.prefetch)

        def publish(msgs):
            stack.query("UPDATE db_virtualmachine SET backendjobid = NULL")
            broker = stack.broker()
            for m in msgs:
                broker.publish(m)
            broker.close()

        def profiled(proc, who, round_index):
            if args.profile and round_index == 0:
                os.makedirs(args.profile, exist_ok=True)
                path = os.path.join(args.profile, "%s-%s.raw" % (tag, who))
                samplers.append((_profile.attach(proc.pid, path, idle=not args.profile_cpu),
                                 path, who))

        def stop_samplers():
            for sampler, _, _ in samplers:
                if sampler is not None and sampler.poll() is None:
                    _profile.stop(sampler)

        def dispatcher_round(round_index, msgs):
            """(seconds, CPU seconds) of a dispatcher consuming ``msgs``."""
            log_path = os.path.join(tmp, "dispatcher-%d.log" % round_index)
            proc = subprocess.Popen([os.path.join(BIN, "snf-dispatcher"), "--foreground",
                                     "--log-file", log_path], env=stack.env)
            procs.append(proc)

            def ready():
                if os.path.exists(log_path) and "Consuming" in open(log_path).read():
                    profiled(proc, "dispatcher", round_index)
                    return True
                return False
            try:
                return timed_run(stack, proc, ready, expected_sum(msgs), args.deadline)
            finally:
                stop_samplers()
                proc.terminate()
                proc.wait(timeout=60)

        def bare_round(round_index, msgs):
            """(seconds, CPU seconds) of the bare loop consuming ``msgs``."""
            cfg = {"db": stack.db, "amqp": stack.amqp, "exchange": stack.exchange,
                   "broker_dir": stack.broker_dir, "prefix_id": stack.prefix_id, "count": len(msgs),
                   "prefetch": args.prefetch}
            bare = subprocess.Popen([sys.executable, "-c", BARE, json.dumps(cfg)], env=stack.env,
                                    stdout=subprocess.PIPE, text=True)
            procs.append(bare)
            seen = [False]

            def ready():
                if not seen[0]:
                    seen[0] = bare.stdout.readline().strip() == "ready"
                    if seen[0]:
                        profiled(bare, "bare", round_index)
                return seen[0]
            try:
                return timed_run(stack, bare, ready, expected_sum(msgs), args.deadline)
            finally:
                stop_samplers()
                bare.wait(timeout=60)

        # The dispatcher and the bare loop take turns, --rounds times, each on
        # newer messages: a change of load on the machine falls on both alike,
        # and the best round of each counts (as timeit takes the best of its
        # repeats); the CPU a message is over all rounds.
        runs = {"dispatcher": [], "bare loop": []}
        for round_index in range(args.rounds):
            for who, measure in (("dispatcher", dispatcher_round), ("bare loop", bare_round)):
                msgs = messages(stack, vms, args.count, 2 * round_index + (who == "bare loop"))
                publish(msgs)
                seconds, cpu = measure(round_index, msgs)
                if seconds is None:
                    print("%s: did not finish within %.0f s" % (who, args.deadline))
                    return None
                runs[who].append((len(msgs) / seconds, cpu / len(msgs)))
        rates = {}
        for who, figures in runs.items():
            rates[who] = max(rate for rate, _ in figures)
            print("%-16s %8.1f messages/s, the best of %s (CPU %.2f ms a message)"
                  % (who + ":", rates[who], " ".join("%.0f" % rate for rate, _ in figures),
                     1000 * sum(cpu for _, cpu in figures) / len(figures)), flush=True)
        print("ratio dispatcher / limit: %.2f" % (rates["dispatcher"] / rates["bare loop"]), flush=True)
        for _, path, who in samplers:
            _profile.summary(path, within="Dispatcher.run (dispatcher.py)" if who == "dispatcher" else None)
        return rates["dispatcher"], rates["bare loop"]
    finally:
        for sampler, _, _ in samplers:
            if sampler is not None and sampler.poll() is None:
                _profile.stop(sampler)
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        stack.drop()
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stack", choices=("all", "pg-rabbitmq", "sqlite-fs"), default="all")
    parser.add_argument("--count", type=int, default=1500)
    parser.add_argument("--servers", type=int, default=50)
    parser.add_argument("--prefetch", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3,
                        help="turns of the dispatcher and the bare loop; the best of each counts")
    parser.add_argument("--deadline", type=float, default=90.0)
    parser.add_argument("--db-prefix", default="snf_bench",
                        help="PostgreSQL database name prefix (a random suffix is added)")
    parser.add_argument("--profile", metavar="DIR",
                        help="sample both contenders with py-spy, write the stacks to DIR")
    parser.add_argument("--profile-cpu", action="store_true",
                        help="with --profile: sample CPU time only (not waits)")
    args = parser.parse_args(argv)
    try:
        import synnefo.messaging.client  # noqa: F401
    except ImportError:
        print("SKIP: synnefo.messaging is not installed")
        return 0
    stacks = []
    if args.stack in ("all", "pg-rabbitmq"):
        pg, rabbit = answers(5432), answers(5672)
        if pg and rabbit:
            stacks.append((True, True))
        else:
            print("note: %s does not answer on 127.0.0.1; PostgreSQL + RabbitMQ not measured"
                  % ("PostgreSQL" if not pg else "RabbitMQ"))
            if args.stack == "pg-rabbitmq":
                return 1
    if args.stack in ("all", "sqlite-fs"):
        stacks.append((False, False))
    failed = False
    for use_pg, use_rabbit in stacks:
        rates = run_stack(args, use_pg, use_rabbit)
        if rates is None:
            failed = True
            continue
        dispatcher_rate, bare_rate = rates
        label = ("PostgreSQL + RabbitMQ" if use_pg else "SQLite + file-system broker")
        report("snf-dispatcher, %s" % label, "%.0f msg/s" % dispatcher_rate,
               "%.0f msg/s bare loop" % bare_rate, dispatcher_rate / bare_rate, 0.6)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
