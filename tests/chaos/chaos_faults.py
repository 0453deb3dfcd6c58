"""The faults of the chaos suite, each injected once while the load runs.

A fault has a ``name``, a one-line ``what`` (docs/chaos.rst lists them),
:meth:`inject` (start it) and :meth:`heal` (end it). The window between the
two is ``hold`` seconds. :class:`Context` gives them the deployment and the
private services.

A killed daemon is brought back by ``snf-quickstart``'s own supervisor
(:mod:`synnefo.tools.supervisor`, restart with back-off), which ``run.py``
steps in a thread as ``snf-quickstart`` does (:func:`start_supervision`); the
fault only waits for the new process, so "no daemon left dead" checks the
supervisor.
"""

import os
import signal
import threading
import time
from dataclasses import dataclass

from synnefo.tools.processes import child_pids


@dataclass
class Context:
    deployment: object
    postgres: object = None
    rabbitmq: object = None
    tmpfs: object = None
    log: object = print


def _wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")


def _kill(proc):
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def supervisor_restarts(deployment, name, old_pid, timeout=60):
    """The deployment's own supervisor restarts it: wait for a new live process."""
    def back():
        proc = deployment.process(name)
        return proc.pid != old_pid and proc.poll() is None
    _wait(back, timeout, f"the supervisor to restart {name}")


def start_supervision(deployment, stop_event, log):
    """Step the deployment's supervisor (as ``snf-quickstart`` does) every
    0.5 s in a thread until ``stop_event``."""
    from synnefo.tools.supervisor import Supervisor

    supervisor = Supervisor(deployment, report=lambda line: log(f"  supervisor: {line}"))

    def loop():
        while not stop_event.wait(0.5):
            supervisor.step()
    thread = threading.Thread(target=loop, name="chaos-supervisor", daemon=True)
    thread.start()
    return thread


class Fault:
    name = what = ""
    hold = 5.0

    def inject(self, ctx):
        raise NotImplementedError

    def heal(self, ctx):
        raise NotImplementedError


class NoFault(Fault):
    name = "none (baseline)"
    what = "No fault: the load alone, for comparison."

    def inject(self, ctx):
        pass

    def heal(self, ctx):
        pass


class KillDaemon(Fault):
    """kill -9 of one process of the deployment; its supervisor brings it back."""

    def __init__(self, process, what):
        self.process = process
        self.name = f"kill -9 {process}"
        self.what = what

    def inject(self, ctx):
        proc = ctx.deployment.process(self.process)
        self.pid = proc.pid
        _kill(proc)

    def heal(self, ctx):
        supervisor_restarts(ctx.deployment, self.process, self.pid)
        if self.process == "ganeti-sim":
            _wait(lambda: _rapi_answers(ctx.deployment), 30, "the simulator's RAPI")


def _rapi_answers(deployment):
    try:
        with deployment.rapi_client(timeout=2, retries=0) as rapi:
            rapi.get_info()
        return True
    except Exception:  # noqa: BLE001 - not yet
        return False


class KillApiWorker(Fault):
    name = "kill -9 API worker"
    what = ("SIGKILL to one gunicorn worker (requests in flight on it are cut); gunicorn's "
            "master starts a new worker by itself.")

    def inject(self, ctx):
        self.master = ctx.deployment.process("api").pid
        workers = child_pids(self.master)
        if not workers:
            raise RuntimeError("gunicorn has no worker to kill")
        self.before = set(workers)
        os.kill(workers[0], signal.SIGKILL)

    def heal(self, ctx):
        _wait(lambda: len(child_pids(self.master)) == len(self.before), 60,
              "gunicorn to replace its worker")


class RapiStall(Fault):
    name = "RAPI stalls"
    what = ("SIGSTOP of the simulator for the window, then SIGCONT: its RAPI accepts connections "
            "and answers nothing (longer than GANETI_RAPI_REQUEST_TIMEOUT), and its jobs pause.")
    hold = 8.0

    def inject(self, ctx):
        ctx.deployment.process("ganeti-sim").send_signal(signal.SIGSTOP)

    def heal(self, ctx):
        ctx.deployment.process("ganeti-sim").send_signal(signal.SIGCONT)


class RestartRabbitMQ(Fault):
    name = "RabbitMQ restart"
    what = ("The private RabbitMQ node is stopped (rabbitmqctl stop: every connection closes) "
            "and started again: down for the stop and the boot, about 15 to 25 s.")
    hold = 0.0

    def inject(self, ctx):
        ctx.rabbitmq.stop()

    def heal(self, ctx):
        ctx.rabbitmq.start()


class RestartPostgres(Fault):
    name = "PostgreSQL restart"
    what = ("The private PostgreSQL is stopped (pg_ctl stop -m fast: every session is cut), "
            "kept down for the window, then started again.")
    hold = 4.0

    def inject(self, ctx):
        ctx.postgres.stop("fast")

    def heal(self, ctx):
        ctx.postgres.start()


class BrokerDiskFull(Fault):
    name = "file-system broker disk full"
    what = ("On the file-system-broker deployment: the broker's folder is a 4 MiB tmpfs, "
            "filled up with a file (every publish fails with ENOSPC) for the window, then the "
            "file is removed.")
    hold = 6.0

    def inject(self, ctx):
        self.path = os.path.join(ctx.tmpfs.path, "chaos-filler")
        with open(self.path, "wb", buffering=0) as handle:
            for size in (65536, 512):  # big blocks, then the last bytes that fit
                try:
                    while True:
                        handle.write(b"\0" * size)
                except OSError:
                    pass
        ctx.log(f"  the broker's tmpfs is full: {os.statvfs(ctx.tmpfs.path).f_bavail} blocks free")

    def heal(self, ctx):
        os.unlink(self.path)


def rabbitmq_faults():
    """The faults run on the PostgreSQL + RabbitMQ deployment, in order."""
    return [
        NoFault(),
        KillApiWorker(),
        KillDaemon("dispatcher-1", "SIGKILL to the first snf-dispatcher (its unacknowledged "
                                   "messages go back to the queue)."),
        KillDaemon("eventd", "SIGKILL to snf-ganeti-eventd (jobs that end meanwhile are "
                             "reported from its state file when it is back)."),
        KillDaemon("ganeti-sim", "SIGKILL to the Ganeti simulator (RAPI refused; its running "
                                 "jobs end in error at its next start, queued ones run then)."),
        RapiStall(),
        RestartRabbitMQ(),
        RestartPostgres(),
    ]


def filesystem_faults():
    """The faults run on the PostgreSQL + file-system broker deployment."""
    return [BrokerDiskFull()]
