"""The chaos suite's table: one row per fault, printed and written as reStructuredText."""

import os
import platform
from collections import Counter
from dataclasses import asdict, dataclass, field

COLUMNS = ("Fault", "Requests", "Client errors (by code)", "Recovery (s)", "Repairs",
           "ERROR servers", "Violations")
DOCS_BEGIN = ".. chaos-table-begin"
DOCS_END = ".. chaos-table-end"


@dataclass
class Row:
    stack: str
    fault: str
    requests: int = 0
    errors: dict = field(default_factory=dict)   # outcome (str) -> count
    recovery: float = None                       # None: never consistent again
    repairs: int = 0                             # findings fixed by reconciliation
    error_servers: int = 0
    violations: list = field(default_factory=list)   # texts

    def to_json(self):
        return asdict(self)

    @classmethod
    def from_json(cls, data):
        return cls(**data)


def errors_text(errors):
    """``{"503": 2, "conn": 1}`` -> ``"503: 2, conn: 1"`` (codes first, in order)."""
    if not errors:
        return "none"
    def order(item):
        code = item[0]
        return (0, int(code)) if str(code).isdigit() else (1, str(code))
    return ", ".join(f"{code}: {count}" for code, count in sorted(errors.items(), key=order))


def count_errors(requests, ok):
    """``Counter`` of the outcomes of the requests that did not succeed."""
    return Counter(str(r.outcome) for r in requests if not ok(r))


def cells(row):
    recovery = "never" if row.recovery is None else f"{row.recovery:.1f}"
    return (f"{row.fault} ({row.stack})", str(row.requests), errors_text(row.errors), recovery,
            str(row.repairs), str(row.error_servers), str(len(row.violations)))


def text_table(rows):
    table = [COLUMNS] + [cells(r) for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def violations_text(rows):
    lines = []
    for row in rows:
        for text in row.violations:
            lines.append(f"{row.fault} ({row.stack}): {text}")
    return "\n".join(lines)


def machine():
    """``"2 cores, Debian GNU/Linux 12 (bookworm)"``."""
    name = platform.system()
    try:
        with open("/etc/os-release") as handle:
            for line in handle:
                if line.startswith("PRETTY_NAME="):
                    name = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {name}"


def rst_table(rows, when, where, duration, load=None):
    """The table as a reStructuredText block (a list-table and the violations).
    ``load``: the machine's load average at the end (other work inflates the times)."""
    busy = f" (load average {load:.1f} at the end)" if load is not None else ""
    out = [f"Latest run: {when}, on {where}{busy}, {duration:.0f} s in all.", "",
           ".. list-table::", "   :header-rows: 1", ""]
    for line in [COLUMNS] + [cells(r) for r in rows]:
        out.append(f"   * - {line[0]}")
        out += [f"     - {cell}" for cell in line[1:]]
    out.append("")
    listed = violations_text(rows)
    if listed:
        out += ["Violations of that run::", ""] + ["   " + v for v in listed.splitlines()] + [""]
    else:
        out += ["No violations in that run.", ""]
    return "\n".join(out)


def replace_block(text, block):
    """``text`` with what lies between the two marker comments replaced by ``block``."""
    start = text.index(DOCS_BEGIN) + len(DOCS_BEGIN)
    end = text.index(DOCS_END)
    return text[:start] + "\n\n" + block.rstrip() + "\n\n" + text[end:]
