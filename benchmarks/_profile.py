"""Sample a running benchmark process with py-spy and say where its time goes.

``attach(pid, path)`` starts ``py-spy record --pid PID --idle --format raw``
(``--idle``: time spent waiting on a socket or a disk counts too, which is
where a message loop spends much of it; ``idle=False`` samples CPU time
only); ``stop(sampler)`` ends the sampling
(SIGINT, py-spy then writes ``path``); ``summary(path)`` prints the share of
samples under each function (inclusive) and the frames that were on top
(self), the busiest first. py-spy is a development dependency
(``requirements-dev.txt``); without it ``attach`` prints a note and returns
``None``.
"""

import collections
import os
import shutil
import signal
import subprocess
import sys


def _py_spy():
    here = os.path.join(os.path.dirname(sys.executable), "py-spy")
    return here if os.path.exists(here) else shutil.which("py-spy")


def attach(pid, path, rate=250, idle=True):
    """Start sampling ``pid`` into ``path``; ``idle=False``: CPU time only."""
    tool = _py_spy()
    if tool is None:
        print("note: py-spy is not installed (pip install -r requirements-dev.txt); no profile")
        return None
    return subprocess.Popen([tool, "record", "--pid", str(pid)] + (["--idle"] if idle else [])
                            + ["--format", "raw", "--rate", str(rate), "--nonblocking", "-o", path],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(sampler):
    if sampler is None:
        return
    sampler.send_signal(signal.SIGINT)
    try:
        sampler.wait(timeout=30)
    except subprocess.TimeoutExpired:
        sampler.kill()
        sampler.wait()


def _frame_name(frame):
    # "function (path/to/file.py:123)" -> "function (file.py)"
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    return "%s (%s)" % (name, os.path.basename(where)) if where else name


def summary(path, top=30, within=None):
    """Print inclusive and self shares of the samples in ``path`` (py-spy raw format).

    ``within``: keep only the stacks that pass through this frame (e.g.
    ``"run (dispatcher.py)"``, the message loop), so that an idle helper
    thread does not dilute the shares."""
    if not os.path.exists(path):
        print("no profile written to %s" % path)
        return
    inclusive = collections.Counter()
    own = collections.Counter()
    total = 0
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack or not count.isdigit():
                continue
            n = int(count)
            frames = [_frame_name(f) for f in stack.split(";")]
            if within and within not in frames:
                continue
            total += n
            for name in set(frames):
                inclusive[name] += n
            own[frames[-1]] += n
    if not total:
        print("profile %s holds no sample" % path)
        return
    print("profile %s: %d samples" % (path, total))
    print("  inclusive (the function or what it calls):")
    for name, n in inclusive.most_common(top):
        print("    %5.1f%%  %s" % (100.0 * n / total, name))
    print("  self (the frame on top):")
    for name, n in own.most_common(top // 2):
        print("    %5.1f%%  %s" % (100.0 * n / total, name))
