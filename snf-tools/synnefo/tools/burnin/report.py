"""The three forms of a run's report: the terminal (progress and summary
table), a JSON document and a JUnit XML file."""

import datetime
import json
import sys
import threading
import xml.etree.ElementTree as ET

from synnefo.tools.burnin.results import ERROR, FAILED, NOT_RUN, PASSED, SKIPPED

COLOURS = {PASSED: "32", FAILED: "31", ERROR: "31", SKIPPED: "33", NOT_RUN: "90", "case": "1;33"}
LABELS = {PASSED: "PASS", FAILED: "FAIL", ERROR: "ERROR", SKIPPED: "SKIP", NOT_RUN: "-"}


class Terminal:
    """Progress lines while the run goes (one per step, and status changes of
    waits), then the summary table. Colours only on a terminal."""

    def __init__(self, stream=None, colour=None, quiet=False):
        self.stream = stream or sys.stdout
        self.colour = self.stream.isatty() if colour is None else colour
        self.quiet = quiet
        self.lock = threading.Lock()

    def paint(self, text, key):
        return f"\033[{COLOURS[key]}m{text}\033[0m" if self.colour else text

    def line(self, text):
        with self.lock:
            print(text, file=self.stream, flush=True)

    def case_started(self, label, title):
        if not self.quiet:
            self.line(self.paint(f"== {label}: {title}", "case"))

    def progress(self, label, step, text, elapsed):
        if not self.quiet:
            self.line(f"   ..   {label} {step.step} {text} ({elapsed:.0f} s)")

    def warning(self, label, step, message):
        self.line(self.paint(f"   WARN {label} {step.step}: {message}", SKIPPED))

    def step_done(self, label, step):
        if self.quiet and step.status in (PASSED, SKIPPED):
            return
        text = f"   {LABELS[step.status]:<5} {label} {step.step} {step.title} ({step.seconds:.1f} s)"
        if step.message:
            text += f"\n         {step.message}"
        if step.status == PASSED and step.details:
            text += "\n         " + ", ".join(f"{k}={v}" for k, v in step.details.items() if k != "password")
        self.line(self.paint(text, step.status))

    def case_done(self, result):
        pass

    def say(self, text):
        self.line(text)

    def summary(self, run, files=()):
        rows = [("case", "passed", "failed", "skipped", "not run", "time")]
        for case in run.cases:
            rows.append((case.label, case.count(PASSED), case.count(FAILED) + case.count(ERROR),
                         case.count(SKIPPED), case.count(NOT_RUN), f"{case.seconds:.1f} s"))
        rows.append(("total", run.count(PASSED), run.count(FAILED) + run.count(ERROR),
                     run.count(SKIPPED), run.count(NOT_RUN),
                     f"{(run.finished or run.started) - run.started:.1f} s"))
        widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
        rule = "  ".join("-" * w for w in widths)
        out = ["", f"snf-burnin run {run.run_id} against {run.api}", rule]
        for i, row in enumerate(rows):
            cells = [str(c).ljust(w) if j == 0 else str(c).rjust(w)
                     for j, (c, w) in enumerate(zip(row, widths, strict=True))]
            text = "  ".join(cells)
            if 0 < i < len(rows) - 1:
                text = self.paint(text, run.cases[i - 1].status)
            out.append(text)
            if i == 0 or i == len(rows) - 2:
                out.append(rule)
        problems = [(c, s) for c in run.cases for s in c.steps if s.status in (FAILED, ERROR)]
        if problems:
            out.append("")
            out.append("Failures:")
            for case, step in problems:
                out.append(self.paint(f"  {case.label} {step.step} {step.title}", FAILED))
                out.append(f"      {step.message}")
        skipped = {}
        for case in run.cases:
            for step in case.steps:
                if step.status == SKIPPED:
                    skipped.setdefault(step.message, []).append(f"{case.label} {step.step}")
        if skipped:
            out.append("")
            out.append("Skipped:")
            for reason, where in skipped.items():
                shown = ", ".join(where[:4]) + (f" and {len(where) - 4} more" if len(where) > 4 else "")
                out.append(f"  {shown}: {reason}")
        if run.interrupted:
            out.append("")
            out.append(self.paint(f"Interrupted: {run.interrupted}", FAILED))
        if run.leftovers:
            out.append("")
            out.append(self.paint("Left behind (cleanup could not delete them):", FAILED))
            out.extend(f"  {line}" for line in run.leftovers)
        for what, path in files:
            out.append(f"{what}: {path}")
        verdict = "PASSED" if run.passed else run.outcome.upper()
        out.append(self.paint(f"Result: {verdict}", PASSED if run.passed else FAILED))
        self.line("\n".join(out))


def _iso(timestamp):
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).isoformat()


def as_json(run):
    return {
        "run_id": run.run_id,
        "api": run.api,
        "started": _iso(run.started),
        "finished": _iso(run.finished) if run.finished else None,
        "seconds": round((run.finished or run.started) - run.started, 3),
        "result": run.outcome,
        "interrupted": run.interrupted,
        "options": run.options,
        "counts": {status: run.count(status) for status in (PASSED, FAILED, ERROR, SKIPPED, NOT_RUN)},
        "cases": [{"name": c.name, "label": c.label, "status": c.status, "seconds": round(c.seconds, 3),
                   "steps": [{"step": s.step, "title": s.title, "status": s.status,
                              "seconds": round(s.seconds, 3), "message": s.message,
                              "details": s.details, "warnings": s.warnings} for s in c.steps]}
                  for c in run.cases],
        "leftovers": run.leftovers,
    }


def write_json(run, path):
    with open(path, "w") as handle:
        json.dump(as_json(run), handle, indent=2, default=str)
        handle.write("\n")


def as_junit(run):
    suites = ET.Element("testsuites", name=f"snf-burnin {run.run_id}",
                        tests=str(sum(len(c.steps) for c in run.cases)),
                        failures=str(run.count(FAILED)), errors=str(run.count(ERROR)),
                        skipped=str(run.count(SKIPPED) + run.count(NOT_RUN)),
                        time=f"{(run.finished or run.started) - run.started:.3f}")
    for case in run.cases:
        suite = ET.SubElement(suites, "testsuite", name=case.label, tests=str(len(case.steps)),
                              failures=str(case.count(FAILED)), errors=str(case.count(ERROR)),
                              skipped=str(case.count(SKIPPED) + case.count(NOT_RUN)),
                              time=f"{case.seconds:.3f}", timestamp=_iso(case.started or run.started))
        for step in case.steps:
            test = ET.SubElement(suite, "testcase", classname=f"burnin.{case.label}",
                                 name=f"{step.step} {step.title}", time=f"{step.seconds:.3f}")
            if step.status == FAILED:
                ET.SubElement(test, "failure", message=step.message, type="CheckFailed").text = step.message
            elif step.status == ERROR:
                ET.SubElement(test, "error", message=step.message, type="Error").text = step.message
            elif step.status in (SKIPPED, NOT_RUN):
                ET.SubElement(test, "skipped", message=step.message or "not run")
            shown = {k: v for k, v in step.details.items() if k != "password"}
            if shown or step.warnings:
                lines = [f"{k}={v}" for k, v in shown.items()] + [f"warning: {w}" for w in step.warnings]
                ET.SubElement(test, "system-out").text = "\n".join(lines)
    if run.leftovers or run.interrupted:
        suite = ET.SubElement(suites, "testsuite", name="cleanup", tests="1",
                              failures="1" if run.leftovers else "0", errors="0", skipped="0", time="0")
        test = ET.SubElement(suite, "testcase", classname="burnin.cleanup", name="nothing left behind")
        if run.leftovers:
            ET.SubElement(test, "failure", message="left behind",
                          type="Leftovers").text = "\n".join(run.leftovers)
        if run.interrupted:
            ET.SubElement(test, "system-out").text = f"interrupted: {run.interrupted}"
    return ET.ElementTree(suites)


def write_junit(run, path):
    tree = as_junit(run)
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
