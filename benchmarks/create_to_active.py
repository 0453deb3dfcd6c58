"""POST /servers to ACTIVE for N concurrent creates, against the simulator alone.

Stack: the whole system as ``make run`` starts it
(``synnefo.tools.quickstart.Deployment``) in a temporary directory on a free
port: the Ganeti simulator (``--job-duration 0.3`` as in the e2e tests, node
sized for the run), snf-ganeti-eventd, two snf-dispatcher and the API
(gunicorn, 2 workers x 4 threads), on SQLite + the file-system broker, or
with ``--stack postgres-rabbitmq`` on PostgreSQL + RabbitMQ at 127.0.0.1 (a
temporary database and exchange).

1. The limit, what Ganeti (here the simulator, with the deployment's hooks
   and progress monitor) alone needs: the same ``--servers`` creates (same
   flavor, disk and a NIC on the public network), all requested at once and
   submitted straight to the deployment's simulator over RAPI
   (``GanetiRapiClient``) through ``--rapi-clients`` connections (8, as many
   as the API's threads), waited for until their jobs succeed. A create is
   done at its job's own end timestamp. Its instances are then removed
   (untimed), so that the system starts on an empty cluster.
2. The system: ``--servers`` threads POST /servers at once as the demo user
   (``--max-vms 1000``); one poller reads GET /servers/detail every ``--poll``
   (0.5) seconds as the web UI does, with ``changes-since`` (the time of the
   poll before, ``OVERLAP`` seconds early, and the whole list every
   ``FULL_POLL_EVERY`` seconds; ``--full-poll``: the whole list every time);
   a server is done at its ``updated`` time when first seen ACTIVE with no
   task (the commit that made it ACTIVE, or a later one), so how often the
   poller looks changes what it costs the machine, not the figure.

3. POST latency with creates in flight, untimed: a probe of ``--probe`` (10)
   concurrent POSTs, once on the idle system (before step 2, after as many
   POSTs to warm the API up, waited for until ACTIVE) and once during a
   second burst of ``--servers`` creates like step 2's: every server is
   first deleted and waited for until the list no longer shows it (its
   address back in the pool), then the burst is sent and the probe starts as
   soon as each of its POSTs has been answered, while its creates are still
   in flight (how many is printed). The probe's median POST latency then,
   over the idle one, is the figure of a POST latency that stays bounded
   however many creates are in flight (the POSTs of a burst themselves queue
   for the API's 8 threads, whatever each costs: step 2's median is printed
   too). The probe has its own burst so that step 2 times the same
   ``--servers`` creates as step 1, nothing more.

Printed for steps 1 and 2 (and the probe's burst): wall time from the first
request until all N are done, median and p99 of per-create request->done
time and of the submit latency (POST /servers; RAPI create, queueing for a
connection included), then the ratios step 2 / step 1. Failed creates (an
error answer, a job or server in error) are listed; the figures then cover
the creates that finished. The goals go to
``_summary.report``: total time system / simulator alone (goal <= 1.3) and
the probe's median POST latency with creates in flight / idle (goal <= 2).

Steps 1 and 2 (and the probe's burst) also print the CPU seconds they
cost, by program: every process of the deployment (the simulator's hooks
and progress monitors are in the simulator's figure, as the children it
waited for) and this process.

Profile (where a POST's time goes, ``docs/benchmarks.rst``): run with
``--keep`` and, while step 2 runs, ``py-spy dump --pid PID`` or ``py-spy
record -d 20 -o api.svg --pid PID`` on a gunicorn worker (``pgrep -f
'gunicorn.*synnefo'``); the API's access log (``--keep``: ``logs/api.log``)
gives each request's duration.

Usage: ``python benchmarks/create_to_active.py [--servers N] [--probe P] [--stack STACK]
[--poll S] [--full-poll] [--deadline S] [--keep]``; ``--servers 10`` is a smoke run; N + 2 P at most 250 (the
public network is a /24: the warm-up, the idle probe and step 2's servers
exist at once). Every wait is bounded by ``--deadline`` seconds per
phase; the run always stops the deployment and removes its files (``--keep``
keeps them). It asserts nothing; it exits 1 when a create failed or did not
finish in time.
"""

import argparse
import concurrent.futures
import datetime
import json
import os
import queue
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time

from _summary import report as report_goal
from synnefo.tools.client import ClientError, ComputeClient
from synnefo.tools.loopback import (
    answers,
    drop_database,
    drop_rabbitmq_objects,
    free_port,
    scratch_postgres_rabbitmq,
)
from synnefo.tools.processes import child_pids, cpu_seconds, program

STACKS = ("sqlite-filesystem", "postgres-rabbitmq")
MAX_SERVERS = 250  # free addresses of the deployment's public 10.0.0.0/24
OS_NAME = "snf-image+default"  # GANETI_CREATEINSTANCE_KWARGS' default
LIMIT_PREFIX = "bench-limit-"  # not the deployment's prefix: Cyclades ignores these instances
FINAL_JOB_STATUSES = ("success", "error", "canceled")


class BenchError(Exception):
    pass




def percentile(values, fraction):
    """Nearest-rank percentile, as the other benchmarks print p99."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def median_p99(values):
    if not values:
        return float("nan"), float("nan")
    return statistics.median(values), percentile(values, 0.99)


class Stack:
    """The deployment's database and broker: its extra settings, and clean-up.

    PostgreSQL gets a database of its own and RabbitMQ an exchange of its own,
    so that a run never meets another run or the test suite.
    """

    def __init__(self, name, tag):
        self.name = name
        self.tag = tag
        self.database = None
        self.conf = ""
        if name == "postgres-rabbitmq":
            if not (answers(5432) and answers(5672)):
                raise BenchError("PostgreSQL and RabbitMQ do not both answer on 127.0.0.1")
            self.database, self.conf = scratch_postgres_rabbitmq(tag, "bench_c2a")

    def label(self):
        return "PostgreSQL + RabbitMQ" if self.database else "SQLite + file-system broker"

    def drop(self):
        if self.database:
            drop_database(self.database)
            drop_rabbitmq_objects(self.tag, "bench_c2a", "c%s-" % self.tag)


def sim_args(args):
    """The e2e tests' job duration, and a node big enough for every create
    (the default 32 GiB / 1 TiB node would refuse most of 200 servers)."""
    servers = args.servers + 2 * args.probe  # the most servers at once (module docstring)
    return ["--job-duration", str(args.job_duration),
            "--node-memory", str(32768 + servers * 4096),
            "--node-disk", str(1048576 + servers * 100 * 1024)]


class Phase:
    """Times of one phase, filled by its threads: submit time, submit latency
    and done time per create key (a server id or an instance name)."""

    def __init__(self, count):
        self.count = count
        self.lock = threading.Lock()
        self.sent = {}
        self.latency = {}
        self.done = {}
        self.errors = {}
        self.poll_errors = []

    def submitted(self, key, sent, latency):
        with self.lock:
            self.sent[key] = sent
            self.latency[key] = latency

    def finished(self, key, when):
        with self.lock:
            self.done.setdefault(key, when)

    def failed(self, key, why):
        with self.lock:
            self.errors.setdefault(key, why)

    def _own(self, table):
        """Of ``table``, the creates of this phase (the poller sees every server)."""
        return {k: v for k, v in table.items() if k in self.sent or str(k).startswith("post-")}

    def in_flight(self):
        with self.lock:
            return len(self.sent) - len(self._own(self.done)) - len(self._own(self.errors))

    def settled(self):
        """Every create either done or failed."""
        with self.lock:
            return len(self._own(self.done)) + len(self._own(self.errors)) >= self.count

    def result(self):
        with self.lock:
            done = self._own(self.done)
            per_create = [done[k] - self.sent[k] for k in done]
            total = (max(done.values()) - min(self.sent.values())) if done else float("nan")
            return {"done": len(done), "errors": self._own(self.errors), "total": total,
                    "poll_errors": list(self.poll_errors),
                    "per_create": median_p99(per_create),
                    "submit": median_p99(list(self.latency.values()))}


def start_together(count, target, args_of, deadline):
    """``count`` threads running ``target(*args_of(i), barrier, deadline)``:
    each waits on the barrier, so that all requests leave at once."""
    barrier = threading.Barrier(count)
    threads = [threading.Thread(target=target, args=(*args_of(i), barrier, deadline), daemon=True)
               for i in range(count)]
    for thread in threads:
        thread.start()
    return threads


def alive(threads):
    return any(thread.is_alive() for thread in threads)


# -- the limit: the simulator alone --------------------------------------------

def instance_body(flavor, image, network):
    """A CreateInstance body like the one Cyclades builds for ``flavor``
    (``synnefo.logic.servers.create_instance_payload``)."""
    return {"mode": "create", "os": OS_NAME, "hvparams": {"serial_console": False},
            "wait_for_sync": False, "disk_template": flavor["SNF:disk_template"],
            "disks": [{"size": flavor["disk"] * 1024}], "nics": [{"ip": "pool", "network": network}],
            "ip_check": False, "name_check": False,
            "beparams": {"auto_balance": True, "vcpus": flavor["cpu"], "memory": flavor["ram"]},
            "osparams": {"img_id": image["id"], "img_passwd": secrets.token_urlsafe(9),
                         "img_format": "diskdump", "img_properties": json.dumps({"OS": "debian"})}}


def submit_creates(deployment, names, body, phase, jobs, requested, deadline):
    """One RAPI client (one connection) submitting creates off ``names`` until
    it is empty; each create was requested at ``requested`` (all at once)."""
    client = deployment.rapi_client()
    try:
        while time.monotonic() < deadline:
            try:
                name = names.get_nowait()
            except queue.Empty:
                return
            try:
                jobs[name] = client.create_instance(**dict(body, name=name))
                phase.submitted(name, requested, time.time() - requested)
            except Exception as exc:  # noqa: BLE001 - any failure is reported, the others go on
                phase.failed(name, repr(exc))
    finally:
        client.close()


def cpu_by_program():
    """``{program: CPU seconds}`` of this process and every process under it,
    each with the children it waited for."""
    totals = {"the benchmark (this process)": sum(os.times()[:2])}
    pending = child_pids(os.getpid())
    while pending:
        pid = pending.pop()
        pending += child_pids(pid)
        name = program(pid) or "?"
        totals[name] = totals.get(name, 0.0) + cpu_seconds(pid, waited_children=True)
    return totals


def print_cpu(label, before, after):
    """The CPU seconds each program spent between two :func:`cpu_by_program`."""
    spent = {name: after[name] - before.get(name, 0.0) for name in after}
    parts = ["%s %.1f" % (name, seconds) for name, seconds in
             sorted(spent.items(), key=lambda item: -item[1]) if seconds >= 0.05]
    print("  CPU s, %s: %.1f in all: %s" % (label, sum(spent.values()), "; ".join(parts)), flush=True)


def job_end(job):
    seconds, micros = job["end_ts"]
    return seconds + micros / 1e6


def simulator_alone(deployment, args, body):
    """The limit's phase. Submits go through ``--rapi-clients`` connections, as
    the API's gunicorn threads submit through one client each; done is the
    job's own end timestamp, so the wait for it adds nothing."""
    phase = Phase(args.servers)
    deadline = time.monotonic() + args.deadline
    names = queue.Queue()
    for i in range(args.servers):
        names.put("%s%d" % (LIMIT_PREFIX, i))
    jobs = {}
    requested = time.time()
    threads = [threading.Thread(target=submit_creates, daemon=True,
                                args=(deployment, names, body, phase, jobs, requested, deadline))
               for _ in range(args.rapi_clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline + 35 - time.monotonic()))
    with deployment.rapi_client() as client:
        for name, job in sorted(jobs.items()):
            try:
                status = client.wait_for_job(job, max(1.0, deadline - time.monotonic()))
                answer = client.get_job(job)
            except Exception as exc:  # noqa: BLE001 - a timeout is a failed create here
                phase.failed(name, repr(exc))
                continue
            if status == "success":
                phase.finished(name, job_end(answer))
            else:
                phase.failed(name, "job %d ended %s: %s" % (job, status, answer["opresult"]))
    return phase.result()


def clear_simulator(deployment, deadline):
    """Remove every instance of the limit, so that the system starts on an
    empty cluster: also those of creates that reached the simulator after our
    submit timed out, whose addresses Cyclades would hand out again."""
    with deployment.rapi_client() as client:
        while True:
            wait_idle(client, deadline)
            names = [n for n in client.get_instances() if n.startswith(LIMIT_PREFIX)]
            if not names:
                return
            for job in [client.delete_instance(name) for name in names]:
                client.wait_for_job(job, max(1.0, deadline - time.monotonic()))
            if time.monotonic() > deadline:
                raise BenchError("could not remove the simulator's instances in time")


def wait_idle(client, deadline):
    while any(job["status"] not in FINAL_JOB_STATUSES for job in client.get_jobs(bulk=True)):
        if time.monotonic() > deadline:
            raise BenchError("the simulator still runs jobs of the limit's phase")
        time.sleep(0.5)


# -- the system ------------------------------------------------------------------

def api_client(deployment, timeout=30.0):
    return ComputeClient(deployment.info["api"], deployment.info["token"], timeout=timeout)


def post_server(deployment, phase, index, body, barrier, deadline):
    key = "post-%d" % index
    try:
        barrier.wait(timeout=60)
        with api_client(deployment, timeout=max(1.0, deadline - time.monotonic())) as api:
            sent = time.time()  # wall clock: compared with the servers' "updated" times
            server = api.create_server(**body)
            latency = time.time() - sent
        phase.submitted(server["id"], sent, latency)
    except ClientError as exc:
        phase.failed(key, "POST /servers: %s" % exc)
    except Exception as exc:  # noqa: BLE001 - any failure is reported, the others go on
        phase.failed(key, repr(exc))


# The poller's changes-since starts this long before its previous poll (a
# change committed late, its `updated` set before a wait for the database, is
# still seen), and the whole list is read again this often anyway.
OVERLAP = 5.0
FULL_POLL_EVERY = 10.0


class Poller:
    """GET /servers/detail as a client polls it: ACTIVE servers (no task left)
    are done, ERROR ones failed.

    A server is done at its ``updated`` time when first seen ACTIVE: the
    commit that made it ACTIVE (or a later one), not when this poll, queued
    behind the POSTs in the API, got to see it. A failed poll is counted and
    the next one tries again: the deadline bounds the wait."""

    def __init__(self, api, phase, full_every_time=False):
        self.api, self.phase, self.full_every_time = api, phase, full_every_time
        self.last_poll = self.last_full = None
        self.polls = 0

    def poll(self):
        started = time.time()
        since = None
        if not self.full_every_time and self.last_full is not None \
                and started - self.last_full < FULL_POLL_EVERY:
            since = datetime.datetime.fromtimestamp(self.last_poll - OVERLAP, datetime.UTC)
        try:
            servers = self.api.list_servers(detail=True, changes_since=since)
        except ClientError as exc:
            self.phase.poll_errors.append(str(exc))
            return
        self.polls += 1
        self.last_poll = started
        if since is None:
            self.last_full = started
        for server in servers:
            if server["status"] == "ACTIVE" and not server.get("SNF:task_state"):
                updated = datetime.datetime.fromisoformat(server["updated"]).timestamp()
                self.phase.finished(server["id"], min(started, updated))
            elif server["status"] == "ERROR":
                self.phase.failed(server["id"], "server %s went to ERROR" % server["id"])


def whole_system(deployment, args, body, count=None, probe=None):
    """``count`` (default ``--servers``) creates at once, waited for until
    done. ``probe``: a callable started once every POST has been answered,
    given the number of creates then in flight."""
    count = count or args.servers
    phase = Phase(count)
    deadline = time.monotonic() + args.deadline
    threads = start_together(count, post_server, lambda i: (deployment, phase, i, body), deadline)
    probing = None
    with api_client(deployment) as api:
        poller = Poller(api, phase, args.full_poll)
        while time.monotonic() < deadline and (alive(threads) or not phase.settled()):
            started = time.monotonic()
            if probe is not None and probing is None and not alive(threads):
                in_flight = phase.in_flight()
                probing = threading.Thread(target=probe, args=(in_flight,), daemon=True)
                probing.start()
            poller.poll()
            time.sleep(max(0.0, args.poll - (time.monotonic() - started)))
    if probing is not None:
        probing.join(max(1.0, deadline - time.monotonic()))
    return phase.result()


def probe_posts(deployment, args, body, results, key):
    """``--probe`` concurrent POSTs; their latencies go to ``results[key]``
    (the servers they create are not waited for)."""
    phase = Phase(args.probe)
    deadline = time.monotonic() + args.deadline
    threads = start_together(args.probe, post_server, lambda i: (deployment, phase, i, body), deadline)
    for thread in threads:
        thread.join(max(1.0, deadline - time.monotonic()))
    results[key] = phase.result()["submit"][0]
    results[key + "_errors"] = dict(phase.errors)


def remove_servers(deployment, args):
    """DELETE every server of the demo user (``--rapi-clients`` at a time) and
    wait until the list shows none: the delete jobs are done and the
    addresses back in the pool."""
    deadline = time.monotonic() + args.deadline
    with api_client(deployment) as api:
        ids = [server["id"] for server in api.list_servers()]

    def delete(server_id):
        with api_client(deployment) as client:
            client.delete_server(server_id)
    with concurrent.futures.ThreadPoolExecutor(args.rapi_clients) as pool:
        list(pool.map(delete, ids))
    with api_client(deployment) as api:
        while api.list_servers():
            if time.monotonic() > deadline:
                raise BenchError("the servers were not deleted within %.0f s" % args.deadline)
            time.sleep(args.poll)
    return len(ids)


# -- the run -----------------------------------------------------------------------

def pick(deployment):
    """The smallest flavor, the first image and the simulator's public network."""
    with api_client(deployment) as api:
        flavors = api.list_flavors(detail=True)
        image = api.list_images()[0]
    flavor = min(flavors, key=lambda f: (f["ram"], f["disk"], f["id"]))
    with deployment.rapi_client() as client:
        networks = [n for n in client.get_networks() if n.startswith(deployment.prefix_id)]
    if len(networks) != 1:
        raise BenchError("expected the deployment's one public network in the simulator, got %s"
                         % networks)
    return flavor, image, networks[0]


def report(label, what, result, count):
    print("%-16s %d/%d %s in %7.2f s; request->done median %6.2f s, p99 %6.2f s; "
          "submit median %7.1f ms, p99 %7.1f ms"
          % (label, result["done"], count, what, result["total"], result["per_create"][0],
             result["per_create"][1], result["submit"][0] * 1000, result["submit"][1] * 1000),
          flush=True)
    for key, why in list(result["errors"].items())[:3]:
        print("  failed %s: %s" % (key, why))
    if len(result["errors"]) > 3:
        print("  ... %d failures in all" % len(result["errors"]))
    if result["poll_errors"]:
        print("  %d failed polls, first: %s" % (len(result["poll_errors"]), result["poll_errors"][0]))


def run(deployment, stack, args):
    flavor, image, network = pick(deployment)
    print("stack: %s; %d concurrent creates, flavor %s (%d CPU, %d MiB, %d GB %s), "
          "simulator job duration %.2f s"
          % (stack.label(), args.servers, flavor["id"], flavor["cpu"], flavor["ram"], flavor["disk"],
             flavor["SNF:disk_template"], args.job_duration), flush=True)
    cpu = cpu_by_program()
    limit = simulator_alone(deployment, args, instance_body(flavor, image, network))
    report("simulator alone:", "jobs succeeded", limit, args.servers)
    print_cpu("simulator alone", cpu, cpu_by_program())
    clear_simulator(deployment, time.monotonic() + args.deadline)
    body = {"name": "bench", "image_id": image["id"], "flavor_id": flavor["id"]}
    probes = {}
    if args.probe:
        # the first requests of each API process pay its warm-up (imports,
        # the key stretching of SECRET_ENCRYPTION_KEY): not the idle figure
        whole_system(deployment, args, dict(body, name="warm-up"), count=args.probe)
        idle = whole_system(deployment, args, dict(body, name="probe-idle"), count=args.probe)
        probes["idle"] = idle["submit"][0]
        report("probe, idle:", "ACTIVE", idle, args.probe)

    cpu = cpu_by_program()
    system = whole_system(deployment, args, body)
    report("whole system:", "ACTIVE", system, args.servers)
    print_cpu("whole system", cpu, cpu_by_program())
    complete = limit["done"] == system["done"] == args.servers
    if limit["done"] and system["done"]:
        print("ratios system / simulator alone: total x%.2f, median x%.2f, p99 x%.2f%s"
              % (system["total"] / limit["total"], system["per_create"][0] / limit["per_create"][0],
                 system["per_create"][1] / limit["per_create"][1],
                 "" if complete else " (over the creates that finished)"))
        report_goal("POST /servers to ACTIVE, %d at once (%s)" % (args.servers, stack.label()),
                    "%.1f s" % system["total"], "%.1f s simulator alone" % limit["total"],
                    system["total"] / limit["total"], 1.3, higher_is_better=False)
    if args.probe:
        try:
            removed = remove_servers(deployment, args)
        except (BenchError, ClientError) as exc:
            print("create_to_active: no probe with creates in flight: %s" % exc, file=sys.stderr)
            return 1
        print("(untimed) %d servers deleted; the probe's burst of %d creates:" % (removed, args.servers),
              flush=True)

        def busy_probe(in_flight):
            probes["in_flight"] = in_flight
            probe_posts(deployment, args, dict(body, name="probe-busy"), probes, "busy")

        cpu = cpu_by_program()
        burst = whole_system(deployment, args, dict(body, name="burst"), probe=busy_probe)
        report("probe's burst:", "ACTIVE", burst, args.servers)
        print_cpu("the probe's burst (the probe included)", cpu, cpu_by_program())
        complete = complete and burst["done"] == args.servers
    if "busy" in probes and probes.get("idle"):
        print("POST latency of %d concurrent POSTs: median %.1f ms idle, %.1f ms with %d creates "
              "in flight%s; the %d POSTs at once: median %.1f ms"
              % (args.probe, probes["idle"] * 1000, probes["busy"] * 1000, probes["in_flight"],
                 " (%d failed)" % len(probes["busy_errors"]) if probes["busy_errors"] else "",
                 args.servers, system["submit"][0] * 1000))
        report_goal("POST /servers median latency, %d creates in flight vs none" % probes["in_flight"],
                    "%.0f ms" % (probes["busy"] * 1000), "%.0f ms idle" % (probes["idle"] * 1000),
                    probes["busy"] / probes["idle"], 2.0, higher_is_better=False)
    if not complete:
        print("create_to_active: not every create finished within %.0f s (--keep keeps the logs)"
              % args.deadline, file=sys.stderr)
        return 1
    return 0


def print_log_tails(log_dir, size=1500):
    """The end of every process log, when the run could not measure: the
    deployment's directory is removed on exit."""
    for name in sorted(os.listdir(log_dir)) if os.path.isdir(log_dir) else []:
        with open(os.path.join(log_dir, name), errors="replace") as handle:
            print("--- %s\n%s" % (name, handle.read()[-size:]), file=sys.stderr)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=200, help="concurrent creates (default 200)")
    parser.add_argument("--stack", choices=STACKS, default=STACKS[0])
    parser.add_argument("--job-duration", type=float, default=0.3, help="simulator job duration (s)")
    parser.add_argument("--rapi-clients", type=int, default=8,
                        help="RAPI connections submitting the limit's creates (default 8: the API's "
                             "2 gunicorn workers x 4 threads)")
    parser.add_argument("--probe", type=int, default=10,
                        help="concurrent POSTs of the latency probe, idle and with the creates in "
                             "flight (default 10; 0: no probe)")
    parser.add_argument("--poll", type=float, default=0.5, help="GET /servers/detail interval (s)")
    parser.add_argument("--full-poll", action="store_true",
                        help="read the whole list at every poll (no changes-since)")
    parser.add_argument("--deadline", type=float, default=300, help="bound on each phase (s)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the deployment's directory (logs, database) and print its path")
    args = parser.parse_args(argv)
    if not 1 <= args.servers <= MAX_SERVERS:
        parser.error("--servers must be between 1 and %d (the public network is a /24)" % MAX_SERVERS)
    if args.probe < 0 or args.servers + 2 * args.probe > MAX_SERVERS:
        parser.error("--servers + 2 x --probe must be at most %d (the public network is a /24)"
                     % MAX_SERVERS)
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        from synnefo.tools.quickstart import Deployment
    except ImportError:
        print("SKIP: synnefo.tools.quickstart is not installed")
        return 0
    tag = secrets.token_hex(3)
    tmp = tempfile.mkdtemp(prefix="snf-bench-c2a-")
    stack = deployment = None
    try:
        stack = Stack(args.stack, tag)
        deployment = Deployment(tmp, api_port=free_port(), extra_conf=stack.conf, sim_args=sim_args(args),
                                prefix_id="c%s-" % tag, log=lambda *a: None)
        deployment.start()
        return run(deployment, stack, args)
    except Exception as exc:  # noqa: BLE001 - a benchmark that cannot measure says why
        print("create_to_active: %s" % (exc,), file=sys.stderr)
        if deployment is not None:
            print_log_tails(deployment.log_dir)
        return 1
    finally:
        if deployment is not None:
            deployment.stop()
        if stack is not None:
            stack.drop()
        if args.keep:
            print("kept %s" % tmp, file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
