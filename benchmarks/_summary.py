"""One line per measured goal, for the table ``make bench`` prints at the end.

A benchmark calls :func:`report` once per goal it measures. The line is
printed, and appended as JSON to the file named by ``SNF_BENCH_RESULTS`` when
``run_all.py`` set it, which then prints every line as one table.

``higher_is_better`` says how ``ratio`` compares with ``goal``: a throughput
ratio (system / limit) must reach the goal, a latency ratio (system / limit)
or a latency in ms must stay at or under it.
"""

import json
import os


def report(path, figure, limit, ratio, goal, higher_is_better=True):
    """Record one measured goal.

    path: what was measured ("GET /servers/detail, 1000 servers, JSON").
    figure: the system's own figure, with its unit ("412 req/s").
    limit: the limit's figure, with its unit ("690 req/s bare view").
    ratio: a float (system / limit, or the measured value itself).
    goal: a float, the ratio the goal asks for.
    """
    met = ratio >= goal if higher_is_better else ratio <= goal
    row = {"path": path, "figure": figure, "limit": limit, "ratio": round(float(ratio), 3),
           "goal": ("≥ %g" if higher_is_better else "≤ %g") % goal, "met": bool(met)}
    print("goal: %s: %s against %s, ratio %.3f, goal %s: %s"
          % (path, figure, limit, row["ratio"], row["goal"], "met" if met else "NOT MET"), flush=True)
    target = os.environ.get("SNF_BENCH_RESULTS")
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")
    return met


def read_rows(target):
    if not os.path.exists(target):
        return []
    with open(target, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def table(rows):
    """The rows as a plain-text table, one goal per line."""
    head = ("path", "figure", "limit", "ratio", "goal", "met")
    cells = [head] + [(r["path"], r["figure"], r["limit"], "%.3f" % r["ratio"], r["goal"],
                       "yes" if r["met"] else "NO") for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
    lines = ["  ".join(c[i].ljust(widths[i]) for i in range(len(head))).rstrip() for c in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
