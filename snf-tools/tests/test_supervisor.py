"""synnefo.tools.supervisor: the back-off, the restart of dead daemons, the reports
(a fake deployment and clock; the real processes are in tests/e2e/test_e2e_supervision.py)."""

import itertools
import signal

import pytest
from synnefo.tools import supervisor as sup


class FakeProc:
    pids = itertools.count(1000)

    def __init__(self):
        self.pid = next(self.pids)
        self.returncode = None

    def poll(self):
        return self.returncode


class FakeDeployment:
    log_dir = "/var/x/log"

    def __init__(self, *names):
        self.processes = [(name, FakeProc()) for name in names]
        self.restarted = []
        self.broken = set()

    def process(self, name):
        return dict(self.processes)[name]

    def restart(self, name):
        if name in self.broken:
            raise FileNotFoundError(2, "No such file or directory")
        proc = FakeProc()
        self.processes = [(n, p) for n, p in self.processes if n != name] + [(name, proc)]
        self.restarted.append(name)
        return proc


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.fixture
def world(monkeypatch):
    killed = []
    monkeypatch.setattr(sup, "kill_group", killed.append)
    clock, lines = Clock(), []
    dep = FakeDeployment("eventd", "dispatcher-1", "api")
    return dep, sup.Supervisor(dep, report=lines.append, clock=clock), clock, lines, killed


def test_backoff_doubles_to_the_limit_and_resets_after_a_stable_run():
    backoff = sup.Backoff(first=1, limit=30, stable_after=60)
    assert [backoff.next_delay(2) for _ in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff.next_delay(60) == 1 and backoff.next_delay(5) == 2


@pytest.mark.parametrize("code,text", [(-signal.SIGKILL, "killed by SIGKILL"), (1, "exit status 1"),
                                       (-200, "killed by signal 200")])
def test_describe_exit(code, text):
    assert sup.describe_exit(code) == text


def test_a_dead_daemon_is_reported_and_restarted_after_its_delay(world):
    dep, supervisor, clock, lines, killed = world
    old = dep.process("dispatcher-1")
    old.returncode = -signal.SIGKILL
    clock.now += 10
    supervisor.step()
    assert lines == ["dispatcher-1 died (killed by SIGKILL) after 10 s; restarting in 1 s "
                     "(log: /var/x/log/dispatcher-1.log)"]
    assert killed == [old.pid] and dep.restarted == []  # its group is killed, the restart waits
    clock.now += 0.5
    supervisor.step()
    assert dep.restarted == []
    clock.now += 0.5
    supervisor.step()
    assert dep.restarted == ["dispatcher-1"]
    assert lines[-1] == "dispatcher-1 restarted (pid %d)" % dep.process("dispatcher-1").pid
    supervisor.step()
    assert dep.restarted == ["dispatcher-1"] and len(lines) == 2  # the others never died


def test_a_crash_loop_backs_off_and_a_stable_run_resets_it(world):
    dep, supervisor, clock, lines, _killed = world
    delays = []
    for _ in range(4):
        dep.process("eventd").returncode = 1
        supervisor.step()
        delays.append(supervisor.pending["eventd"] - clock.now)
        clock.now = supervisor.pending["eventd"]
        supervisor.step()
    assert delays == [1, 2, 4, 8]
    clock.now += 60  # it stays up a while
    dep.process("eventd").returncode = 1
    supervisor.step()
    assert supervisor.pending["eventd"] - clock.now == 1
    assert supervisor.restarts["eventd"] == 4


def test_a_daemon_that_cannot_start_is_retried(world):
    dep, supervisor, clock, lines, _killed = world
    dep.process("api").returncode = 3
    dep.broken.add("api")
    supervisor.step()
    clock.now += 1
    supervisor.step()
    assert lines[-1] == "api cannot start: [Errno 2] No such file or directory; retrying in 2 s"
    dep.broken.clear()
    clock.now += 2
    supervisor.step()
    assert dep.restarted == ["api"]
