"""What a burnin run found: one :class:`StepResult` per step, grouped by case."""

import dataclasses
import time

PASSED, FAILED, ERROR, SKIPPED, NOT_RUN = "passed", "failed", "error", "skipped", "not run"


class CheckFailed(Exception):
    """An assertion about the deployment did not hold (a test failure)."""


class Skip(Exception):
    """The step cannot run here; the message says why."""


class Interrupted(Exception):
    """The run was interrupted (Ctrl-C, SIGTERM, or fail-fast after another failure)."""


def check(condition, message):
    if not condition:
        raise CheckFailed(message)


@dataclasses.dataclass
class StepResult:
    step: str           # "005"
    title: str          # "build: BUILD -> ACTIVE"
    status: str = NOT_RUN
    seconds: float = 0.0
    message: str = ""
    details: dict = dataclasses.field(default_factory=dict)
    warnings: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class CaseResult:
    name: str           # "server_spawn"
    label: str          # "server_spawn[debian-12]#1"
    steps: list = dataclasses.field(default_factory=list)
    started: float = 0.0
    seconds: float = 0.0

    @property
    def status(self):
        statuses = {s.status for s in self.steps}
        for status in (ERROR, FAILED):
            if status in statuses:
                return status
        if statuses and statuses <= {SKIPPED}:
            return SKIPPED
        if NOT_RUN in statuses and PASSED not in statuses:
            return NOT_RUN
        return PASSED

    def count(self, status):
        return sum(1 for s in self.steps if s.status == status)


class RunResult:
    def __init__(self, run_id, api):
        self.run_id = run_id
        self.api = api
        self.started = time.time()
        self.finished = None
        self.cases = []
        self.leftovers = []        # what cleanup could not remove
        self.interrupted = None    # the reason, when the run was cut short
        self.options = {}

    def add(self, case):
        self.cases.append(case)
        return case

    def count(self, status):
        return sum(c.count(status) for c in self.cases)

    @property
    def passed(self):
        return (not self.interrupted and not self.leftovers and self.count(FAILED) == 0
                and self.count(ERROR) == 0 and self.count(NOT_RUN) == 0)

    @property
    def outcome(self):
        if self.passed:
            return "passed"
        return "interrupted" if self.interrupted else "failed"
