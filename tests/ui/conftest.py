"""On a failed browser step, the report carries the browser's console errors
so far, and the end of each daemon's log and whether each is still running:
CI keeps the report, not the deployment's temporary folder."""

import pytest

DAEMON_LOGS = ("eventd", "dispatcher-1", "dispatcher-2", "api", "ganeti-sim")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    deployment = item.funcargs.get("deployment") if hasattr(item, "funcargs") else None
    if report.when != "call" or not report.failed or deployment is None:
        return
    page = item.funcargs.get("page")
    recorder = getattr(page, "recorder", None)
    if recorder is not None and recorder.errors:
        report.sections.append(("browser console errors so far",
                                "\n".join(f"[{step}] {text}" for step, text in recorder.errors[-20:])))
    for name, proc in list(deployment.processes):
        if name not in DAEMON_LOGS:
            continue
        state = "running" if proc.poll() is None else f"exited with status {proc.returncode}"
        report.sections.append((f"deployment: {name} ({state})", deployment.log_tail(name, 1500)))
