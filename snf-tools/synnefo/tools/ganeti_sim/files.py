"""Atomic file writes (temp file in the same directory + rename), like Ganeti."""

import json
import os
import tempfile
import time


def write_atomically(path, text, mode=0o640, tmp_prefix=None):
    """Write ``text`` to ``path`` so readers only ever see a whole file: the
    data goes to a temp file next to it which is then renamed into place
    (inotify watchers see ``IN_MOVED_TO`` on ``path``)."""
    directory = os.path.dirname(os.path.abspath(path))
    prefix = tmp_prefix or (os.path.basename(path) + "-")
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json(path, data, mode=0o640):
    write_atomically(path, json.dumps(data, sort_keys=False), mode=mode)


def now_pair(now=None):
    """Ganeti's timestamp: ``[seconds, microseconds]``."""
    value = time.time() if now is None else now
    seconds = int(value)
    return [seconds, int(round((value - seconds) * 1_000_000)) % 1_000_000]
