"""Settings that ``PUT /sim/config`` may change while the simulator runs."""

import threading

from synnefo.tools.ganeti_sim.failures import FailRule, first_match

MAX_JOB_DURATION = 3600.0


def check_duration(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_JOB_DURATION:
        raise ValueError("job_duration must be a number of seconds between 0 and %d, got %r"
                         % (MAX_JOB_DURATION, value))
    return float(value)


class RuntimeConfig:
    def __init__(self, job_duration=1.0, fail_rules=()):
        self._lock = threading.Lock()
        self.job_duration = check_duration(job_duration)
        self.fail_rules = list(fail_rules)

    def to_dict(self):
        with self._lock:
            return {"job_duration": self.job_duration, "fail_rules": [r.to_dict() for r in self.fail_rules]}

    def update(self, data):
        """Validate everything first, then change: a bad body changes nothing."""
        if not isinstance(data, dict):
            raise ValueError("the body must be a JSON object")
        unknown = set(data) - {"job_duration", "fail_rules"}
        if unknown:
            raise ValueError("unknown setting(s): %s" % ", ".join(sorted(unknown)))
        duration = check_duration(data["job_duration"]) if "job_duration" in data else None
        rules = None
        if "fail_rules" in data:
            if not isinstance(data["fail_rules"], list):
                raise ValueError("fail_rules must be a list")
            rules = [FailRule.from_dict(item) for item in data["fail_rules"]]
        with self._lock:
            if duration is not None:
                self.job_duration = duration
            if rules is not None:
                self.fail_rules = rules

    def failure_for(self, op_input):
        with self._lock:
            return first_match(self.fail_rules, op_input)
