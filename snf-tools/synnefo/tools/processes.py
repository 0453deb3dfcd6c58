"""A process's children and CPU time as Linux's /proc gives them: what the
end-to-end and chaos tests use to find (and kill) the daemons a deployment
started, and the benchmarks to count the CPU each one spent."""

import os


def child_pids(pid):
    """The pids of ``pid``'s direct children (``[]`` once it is gone)."""
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found += [int(p) for p in handle.read().split()]
    except OSError:
        pass
    return found


def program(pid):
    """The basenames of the first two words of ``pid``'s command line (the
    interpreter and the script of a Python daemon); ``""`` once it is gone."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            argv = handle.read().split(b"\0")
    except OSError:
        return ""
    return " ".join(os.path.basename(a.decode(errors="replace")) for a in argv[:2] if a)


def children(pid):
    """``[(program, pid)]`` of ``pid``'s direct children."""
    return [(program(child), child) for child in child_pids(pid)]


def cpu_seconds(pid, waited_children=False):
    """User + system CPU seconds ``pid`` has used so far (0.0 once it is
    gone); ``waited_children``: with those of the children it waited for."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rpartition(")")[2].split()
        ticks = fields[11:15] if waited_children else fields[11:13]
        return sum(int(tick) for tick in ticks) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0
