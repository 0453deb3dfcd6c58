"""synnefo.tools.processes: a process's CPU time from /proc."""

import os
import subprocess
import sys
import time

from synnefo.tools.processes import cpu_seconds

# a child that burns 0.3 s of CPU, then its parent waits on stdin
BURN = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\n"
PARENT = "import subprocess, sys\nsubprocess.run([sys.executable, '-c', %r])\nsys.stdin.read()\n" % BURN


def test_cpu_seconds_with_and_without_the_children_waited_for():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdin=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while cpu_seconds(parent.pid, waited_children=True) - cpu_seconds(parent.pid) < 0.25:
            assert parent.poll() is None and time.monotonic() < deadline, "the child never counted"
            time.sleep(0.05)
        assert cpu_seconds(parent.pid) < 0.25   # the burning was the child's
    finally:
        parent.communicate(b"")
    assert cpu_seconds(parent.pid) == 0.0   # gone
    assert cpu_seconds(os.getpid()) > 0
