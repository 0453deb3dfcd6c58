"""A process's children as Linux's /proc lists them: what the end-to-end and
chaos tests use to find (and kill) the daemons a deployment started."""

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
