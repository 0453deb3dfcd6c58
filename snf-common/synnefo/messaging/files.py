"""The files of the file-system broker (``filesystem://``), without kombu.

The broker's folder holds ``data/`` (one file per message and queue),
``control/`` (the bindings: a JSON list of ``[routing_key, pattern, queue]``
per ``<exchange>.exchange`` file, kombu 5.3's format) and ``claimed/`` (the
messages a reader took and has not acknowledged yet). The kombu transport
(:mod:`synnefo.messaging.filesystem`) reads and writes them through these
functions; :mod:`synnefo.messaging.oneshot` writes a message with them alone,
so that a short-lived publisher does not import kombu.

A message file holds what kombu's virtual transport stores for a message
(:func:`envelope`): the body in base64, its content type and encoding, the
headers and the properties (delivery mode, priority, the exchange and routing
key it was published with, a delivery tag).
"""

import base64
import fcntl
import itertools
import json
import os
import re
import threading
import time
import uuid

from synnefo.util.service import pid_alive

MESSAGE_SUFFIX = ".msg"
CORRUPT_PREFIX = "corrupt-"
TMP_PREFIX = "."
_sequence = itertools.count()
_stamp_lock = threading.Lock()
_last_stamp = [0]


def folders(base):
    """``{"data", "control", "claimed"}`` -> the absolute paths under ``base``."""
    base = os.path.abspath(base)
    return {name: os.path.join(base, name) for name in ("data", "control", "claimed")}


def _next_stamp():
    """A strictly increasing time stamp within this process."""
    with _stamp_lock:
        stamp = max(time.time_ns(), _last_stamp[0] + 1)
        _last_stamp[0] = stamp
        return stamp


def message_file_name(queue):
    """A new file name for a message of ``queue``: names sort by publication
    time (nanoseconds, then a per-process counter)."""
    return "%020d_%d_%010d_%s.%s%s" % (_next_stamp(), os.getpid(), next(_sequence),
                                        uuid.uuid4().hex, queue, MESSAGE_SUFFIX)


def queue_of(file_name):
    """The queue a message file belongs to (``None`` for other files)."""
    if file_name.startswith(TMP_PREFIX) or not file_name.endswith(MESSAGE_SUFFIX):
        return None
    rest = file_name.partition(".")[2]
    return rest[:-len(MESSAGE_SUFFIX)] or None


def write_atomically(folder, name, data):
    """Write ``data`` under a hidden name, ``fsync`` it and rename it into place."""
    tmp = os.path.join(folder, "%s%s.tmp" % (TMP_PREFIX, name))
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.rename(tmp, os.path.join(folder, name))


def recover_orphans(data_folder, claim_folder):
    """Put back the messages claimed by processes that no longer run; returns their count."""
    count = 0
    try:
        names = os.listdir(claim_folder)
    except FileNotFoundError:
        return 0
    for name in names:
        pid_text, _, original = name.partition("-")
        if not pid_text.isdigit() or not original or pid_alive(int(pid_text)):
            continue
        try:
            os.rename(os.path.join(claim_folder, name), os.path.join(data_folder, original))
            count += 1
        except FileNotFoundError:
            pass
    return count


def exchange_file(control_folder, exchange):
    """The bindings file of ``exchange``; ``ValueError`` for a name that is not one."""
    if not exchange or "/" in exchange or exchange.startswith("."):
        raise ValueError("invalid exchange name: %r" % (exchange,))
    return os.path.join(control_folder, exchange + ".exchange")


def read_bindings(control_folder, exchange):
    """The bindings of ``exchange``, ``[(routing_key, pattern, queue), ...]``
    (``[]`` when it has none). Raises ``OSError`` or ``ValueError``."""
    try:
        with open(exchange_file(control_folder, exchange), "rb") as handle:
            fcntl.flock(handle, fcntl.LOCK_SH)
            return [tuple(entry) for entry in json.loads(handle.read().decode("utf-8") or "[]")]
    except FileNotFoundError:
        return []


def routed_queues(bindings, routing_key):
    """The queues a topic exchange with ``bindings`` routes ``routing_key`` to
    (kombu's topic exchange: the binding's pattern matches the key)."""
    return sorted({queue for _, pattern, queue in bindings if re.match(pattern, routing_key)})


def envelope(body, exchange, routing_key, content_type="application/json", content_encoding="utf-8",
             headers=None, delivery_mode=2):
    """What kombu's virtual transport stores for a message of ``body`` (bytes)
    published persistently to ``exchange`` with ``routing_key``."""
    return {"body": base64.b64encode(body).decode("ascii"),
            "content-encoding": content_encoding,
            "content-type": content_type,
            "headers": dict(headers or {}),
            "properties": {"delivery_mode": delivery_mode,
                           "delivery_info": {"exchange": exchange, "routing_key": routing_key},
                           "priority": 0,
                           "body_encoding": "base64",
                           "delivery_tag": str(uuid.uuid4())}}


def json_bytes(data):
    """A message file's contents: :func:`envelope`'s ``dict`` as UTF-8 JSON."""
    return json.dumps(data).encode("utf-8")
