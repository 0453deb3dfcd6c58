"""The job queue: one worker thread per job, Ganeti's job files, long-polls.

A job goes queued -> waiting -> running -> success|error (or canceled while
queued/waiting). Every change rewrites ``<queue-dir>/job-N`` through a temp
file + rename, in Ganeti's own format. All job state is guarded by
``cluster.lock``; ``self.changed`` (a condition on that lock) wakes
long-polls.
"""

import json
import logging
import os
import re
import threading
import time

from synnefo.tools.ganeti_sim import hooks as hooks_mod
from synnefo.tools.ganeti_sim.errors import OpError, exec_error
from synnefo.tools.ganeti_sim.executor import operation_for
from synnefo.tools.ganeti_sim.files import now_pair, write_atomically
from synnefo.tools.ganeti_sim.opcodes import summary
from synnefo.tools.ganeti_sim.progress import ProgressFeed

log = logging.getLogger(__name__)

JOB_FILE_RE = re.compile(r"^job-(\d+)$")
FINAL = frozenset({"success", "error", "canceled"})
WAIT_TIMEOUT = 10.0
# Share of the job duration spent queued, waiting and running.
QUEUED_SHARE, WAITING_SHARE, RUNNING_SHARE = 0.2, 0.1, 0.7
RESTART_MESSAGE = "The simulator stopped while the job was running; it did not finish"


class Job:
    def __init__(self, job_id, op_inputs, received=None):
        self.id = job_id
        self.ops = [{"input": op, "status": "queued", "result": None, "log": [], "start_timestamp": None,
                     "exec_timestamp": None, "end_timestamp": None, "priority": op.get("priority", 0)}
                    for op in op_inputs]
        self.received_timestamp = received or now_pair()
        self.start_timestamp = None
        self.end_timestamp = None
        self.process_id = os.getpid()

    @property
    def op(self):
        return self.ops[0]

    @property
    def status(self):
        statuses = [op["status"] for op in self.ops]
        if all(s == "success" for s in statuses):
            return "success"
        for status in ("error", "canceled", "canceling", "running", "waiting"):
            if status in statuses:
                return status
        return "queued"

    @property
    def final(self):
        return self.status in FINAL

    def log_serial(self):
        return max((entry[0] for op in self.ops for entry in op["log"]), default=0)

    def to_file(self):
        return {"id": self.id, "ops": self.ops, "start_timestamp": self.start_timestamp,
                "end_timestamp": self.end_timestamp, "received_timestamp": self.received_timestamp,
                "livelock": "/var/run/ganeti/livelocks/job_%06d_%d" % (self.id, self.received_timestamp[0]),
                "process_id": self.process_id}

    @classmethod
    def from_file(cls, data):
        job = cls(int(data["id"]), [op["input"] for op in data["ops"]], data["received_timestamp"])
        job.ops = data["ops"]
        job.start_timestamp = data.get("start_timestamp")
        job.end_timestamp = data.get("end_timestamp")
        job.process_id = data.get("process_id", job.process_id)
        return job

    def field(self, name):
        """One RAPI job field (``/2/jobs/N``, ``/wait``)."""
        getters = {
            "id": lambda: self.id, "status": lambda: self.status,
            "ops": lambda: [op["input"] for op in self.ops],
            "summary": lambda: [summary(op["input"]) for op in self.ops],
            "opstatus": lambda: [op["status"] for op in self.ops],
            "opresult": lambda: [op["result"] for op in self.ops],
            "oplog": lambda: [op["log"] for op in self.ops],
            "opstart": lambda: [op["start_timestamp"] for op in self.ops],
            "opexec": lambda: [op["exec_timestamp"] for op in self.ops],
            "opend": lambda: [op["end_timestamp"] for op in self.ops],
            "oppriority": lambda: [op["priority"] for op in self.ops],
            "priority": lambda: min(op["priority"] for op in self.ops),
            "received_ts": lambda: self.received_timestamp, "start_ts": lambda: self.start_timestamp,
            "end_ts": lambda: self.end_timestamp,
        }
        if name not in getters:
            raise KeyError(name)
        return getters[name]()


RAPI_JOB_FIELDS = ("id", "ops", "status", "summary", "opstatus", "received_ts", "start_ts", "end_ts",
                   "oplog", "opresult")
KNOWN_JOB_FIELDS = RAPI_JOB_FIELDS + ("opstart", "opexec", "opend", "oppriority", "priority")


class JobQueue:
    def __init__(self, cluster, queue_dir, config, hooks_dir=None, progress_monitor=None, data_dir=None):
        self.cluster = cluster
        self.queue_dir = queue_dir
        self.config = config
        self.hooks_dir = hooks_dir
        self.progress_monitor = progress_monitor
        self.data_dir = data_dir or cluster.state_dir
        self.jobs = {}
        self.changed = threading.Condition(cluster.lock)
        self.stopping = threading.Event()
        self.threads = []
        self._turns = {}  # lock key -> ids of the unfinished jobs on it, oldest first
        self._cancel_requested = set()

    # -- files -------------------------------------------------------------

    def job_path(self, job_id):
        return os.path.join(self.queue_dir, "job-%d" % job_id)

    def _write(self, job):
        """Rewrite the job file and wake long-polls (lock held)."""
        text = json.dumps(job.to_file())
        write_atomically(self.job_path(job.id), text, tmp_prefix="job-%d-%d-" % (job.id, os.getpid()))
        self.changed.notify_all()

    def load(self):
        """Reload the job files: running ones end as error, queued/waiting
        ones go back to queued; returns those, for :meth:`resume`."""
        os.makedirs(self.queue_dir, mode=0o750, exist_ok=True)
        resumed = []
        with self.cluster.lock:
            for name in os.listdir(self.queue_dir):
                match = JOB_FILE_RE.match(name)
                if not match:
                    continue
                with open(os.path.join(self.queue_dir, name)) as handle:
                    try:
                        job = Job.from_file(json.load(handle))
                    except (ValueError, KeyError, TypeError) as exc:
                        raise ValueError("job file %s is unreadable: %s" % (name, exc)) from None
                self.jobs[job.id] = job
                self.cluster.next_job_id = max(self.cluster.next_job_id, job.id + 1)
                status = job.status
                if status in ("running", "canceling"):
                    for op in job.ops:
                        if op["status"] not in FINAL:
                            self._finish_op(job, op, "error", exec_error(RESTART_MESSAGE).result())
                    self._write(job)
                elif status in ("queued", "waiting"):
                    for op in job.ops:
                        op["status"], op["start_timestamp"] = "queued", None
                    job.start_timestamp = None
                    self._write(job)
                    resumed.append(job)
            self.cluster.save()
        return sorted(resumed, key=lambda j: j.id)

    def resume(self, jobs):
        """Start the worker threads of reloaded jobs (after any fork)."""
        with self.cluster.lock:
            for job in jobs:
                self._take_turn(job)
        for job in jobs:
            self._start(job)

    # -- submission --------------------------------------------------------

    def submit(self, op_input, resource):
        with self.cluster.lock:
            job_id = self.cluster.allocate_job_id()
            op_input = self._complete(op_input, resource, job_id)
            job = Job(job_id, [op_input])
            self.jobs[job_id] = job
            self._take_turn(job)
            self._write(job)
        self._start(job)
        return job_id

    def _complete(self, op_input, resource, job_id):
        """Add what Ganeti adds on submission, keys in Ganeti's order: the
        instance's UUID after its name, then ``reason``, ``OP_ID`` last."""
        op_id = op_input["OP_ID"]
        inst = self.cluster.instances.get(op_input.get("instance_name"))
        result = {}
        for key, value in op_input.items():
            if key == "OP_ID":
                continue
            result[key] = value
            if key == "instance_name" and op_id != "OP_INSTANCE_CREATE":
                result["instance_uuid"] = inst["uuid"] if inst else None
        stamp_ns = time.time_ns()
        result["reason"] = [["gnt:library:rlib2:%s" % resource, "", stamp_ns],
                            ["gnt:opcode:%s" % op_id[3:].lower(), "job=%d;index=0" % job_id, stamp_ns]]
        result["OP_ID"] = op_id
        return result

    def _start(self, job):
        thread = threading.Thread(target=self._run, args=(job,), name="job-%d" % job.id, daemon=True)
        self.threads = [t for t in self.threads if t.is_alive()]
        self.threads.append(thread)
        thread.start()

    # -- lifecycle -------------------------------------------------------------

    def _log(self, job, text):
        with self.cluster.lock:
            job.op["log"].append([job.log_serial() + 1, now_pair(), "message", text])
            self._write(job)

    def _finish_op(self, job, op, status, result):
        stamp = now_pair()
        op["status"], op["result"] = status, result
        if op["start_timestamp"] is None:
            op["start_timestamp"] = stamp
        op["end_timestamp"] = stamp
        job.end_timestamp = now_pair()

    def _end(self, job, status, result):
        with self.cluster.lock:
            self._finish_op(job, job.op, status, result)
            self._write(job)
        log.info("job %d %s: %s", job.id, job.op["input"]["OP_ID"], status)

    def _pause(self, seconds):
        """Sleep; True if the simulator is stopping."""
        return self.stopping.wait(max(0.0, seconds))

    def _canceled(self, job):
        with self.cluster.lock:
            return job.status == "canceled"

    def _run(self, job):
        try:
            self._lifecycle(job)
        except Exception as exc:  # a bug must not leave the job running forever
            log.exception("job %d crashed", job.id)
            if not job.final:
                self._end(job, "error", exec_error("simulator error: %s" % exc).result())
        finally:
            self._leave_turn(job)

    def _take_turn(self, job):
        """Queue the job behind earlier jobs on the same object (lock held)."""
        self._turns.setdefault(self._lock_key(job), []).append(job.id)

    def _leave_turn(self, job):
        with self.cluster.lock:
            turns = self._turns.get(self._lock_key(job), [])
            if job.id in turns:
                turns.remove(job.id)
            self.changed.notify_all()

    def _wait_turn(self, job):
        """Block until every earlier job on the same object is done; False if
        the job was canceled or the simulator is stopping meanwhile."""
        turns = self._turns[self._lock_key(job)]
        with self.cluster.lock:
            while True:
                if self.stopping.is_set() or job.status == "canceled":
                    return False
                if turns[0] == job.id:
                    return True
                self.changed.wait(0.5)

    def _lifecycle(self, job):
        duration = self.config.job_duration
        if self._pause(duration * QUEUED_SHARE) or self._canceled(job):
            return
        with self.cluster.lock:
            if job.status == "canceled":
                return
            stamp = now_pair()
            job.op["status"], job.op["start_timestamp"] = "waiting", stamp
            job.start_timestamp = stamp
            self._write(job)
        if not self._wait_turn(job) or not self._wait_dependencies(job):
            return
        if self._pause(duration * WAITING_SHARE) or self._canceled(job):
            return
        with self.cluster.lock:
            if job.status == "canceled":
                return
            job.op["status"], job.op["exec_timestamp"] = "running", now_pair()
            self._write(job)
        self._execute(job, duration * RUNNING_SHARE)

    def _lock_key(self, job):
        """Ops on the same instance or network take turns (tag ops included)."""
        op = job.op["input"]
        if op.get("kind") in ("instance", "network"):
            return "%s:%s" % (op["kind"], op["name"])
        if op.get("instance_name"):
            return "instance:%s" % op["instance_name"]
        if op.get("network_name"):
            return "network:%s" % op["network_name"]
        return op["OP_ID"]

    def _wait_dependencies(self, job):
        for dep_id, allowed in job.op["input"].get("depends") or []:
            with self.cluster.lock:
                while True:
                    dep = self.jobs.get(dep_id)
                    if dep is None:
                        self._finish_op(job, job.op, "error", exec_error(
                            "Dependency job %d not found" % dep_id).result())
                        self._write(job)
                        return False
                    if dep.final or self.stopping.is_set() or job.status == "canceled":
                        break
                    self.changed.wait(0.5)
                if self.stopping.is_set() or job.status == "canceled":
                    return False
                if dep.status not in allowed:
                    self._finish_op(job, job.op, "error", exec_error(
                        "Dependency job %d finished with status '%s', not one of %s"
                        % (dep_id, dep.status, ", ".join(allowed))).result())
                    self._write(job)
                    return False
        return True

    def _execute(self, job, work_time):
        op_input = job.op["input"]
        try:
            op = operation_for(self.cluster, op_input, lambda text: self._log(job, text))
            with self.cluster.lock:
                op.check()
            self._work(job, op_input, work_time)
            if self.stopping.is_set():
                raise exec_error(RESTART_MESSAGE)
            rule = self.config.failure_for(op_input)
            if rule is not None and not rule.after_change:
                raise exec_error(rule.message)
            with self.cluster.lock:
                op.check()
                before = self._hook_vars(op_input)
                if op_input.get("dry_run"):
                    result = None
                else:
                    result = op.apply()
                    self.cluster.save()
                after = self._hook_vars(op_input, after=True)
            if rule is not None:  # the change is made, yet the job fails (a master that died)
                raise exec_error(rule.message)
            # An added object has no "before" and a removed one no "after":
            # like Ganeti, both phases then describe the object we know.
            before, after = before or after, after or before
            if op.hooks_env_after_change:
                before = after
        except OpError as exc:
            self._end(job, "error", exc.result())
            return
        if self.hooks_dir and op.hooks_path and not op_input.get("dry_run"):
            env = hooks_mod.build_env(self.cluster, op_input, op.hooks_path, self.data_dir, before, after)
            hooks_mod.run_hooks(self.hooks_dir, op.hooks_path, env, lambda text: self._log(job, text))
        self._end(job, "success", result)

    def _work(self, job, op_input, work_time):
        """The op's running time; a create with snf-image feeds the progress monitor."""
        if (self.progress_monitor and op_input["OP_ID"] == "OP_INSTANCE_CREATE"
                and not op_input.get("no_install") and not op_input.get("dry_run")
                and (op_input.get("os_type") or "").split("+")[0] == "snf-image"):
            self._log(job, "* running the instance OS create scripts...")
            feed = ProgressFeed(self.progress_monitor, op_input["instance_name"])
            feed.run(work_time, self.stopping.is_set)
        else:
            self._pause(work_time)

    def _hook_vars(self, op_input, after=False):
        """Object variables for the hook environment (lock held)."""
        cluster = self.cluster
        op_id = op_input["OP_ID"]
        if op_id.startswith("OP_INSTANCE_"):
            name = op_input["instance_name"]
            if after and op_id == "OP_INSTANCE_RENAME":
                name = op_input["new_name"]
            inst = cluster.instances.get(name)
            if inst is None:
                return {}
            status = None
            if op_id == "OP_INSTANCE_CREATE":
                status = str(bool(op_input.get("start")) and not op_input.get("no_install"))
            return hooks_mod.instance_env(cluster, inst, status)
        if op_id.startswith("OP_NETWORK_"):
            net = cluster.networks.get(op_input["network_name"])
            return hooks_mod.network_env(net) if net else {}
        return {}

    # -- queries -----------------------------------------------------------

    def cancel(self, job_id):
        with self.cluster.lock:
            job = self.jobs.get(job_id)
            if job is None:
                return [False, "Job %d not found" % job_id]
            if job.status in ("queued", "waiting"):
                for op in job.ops:
                    self._finish_op(job, op, "canceled", "Job canceled by request")
                self._write(job)
                log.info("job %d canceled", job_id)
                return [True, "Job %d canceled" % job_id]
            return [False, "Job %d is no longer waiting in the queue" % job_id]

    def view(self, job, fields=RAPI_JOB_FIELDS):
        return {name: job.field(name) for name in fields}

    def wait_for_change(self, job_id, fields, previous_info, previous_serial, timeout=WAIT_TIMEOUT):
        """``{"job_info": [...], "log_entries": [...]}`` once something changed,
        or ``None`` after ``timeout``; ``KeyError`` for an unknown job."""
        deadline = time.monotonic() + timeout
        with self.cluster.lock:
            while True:
                job = self.jobs.get(job_id)
                if job is None:
                    raise KeyError(job_id)
                info = [job.field(name) for name in fields]
                entries = [entry for op in job.ops for entry in op["log"]
                           if previous_serial is None or entry[0] > previous_serial]
                if info != previous_info or entries or job.final:
                    return {"job_info": info, "log_entries": entries}
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.stopping.is_set():
                    return None
                self.changed.wait(remaining)

    def stop(self, timeout=10.0):
        """Stop the workers: running jobs end (done or error), the others stay queued."""
        self.stopping.set()
        with self.cluster.lock:
            self.changed.notify_all()
        deadline = time.monotonic() + timeout
        for thread in list(self.threads):
            thread.join(max(0.0, deadline - time.monotonic()))
