"""snf-burnin's parts without a deployment: the command line, the runner's
fail-fast and cleanup bookkeeping, the JSON and JUnit reports, and the cron
wrapper (with a stand-in snf-burnin and sendmail)."""

import io
import json
import os
import subprocess
import sys
import types
import xml.etree.ElementTree as ET

import pytest
from synnefo.tools.burnin import cron, options, report
from synnefo.tools.burnin.results import CheckFailed, RunResult, Skip
from synnefo.tools.burnin.runner import Case, Context, run_cases

BURNIN = os.path.join(os.path.dirname(sys.executable), "snf-burnin")


@pytest.mark.parametrize("args, message", [
    ([], "--api is required"),
    (["--api", "ftp://x", "--token", "t"], "must be an http:// or https:// URL"),
    (["--api", "http://x", "--token", "t", "--set-tests", "auth,bogus"], "unknown scenario bogus"),
    (["--api", "http://x", "--token", "t", "--build-warning", "10", "--build-fail", "5"],
     "--build-warning must not exceed --build-fail"),
    (["--api", "http://x", "--token", "t", "--action-timeout", "0"], "must be positive"),
])
def test_usage_errors_exit_2_with_one_line(tmp_path, args, message):
    env = dict(os.environ, SNF_BURNIN_API="", SNF_BURNIN_TOKEN="")
    proc = subprocess.run([BURNIN, "--log-folder", str(tmp_path), *args], capture_output=True, text=True,
                          env=env)
    assert proc.returncode == 2
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("snf-burnin: error: ") and message in last, proc.stderr
    assert os.listdir(tmp_path) == []          # nothing started, nothing written


def test_spec_option_names_are_accepted():
    o = options.parse(["--api", "http://h/api/v1.1", "--token", "t", "--image-id", "all",
                       "--set-tests", "images,flavors", "--action-timeout", "120", "--build-warning", "60",
                       "--build-fail", "90", "--query-interval", "2", "--fanout", "3", "--force-flavor", "7",
                       "--no-ipv6", "--nofailfast", "--log-folder", "/tmp/x", "--plankton", "http://p",
                       "--plankton-user", "images@example.org", "-V"])
    assert (o.tests, o.fanout, o.failfast) == (["images", "flavors"], 3, False)
    assert (o.no_ipv6, o.image_id, o.force_flavor) == (True, "all", "7")
    assert "token" not in options.shown(o)
    assert options.parse(["--api", "http://h", "--token", "t"]).tests == list(options.DEFAULT_TESTS)


class Steps(Case):
    name = "fake"

    def __init__(self, ctx, label, outcomes):
        self.outcomes = outcomes
        super().__init__(ctx, label)

    def steps(self):
        return [(f"{i:03d}", f"step {i}", lambda o=o: self.do(o)) for i, o in enumerate(self.outcomes, 1)]

    def do(self, outcome):
        if outcome == "fail":
            raise CheckFailed("it broke")
        if outcome == "skip":
            raise Skip("not here")
        if outcome == "boom":
            raise RuntimeError("a bug")


class Quiet:
    def __getattr__(self, name):
        return lambda *a, **k: None


def fake_context(failfast=True):
    o = types.SimpleNamespace(api="http://127.0.0.1:9/api/v1.1", token="t", request_timeout=1,
                              query_interval=0.1, insecure=False, failfast=failfast)
    return Context(o, "20260101000000", Quiet())


def test_a_failure_stops_its_case_and_with_failfast_the_run():
    ctx = fake_context(failfast=True)
    run = RunResult("r", "api")
    run_cases([(Steps(ctx, "a", ["ok", "fail", "ok"]), False), (Steps(ctx, "b", ["ok"]), False)], run)
    a, b = run.cases
    assert [s.status for s in a.steps] == ["passed", "failed", "not run"]
    assert a.steps[1].message == "it broke"
    assert [s.status for s in b.steps] == ["not run"] and not run.passed
    assert ctx.stop_reason.startswith("fail-fast: a step 002 failed")


def test_nofailfast_runs_the_others_and_bugs_are_errors():
    ctx = fake_context(failfast=False)
    run = RunResult("r", "api")
    run_cases([(Steps(ctx, "a", ["boom", "ok"]), False), (Steps(ctx, "b", ["skip", "ok"]), True),
               (Steps(ctx, "c", ["ok"]), True)], run, parallel=2)
    a, b, c = run.cases
    assert [s.status for s in a.steps] == ["error", "not run"]
    assert a.steps[0].message == "RuntimeError: a bug"
    assert [s.status for s in b.steps] == ["skipped", "passed"] and c.status == "passed"
    assert run.outcome == "failed"
    ctx2 = fake_context()
    run2 = RunResult("r", "api")
    run_cases([(Steps(ctx2, "x", ["ok", "skip"]), False)], run2)
    assert run2.passed and run2.outcome == "passed"


def sample_run():
    ctx = fake_context(failfast=False)
    run = RunResult("20260101000000", "http://h/api/v1.1")
    run_cases([(Steps(ctx, "server_spawn[debian]", ["ok", "fail", "ok"]), False),
               (Steps(ctx, "flavors", ["ok", "skip"]), False)], run)
    run.cases[0].steps[0].details = {"server": 42, "password": "secret"}
    run.leftovers = ["server 42 (snf-test-x): not done after 5 s"]
    run.finished = run.started + 12.5
    return run


def test_json_and_junit_reports(tmp_path):
    run = sample_run()
    report.write_json(run, tmp_path / "r.json")
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["result"] == "failed" and doc["seconds"] == 12.5
    assert doc["counts"] == {"passed": 2, "failed": 1, "error": 0, "skipped": 1, "not run": 1}
    assert doc["cases"][0]["steps"][1]["message"] == "it broke"
    assert doc["leftovers"] == run.leftovers
    report.write_junit(run, tmp_path / "r.xml")
    root = ET.parse(tmp_path / "r.xml").getroot()
    counts = tuple(root.get(k) for k in ("tests", "failures", "errors", "skipped"))
    assert counts == ("5", "1", "0", "2")
    spawn = root.find("testsuite[@name='server_spawn[debian]']")
    failed = spawn.find("testcase[@name='002 step 2']/failure")
    assert failed.get("message") == "it broke"
    assert "secret" not in (tmp_path / "r.xml").read_text()
    assert root.find("testsuite[@name='cleanup']/testcase/failure").text == run.leftovers[0]


def test_terminal_summary_names_failures_skips_and_leftovers():
    out = io.StringIO()
    report.Terminal(out, colour=False).summary(sample_run(), [("JSON report", "/x/report.json")])
    text = out.getvalue()
    assert "server_spawn[debian]       1       1        0        1" in text
    assert "Failures:\n  server_spawn[debian] 002 step 2\n      it broke" in text
    assert "Skipped:\n  flavors 002: not here" in text
    assert "Left behind" in text and "Result: FAILED" in text and "JSON report: /x/report.json" in text


def fake_burnin(tmp_path, status):
    path = tmp_path / "fake-burnin"
    path.write_text("#!/bin/sh\necho \"args: $*\" >> %s/calls\n"
                    "case \"$*\" in *--delete-stale*) echo 'no stale servers or networks'; exit 0;; esac\n"
                    "echo 'snf-burnin run 1 against x'\necho 'Result: FAILED'\nexit %d\n"
                    % (tmp_path, status))
    path.chmod(0o755)
    return str(path)


def test_cron_keeps_the_last_runs_and_reports_a_failure(tmp_path, monkeypatch, capsys):
    logs = tmp_path / "logs"
    logs.mkdir()
    for stamp in ("20250101000000", "20250102000000", "20250103000000"):
        (logs / stamp).mkdir()
        (logs / f"{stamp}.out").write_text("old")
    mail = tmp_path / "mail"
    sendmail = tmp_path / "sendmail"
    sendmail.write_text(f"#!/bin/sh\ncat > {mail}\n")
    sendmail.chmod(0o755)
    monkeypatch.setattr(cron, "SENDMAIL_PATHS", (str(sendmail),))
    status = cron.main(["--log-folder", str(logs), "--keep", "2", "--mail-to", "ops@example.org",
                        "--burnin", fake_burnin(tmp_path, 1), "--", "--api", "http://h", "--token=-t",
                        "--set-tests", "auth", "--action-timeout", "5"])
    assert status == 1
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls[0] == ("args: --api http://h --token=-t --set-tests auth --action-timeout 5 "
                        f"--log-folder {logs}")
    assert calls[1] == "args: --api http://h --token=-t --action-timeout 5 --delete-stale"
    assert sorted(d for d in os.listdir(logs) if d.isdigit()) == ["20250102000000", "20250103000000"]
    outs = sorted(f for f in os.listdir(logs) if f.endswith(".out"))
    assert len(outs) == 2 and "Result: FAILED" in (logs / outs[-1]).read_text()
    sent = mail.read_text()
    assert "To: ops@example.org" in sent and "failed (exit 1)" in sent and "Result: FAILED" in sent
    assert "mailed to ops@example.org" in (logs / "failures.log").read_text()
    assert "failed (exit 1)" in capsys.readouterr().err


def test_cron_without_sendmail_logs_and_passes_quietly(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cron, "SENDMAIL_PATHS", ())
    monkeypatch.setenv("PATH", "/nonexistent")
    logs = tmp_path / "logs"
    assert cron.main(["--log-folder", str(logs), "--burnin", fake_burnin(tmp_path, 1), "--mail-to", "a@b",
                      "--", "--api", "http://h", "--token", "t"]) == 1
    assert "not mailed" in (logs / "failures.log").read_text()
    capsys.readouterr()
    assert cron.main(["--log-folder", str(logs), "--burnin", fake_burnin(tmp_path, 0), "--",
                      "--api", "http://h", "--token", "t"]) == 0
    assert capsys.readouterr().err == ""
    assert len((logs / "failures.log").read_text().splitlines()) == 1
