"""Findings of a reconciliation run, their output and the exit status.

Exit status (for cron): 0 everything in sync (or every finding fixed), 1 a
finding was left unfixed, 2 an error (a backend that did not answer, a fix
that failed). Errors win over unfixed findings.
"""

import sys
from dataclasses import dataclass

from synnefo.webproject.management.output import print_rows

EXIT_IN_SYNC, EXIT_FOUND, EXIT_ERROR = 0, 1, 2
HEADERS = ["backend", "kind", "object", "details", "result"]

# Result of a finding: what happened to it.
REPORTED, FIXED, FAILED, ERROR = "reported", "fixed", "fix failed", "error"


@dataclass
class Finding:
    kind: str
    backend: str | None
    obj: str | None
    details: str
    result: str = REPORTED

    def row(self):
        return [self.backend, self.kind, self.obj, self.details, self.result]


class Report:
    """Collects findings; decides the exit status."""

    def __init__(self):
        self.findings = []

    def add(self, kind, backend, obj, details):
        finding = Finding(kind, str(backend) if backend is not None else None,
                          str(obj) if obj is not None else None, details)
        self.findings.append(finding)
        return finding

    def error(self, backend, details, obj=None):
        finding = self.add("error", backend, obj, details)
        finding.result = ERROR
        return finding

    def exit_status(self):
        results = {f.result for f in self.findings}
        if results & {ERROR, FAILED}:
            return EXIT_ERROR
        if REPORTED in results:
            return EXIT_FOUND
        return EXIT_IN_SYNC

    def counts(self):
        counts = {}
        for f in self.findings:
            counts[f.result] = counts.get(f.result, 0) + 1
        return counts

    def write(self, stdout, output="table", summary=""):
        """Findings as a table (with a summary line), a JSON list or CSV."""
        rows = [f.row() for f in self.findings]
        if output in ("json", "csv"):
            print_rows(stdout, HEADERS, rows, output)
            return
        if rows:
            print_rows(stdout, HEADERS, rows, "table")
        counts = self.counts()
        parts = ["%d %s" % (n, what) for what, n in sorted(counts.items())]
        stdout.write("%s%s\n" % (summary, ("; findings: " + ", ".join(parts)) if parts
                                 else "; everything in sync"))


class Progress:
    """``reconciling: 120/10000`` on a terminal (stderr), nothing otherwise."""

    def __init__(self, total, label, stream=None, enabled=None):
        self.stream = stream or sys.stderr
        self.total = total
        self.label = label
        self.done = 0
        isatty = getattr(self.stream, "isatty", lambda: False)
        self.enabled = isatty() if enabled is None else enabled
        self._shown = -1

    def step(self, count=1):
        self.done += count
        if not self.enabled or not self.total:
            return
        percent = self.done * 100 // self.total
        if percent == self._shown and self.done != self.total:
            return
        self._shown = percent
        width = 30
        filled = width * self.done // self.total
        self.stream.write("\r%s [%s%s] %d/%d" % (self.label, "#" * filled, "." * (width - filled),
                                                 self.done, self.total))
        self.stream.flush()

    def close(self):
        if self.enabled and self.total:
            self.stream.write("\n")
            self.stream.flush()
