"""Run every benchmark in this directory, one after the other.

Each benchmark measures its limit (a bare loop or a bare view doing the
same I/O) in the same run and prints ratios; none of them asserts anything.
Usage: ``make bench`` or ``.venv/bin/python benchmarks/run_all.py [NAME ...]``.
"""

import os
import subprocess
import sys
import tempfile

from _summary import read_rows, table

HERE = os.path.dirname(os.path.abspath(__file__))


def benchmarks():
    return sorted(n for n in os.listdir(HERE)
                  if n.endswith(".py") and n not in ("run_all.py",) and not n.startswith("_"))


def main(argv):
    names = argv or benchmarks()
    failed = []
    with tempfile.TemporaryDirectory() as tmp:
        results = os.path.join(tmp, "results.jsonl")
        env = dict(os.environ, SNF_BENCH_RESULTS=results)
        for name in names:
            path = os.path.join(HERE, name if name.endswith(".py") else name + ".py")
            print(f"=== {os.path.basename(path)}", flush=True)
            if subprocess.run([sys.executable, path], env=env).returncode != 0:
                failed.append(name)
        rows = read_rows(results)
    print("\n=== summary: every goal of this run")
    print(table(rows) if rows else "(no benchmark reported a goal)")
    if failed:
        print("benchmarks that failed to run: " + ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
