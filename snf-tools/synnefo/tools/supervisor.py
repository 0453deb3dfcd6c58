"""Restart the daemons of a deployment the way systemd does (``make run``).

:class:`Supervisor` watches the processes of a
:class:`~synnefo.tools.quickstart.Deployment`: a daemon that exits (a crash,
``kill -9``) is reported (which daemon, its exit status or signal, when it
restarts) and started again with the same command line after a back-off
delay (:class:`Backoff`: 1 s, doubling up to 30 s, back to 1 s once the
daemon stayed up 60 s), like ``Restart=always`` with a growing
``RestartSec``. What the daemon left in its process group (gunicorn's
workers, a reconciliation run) is killed first, as systemd does with the
unit's control group. Only the caller stops the deployment.
"""

import os
import signal
import time

FIRST_DELAY = 1.0
MAX_DELAY = 30.0
STABLE_AFTER = 60.0


class Backoff:
    """Restart delays of one daemon."""

    def __init__(self, first=FIRST_DELAY, limit=MAX_DELAY, stable_after=STABLE_AFTER):
        self.first, self.limit, self.stable_after = first, limit, stable_after
        self.current = first

    def next_delay(self, uptime):
        """The delay before the next start of a daemon that ran ``uptime`` seconds."""
        if uptime >= self.stable_after:
            self.current = self.first
        delay = self.current
        self.current = min(self.current * 2, self.limit)
        return delay


def describe_exit(returncode):
    """``exit status 1`` or ``killed by SIGKILL``."""
    if returncode is not None and returncode < 0:
        try:
            return "killed by %s" % signal.Signals(-returncode).name
        except ValueError:
            return "killed by signal %d" % -returncode
    return "exit status %s" % returncode


def kill_group(pid):
    """SIGKILL what is left of the process group ``pid`` led (its leader is gone)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class Supervisor:
    """Keeps ``deployment``'s daemons running; call :meth:`step` periodically.

    ``report(line)`` shows each event (the terminal and the deployment's
    ``log/supervisor.log`` in ``make run``); ``clock`` is monotonic seconds.
    """

    def __init__(self, deployment, report=print, clock=time.monotonic, backoff=Backoff):
        self.deployment = deployment
        self.report = report
        self.clock = clock
        self.make_backoff = backoff
        self.started = {name: clock() for name, _proc in deployment.processes}
        self.backoffs = {}
        self.pending = {}  # name -> when to start it again
        self.restarts = {}  # name -> how many times it was started again

    def step(self):
        """Notice the daemons that died since the last step; start those whose delay is over."""
        now = self.clock()
        for name, proc in list(self.deployment.processes):
            if name in self.pending or proc.poll() is None:
                continue
            kill_group(proc.pid)
            uptime = now - self.started.get(name, now)
            delay = self.backoffs.setdefault(name, self.make_backoff()).next_delay(uptime)
            self.pending[name] = now + delay
            self.report("%s died (%s) after %.0f s; restarting in %g s (log: %s)"
                        % (name, describe_exit(proc.returncode), uptime, delay,
                           os.path.join(self.deployment.log_dir, name + ".log")))
        for name, when in sorted(self.pending.items(), key=lambda item: item[1]):
            if now < when:
                continue
            del self.pending[name]
            try:
                proc = self.deployment.restart(name)
            except OSError as exc:  # e.g. the program was removed: try again later
                delay = self.backoffs[name].next_delay(0)
                self.pending[name] = now + delay
                self.report("%s cannot start: %s; retrying in %g s" % (name, exc, delay))
                continue
            self.started[name] = now
            self.restarts[name] = self.restarts.get(name, 0) + 1
            self.report("%s restarted (pid %d)" % (name, proc.pid))
