"""snf-ganeti-eventd: latency from job-file rename to message received, and throughput.

Compares eventd (parse, exactly-once journal with one sync per batch of
changes, confirmed publish) with its limit: a bare loop that watches the same directory with
inotify, reads each file and publishes one message, nothing else. Both run as
subprocesses on the same broker; a consumer in this process polls the queue.

* latency: one job file renamed into place every ``--interval`` seconds,
  median and p99 of (consumer receive time - rename time);
* throughput: ``--bursts`` (3) bursts of ``--burst`` (300) job files each,
  messages per second until the last one of a burst is received; the best
  burst counts, for eventd and for the bare loop alike.

Usage: ``python benchmarks/eventd_latency.py [--amqp URL] [--count N] [--burst N] [--bursts N]``.
Default broker: the file-system one in a temporary directory. Total run time
is bounded (about 20 s by default, never more than ``--deadline`` seconds).
The throughput ratio (goal 0.7) and eventd's p99 latency (goal: under
50 ms) are reported to the ``make bench`` summary.

Profile (where the time goes, docs/benchmarks.rst "eventd")::

    python benchmarks/eventd_latency.py --profile /tmp/eventd-profile

attaches ``py-spy record --idle --format raw`` to eventd and to the bare
loop for their whole run, writes ``<dir>/eventd.raw`` and ``<dir>/bare.raw``
and prints the share of samples under each function.
"""

import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import _profile
from _summary import report

PREFIX_ID = "bench-"
CLUSTER = "bench.example.org"


def job(job_id, base=1795384926):
    name = f"{PREFIX_ID}{job_id}"
    return {"id": job_id, "received_timestamp": [base, 0], "start_timestamp": [base + 1, 0],
            "end_timestamp": [base + 3, 0], "livelock": None, "process_id": None,
            "ops": [{"input": {"OP_ID": "OP_INSTANCE_STARTUP", "instance_name": name,
                               "reason": []},
                     "status": "success", "result": None, "log": [], "priority": 0,
                     "start_timestamp": [base + 1, 0], "exec_timestamp": [base + 2, 0],
                     "end_timestamp": [base + 3, 0]}]}


def write_job(queue_dir, data):
    tmp = os.path.join(queue_dir, "job-%d-%d.tmp" % (data["id"], os.getpid()))
    with open(tmp, "w") as handle:
        json.dump(data, handle)
    os.rename(tmp, os.path.join(queue_dir, "job-%d" % data["id"]))
    return time.time()


def settings_dir(base, amqp, exchange):
    path = os.path.join(base, "settings")
    os.makedirs(path)
    hosts = [amqp] if amqp else ["filesystem://"]
    with open(os.path.join(path, "10-bench.conf"), "w") as handle:
        handle.write(f"AMQP_HOSTS = {hosts!r}\nAMQP_FILESYSTEM_DIR = "
                     f"{os.path.join(base, 'broker')!r}\nBACKEND_PREFIX_ID = {PREFIX_ID!r}\n"
                     f"EXCHANGE_GANETI = {exchange!r}\n")
    return path


def bare_worker(queue_dir):
    """The limit: inotify → read → json.loads → publish. No state, no dedup."""
    import synnefo.settings as settings
    from synnefo.ganeti import inotify as F
    from synnefo.ganeti.inotify import INotify
    from synnefo.messaging import messages, names
    from synnefo.messaging.client import Broker

    broker = Broker.from_settings(settings)
    broker.declare(names.prefix_of(settings.BACKEND_PREFIX_ID))
    inotify = INotify()
    inotify.add_watch(queue_dir, F.MOVED_TO)
    print("caught up", flush=True)
    while True:
        for event in inotify.read(timeout=1000):
            if not event.name.startswith("job-") or "." in event.name:
                continue
            with open(os.path.join(queue_dir, event.name), "rb") as handle:
                data = json.loads(handle.read())
            op = data["ops"][0]
            broker.publish(messages.op_status(op["input"]["instance_name"], op["input"]["OP_ID"],
                                              op["status"], data["id"], None, CLUSTER,
                                              op["end_timestamp"]))


class Consumer(threading.Thread):
    def __init__(self, broker, queue):
        super().__init__(daemon=True)
        self.broker, self.queue = broker, queue
        self.received = {}
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                delivery = self.broker.get(self.queue)
            except Exception as exc:  # e.g. a message file caught half-written: retry
                print(f"consumer: {exc!r}; retrying", file=sys.stderr)
                time.sleep(0.01)
                continue
            if delivery is None:
                time.sleep(0.001)
                continue
            now = time.time()
            self.received.setdefault(json.loads(delivery.body)["jobId"], now)
            delivery.ack()


def wait_ready(proc, log_path=None, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"worker exited with {proc.returncode}")
        if log_path and os.path.exists(log_path):
            with open(log_path, errors="replace") as handle:
                if "caught up" in handle.read():
                    return
        time.sleep(0.05)
    if log_path:
        raise SystemExit("worker did not start in time")


def measure(label, start_worker, queue_dir, consumer, args, deadline):
    proc = start_worker()
    sampler = None
    if args.profile:
        os.makedirs(args.profile, exist_ok=True)
        sampler = _profile.attach(proc.pid, os.path.join(args.profile, f"{label}.raw"))
    try:
        first = 1
        latencies = []
        for i in range(args.count):
            if time.time() > deadline:
                break
            job_id = first + i
            sent = write_job(queue_dir, job(job_id))
            while job_id not in consumer.received and time.time() < deadline:
                time.sleep(0.0005)
            if job_id in consumer.received:
                latencies.append(consumer.received[job_id] - sent)
            time.sleep(args.interval)
        # Throughput: --bursts bursts, the best one counts (as timeit takes the
        # best of its repeats): a burst lasts well under a second, so one stall
        # of another job on the machine would otherwise decide the figure.
        throughputs, done = [], []
        next_id = first + args.count
        for _ in range(args.bursts):
            if time.time() > deadline:
                break
            burst = range(next_id, next_id + args.burst)
            next_id += args.burst
            started = time.time()
            for job_id in burst:
                write_job(queue_dir, job(job_id))
            while time.time() < deadline and not all(j in consumer.received for j in burst):
                time.sleep(0.005)
            done = [consumer.received[j] for j in burst if j in consumer.received]
            elapsed = (max(done) - started) if done else float("nan")
            throughputs.append(len(done) / elapsed if done and elapsed > 0 else float("nan"))
            if len(done) < args.burst:
                break
        throughput = max(throughputs) if throughputs else float("nan")
    finally:
        _profile.stop(sampler)
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    latencies.sort()
    result = {
        "label": label,
        "n": len(latencies),
        "median_ms": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
        if latencies else float("nan"),
        "throughput": throughput,
        "throughputs": throughputs,
        "burst_received": len(done),
    }
    print(f"{label:>6}: median {result['median_ms']:7.2f} ms  p99 {result['p99_ms']:7.2f} ms  "
          f"(n={result['n']})  throughput {result['throughput']:8.1f} msg/s, the best of "
          f"{' '.join('%.0f' % t for t in throughputs)} "
          f"(last burst {result['burst_received']}/{args.burst})", flush=True)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--amqp", help="broker URL, e.g. amqp://guest:guest@127.0.0.1:5672//")
    parser.add_argument("--count", type=int, default=150, help="jobs for the latency phase")
    parser.add_argument("--interval", type=float, default=0.01, help="pause between them (s)")
    parser.add_argument("--burst", type=int, default=300, help="jobs of each throughput burst")
    parser.add_argument("--bursts", type=int, default=3, help="throughput bursts; the best one counts")
    parser.add_argument("--deadline", type=float, default=55, help="hard bound on run time (s)")
    parser.add_argument("--profile", metavar="DIR",
                        help="sample eventd and the bare loop with py-spy, write the stacks to DIR")
    args = parser.parse_args(argv)
    hard_deadline = time.time() + args.deadline
    base = tempfile.mkdtemp(prefix="snf-bench-eventd-")
    exchange = f"bench-{secrets.token_hex(3)}" if args.amqp else "ganeti"
    try:
        sdir = settings_dir(base, args.amqp, exchange)
        env = dict(os.environ, SYNNEFO_SETTINGS_DIR=sdir)
        os.environ["SYNNEFO_SETTINGS_DIR"] = sdir
        import synnefo.settings as settings
        from synnefo.messaging import names
        from synnefo.messaging.client import Broker
        broker = Broker.from_settings(settings)
        prefix = names.prefix_of(PREFIX_ID)
        broker.declare(prefix)
        consumer = Consumer(broker, names.queue_name(prefix, "op"))
        consumer.start()
        results = []
        for label in ("eventd", "bare"):
            queue_dir = os.path.join(base, f"queue-{label}")
            os.makedirs(queue_dir)
            consumer.received.clear()
            log_path = os.path.join(base, f"{label}.log")
            if label == "eventd":
                cmd = [sys.executable, "-m", "synnefo.ganeti.eventd", "--foreground",
                       "--queue-dir", queue_dir, "--cluster-name", CLUSTER, "--state-file",
                       os.path.join(base, "state.json"), "--log-file", log_path]
            else:
                cmd = [sys.executable, os.path.abspath(__file__), "--bare-worker", queue_dir]

            def start(cmd=cmd, log_path=log_path):
                log = open(log_path, "a")
                proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=log)
                wait_ready(proc, log_path)
                return proc
            phase_deadline = min(hard_deadline, time.time() + (args.deadline - 5) / 2)
            results.append(measure(label, start, queue_dir, consumer, args, phase_deadline))
        consumer.stop.set()
        eventd, bare = results
        print("ratios eventd/bare: median latency x%.2f, p99 latency x%.2f, throughput x%.2f"
              % (eventd["median_ms"] / bare["median_ms"], eventd["p99_ms"] / bare["p99_ms"],
                 eventd["throughput"] / bare["throughput"]))
        broker_name = "RabbitMQ" if args.amqp else "file-system broker"
        report(f"snf-ganeti-eventd throughput, {broker_name}",
               "%.0f msg/s" % eventd["throughput"], "%.0f msg/s bare loop" % bare["throughput"],
               eventd["throughput"] / bare["throughput"], 0.7)
        report(f"snf-ganeti-eventd p99 latency (ms), {broker_name}", "%.1f ms" % eventd["p99_ms"],
               "%.1f ms bare loop" % bare["p99_ms"], eventd["p99_ms"], 50,
               higher_is_better=False)
        if args.profile:
            for label in ("eventd", "bare"):
                _profile.summary(os.path.join(args.profile, f"{label}.raw"))
        broker.close()
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--bare-worker":
        bare_worker(sys.argv[2])
    else:
        sys.exit(main())
