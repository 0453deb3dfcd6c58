"""Running cases: steps in order, fail-fast, parallel cases, interruption and cleanup.

A case is a :class:`Case` subclass whose :meth:`Case.steps` lists its steps
in order. A failing step stops its case (the remaining steps are reported
``not run``); with fail-fast (the default) it also stops the whole run. An
interruption (Ctrl-C, SIGTERM) stops every case at its next poll or step.
Whatever the run created is in :class:`Resources`, and :func:`cleanup`
deletes it at the end, however the run ended.
"""

import concurrent.futures
import logging
import threading
import time
import traceback

from synnefo.tools.burnin.results import (
    ERROR,
    FAILED,
    NOT_RUN,
    PASSED,
    SKIPPED,
    CaseResult,
    CheckFailed,
    Interrupted,
    Skip,
    StepResult,
)
from synnefo.tools.client import ApiFault, ClientError, ComputeClient, describe_server

log = logging.getLogger("snf-burnin")
NAME_PREFIX = "snf-test-"
INTERRUPTED = "stopped by Ctrl-C or SIGTERM"


class Resources:
    """The servers and networks this run created and has not deleted yet (thread-safe)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.servers = {}   # id -> name
        self.networks = {}  # id -> name

    def add_server(self, server_id, name):
        with self._lock:
            self.servers[int(server_id)] = name

    def add_network(self, network_id, name):
        with self._lock:
            self.networks[str(network_id)] = name

    def forget_server(self, server_id):
        with self._lock:
            self.servers.pop(int(server_id), None)

    def forget_network(self, network_id):
        with self._lock:
            self.networks.pop(str(network_id), None)

    def snapshot(self):
        with self._lock:
            return dict(self.servers), dict(self.networks)


class Context:
    """What every case shares: the options, the run id, the created resources,
    the stop flag and the reporter."""

    def __init__(self, options, run_id, reporter):
        self.options = options
        self.run_id = run_id
        self.reporter = reporter
        self.resources = Resources()
        self.stop = threading.Event()
        self.stop_reason = None
        self.failed = threading.Event()

    def client(self, token=None):
        o = self.options
        return ComputeClient(o.api, o.token if token is None else token, timeout=o.request_timeout,
                             interval=o.query_interval, verify=not o.insecure,
                             user_agent="snf-burnin")

    def name(self, *words):
        """A resource name of this run: ``snf-test-<run id> <words>``."""
        return " ".join([NAME_PREFIX + self.run_id, *map(str, words)])

    def interrupt(self, reason):
        if not self.stop.is_set():
            self.stop_reason = reason
            self.stop.set()

    def checkpoint(self):
        if self.stop.is_set():
            raise Interrupted(self.stop_reason or "interrupted")


class Case:
    """A scenario: ``name`` (as ``--set-tests`` names it) and ordered steps."""

    name = None
    title = ""

    def __init__(self, ctx, label=None):
        self.ctx = ctx
        self.options = ctx.options
        self.label = label or self.name
        self.api = ctx.client()
        self.current = None  # the StepResult running

    def steps(self):
        """``[(step id, title, callable), ...]`` in running order."""
        raise NotImplementedError

    def close(self):
        self.api.close()

    # -- helpers for steps --------------------------------------------------------------
    def note(self, **details):
        """Attach details (server id, IPs, ...) to the running step's result."""
        self.current.details.update(details)

    def warn(self, message):
        self.current.warnings.append(message)
        self.ctx.reporter.warning(self.label, self.current, message)
        log.warning("%s %s: %s", self.label, self.current.step, message)

    def progress(self, what):
        """A ``progress`` callback for the client's waits: reports and honours interruptions."""
        last = []

        def report(obj, elapsed):
            self.ctx.checkpoint()
            text = describe_server(obj) if isinstance(obj, dict) and "flavorRef" in obj else None
            if text is None and isinstance(obj, dict):
                text = f"status {obj.get('status')}"
            if text and (not last or last[-1] != text):
                last.append(text)
                log.info("%s %s: %s: %s (%.0f s)", self.label, self.current.step, what, text, elapsed)
                self.ctx.reporter.progress(self.label, self.current, f"{what}: {text}", elapsed)
        return report

    def server_progress(self, what, seen=None):
        report = self.progress(what)

        def callback(server, elapsed):
            if seen is not None:
                seen.append((server.get("status"), server.get("progress")))
            report(server, elapsed)
        return callback


def run_case(case, result):
    """Run the steps of ``case`` into ``result`` (a :class:`CaseResult`)."""
    ctx = case.ctx
    steps = case.steps()
    result.steps = [StepResult(step_id, title) for step_id, title, _ in steps]
    result.started = time.time()
    ctx.reporter.case_started(case.label, case.title)
    broken = False
    try:
        for (step_id, title, func), step in zip(steps, result.steps, strict=True):
            if broken or ctx.stop.is_set():
                continue
            case.current = step
            started = time.monotonic()
            try:
                func()
                step.status = PASSED
            except Skip as exc:
                step.status, step.message = SKIPPED, str(exc)
            except CheckFailed as exc:
                step.status, step.message = FAILED, str(exc)
            except Interrupted as exc:
                step.status, step.message = NOT_RUN, f"cut short: {exc}"
            except ClientError as exc:
                step.status, step.message = ERROR, _client_error_text(exc)
            except Exception as exc:  # noqa: BLE001 - a bug or the unexpected: reported, never fatal
                step.status, step.message = ERROR, f"{exc.__class__.__name__}: {exc}"
                log.error("%s %s: %s", case.label, step_id, traceback.format_exc())
            except KeyboardInterrupt:  # Ctrl-C or SIGTERM while this (main) thread ran the step
                ctx.interrupt(INTERRUPTED)
                step.status, step.message = NOT_RUN, f"cut short: {INTERRUPTED}"
            step.seconds = time.monotonic() - started
            log.info("%s %s %s: %s %s", case.label, step_id, title, step.status.upper(), step.message)
            ctx.reporter.step_done(case.label, step)
            if step.status in (FAILED, ERROR):
                broken = True
                ctx.failed.set()
                if ctx.options.failfast and not ctx.stop.is_set():
                    ctx.interrupt(f"fail-fast: {case.label} step {step_id} failed "
                                  "(--nofailfast runs the other cases anyway)")
    finally:
        case.close()
        result.seconds = time.time() - result.started
        ctx.reporter.case_done(result)
    return result


def _client_error_text(exc):
    if isinstance(exc, ApiFault):
        details = f" ({exc.details.strip().splitlines()[-1]})" if exc.details.strip() else ""
        return f"the API answered {exc.code} {exc.name}: {exc.message}{details} [{exc.method} {exc.url}]"
    return str(exc)


def run_cases(cases, run, parallel=1):
    """Run ``cases`` (sequential ones first, then the parallel ones ``parallel`` at a time).

    ``cases``: a list of ``(case, can_run_in_parallel)``. The results are
    added to ``run`` (a :class:`RunResult`) in the order of ``cases``."""
    ordered = [(case, run.add(CaseResult(case.name, case.label))) for case, _ in cases]
    flags = [p for _, p in cases]
    serial = [(c, r) for (c, r), p in zip(ordered, flags, strict=True) if not p]
    concurrent_ = [(c, r) for (c, r), p in zip(ordered, flags, strict=True) if p]
    for case, result in serial:
        run_case(case, result)
    if not concurrent_:
        return
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, parallel),
                                               thread_name_prefix="burnin") as pool:
        futures = [pool.submit(run_case, case, result) for case, result in concurrent_]
        pending = set(futures)
        while pending:
            # Short waits: the main thread must stay free to take Ctrl-C.
            try:
                _, pending = concurrent.futures.wait(pending, timeout=0.2)
            except KeyboardInterrupt:
                concurrent_[0][0].ctx.interrupt(INTERRUPTED)


__all__ = ["Case", "Context", "Resources", "run_case", "run_cases", "NAME_PREFIX",
           "CheckFailed", "Skip", "Interrupted", "PASSED", "FAILED", "ERROR", "SKIPPED", "NOT_RUN"]
