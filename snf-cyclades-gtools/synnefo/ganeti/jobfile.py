"""Turn a Ganeti job file into the messages that describe its opcodes.

Pure functions, no I/O besides logging: :func:`parse_job` takes the text of a
job file (as Ganeti writes it into ``/var/lib/ganeti/queue/job-N``) and
returns one :class:`Change` per opcode that Cyclades cares about.

* ``OP_INSTANCE_*`` opcodes give a ``ganeti-op-status`` message; the instance
  is the op input ``instance_name``, else ``instances`` when it holds exactly
  one name; otherwise the op gives no message.
* ``OP_NETWORK_*`` opcodes give a ``ganeti-network-status`` message; they need
  the op input ``network_name``.
* Other opcodes, and instances or networks whose name is not Cyclades' (no
  ``BACKEND_PREFIX_ID``), give nothing.

A job file that is not what Ganeti writes raises :class:`MalformedJob`;
:func:`job_changes` logs it and returns no change.
"""

import json
import logging
import re
from typing import NamedTuple

from synnefo.messaging import messages, names

log = logging.getLogger(__name__)

JOB_FILE_RE = re.compile(r"^job-(\d+)$")

#: Statuses after which an op never changes again.
FINAL_STATUSES = frozenset({"success", "error", "canceled"})
#: Every op status Ganeti writes (``waitlock`` is the pre-2.6 ``waiting``).
KNOWN_STATUSES = frozenset({"queued", "waiting", "waitlock", "canceling", "running"}) | FINAL_STATUSES


class MalformedJob(ValueError):
    """The job file is not a Ganeti job (bad JSON, missing keys, wrong types)."""


class Change(NamedTuple):
    """One opcode status of one job, and the message that announces it."""

    job_id: int
    op_index: int
    status: str
    message: dict

    @property
    def key(self):
        return (self.job_id, self.op_index, self.status)


class ParsedJob(NamedTuple):
    """What a job file says: its id, whether every op is final, and the changes."""

    job_id: int
    finished: bool
    changes: list


def job_id_of_filename(name):
    """``"job-42"`` → ``42``; anything else (temp files, ``archive``) → ``None``."""
    match = JOB_FILE_RE.match(name)
    return int(match.group(1)) if match else None


def _timestamp(value, what):
    """A Ganeti ``[seconds, microseconds]`` pair, or ``None``."""
    if value is None:
        return None
    if (isinstance(value, (list, tuple)) and len(value) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        return [value[0], value[1]]
    raise MalformedJob(f"{what} is not a [seconds, microseconds] pair: {value!r}")


def event_time(job, op, status):
    """The event time of ``op`` in ``status`` (spec 03 §2.3)."""
    if status == "queued":
        chosen = _timestamp(job.get("received_timestamp"), "received_timestamp")
    elif status in ("waiting", "waitlock", "canceling"):
        chosen = _timestamp(op.get("start_timestamp"), "op start_timestamp")
    elif status == "running":
        chosen = _timestamp(op.get("exec_timestamp"), "op exec_timestamp")
    else:
        chosen = _timestamp(op.get("end_timestamp"), "op end_timestamp")
    if chosen is None:
        chosen = _timestamp(job.get("end_timestamp"), "end_timestamp")
    if chosen is None:
        raise MalformedJob(f"no timestamp for an op in status {status!r}")
    return chosen


def last_log_message(op):
    """Text of the op's last log entry (``[serial, [s, us], type, text]``) or ``None``."""
    entries = op.get("log") or []
    if not isinstance(entries, list):
        raise MalformedJob("op log is not a list")
    if not entries:
        return None
    entry = entries[-1]
    if not isinstance(entry, (list, tuple)) or len(entry) < 4:
        raise MalformedJob(f"malformed op log entry: {entry!r}")
    text = entry[3]
    if text is None or isinstance(text, str):
        return text
    return json.dumps(text)  # Ganeti allows structured log payloads


def error_message(op):
    """Ganeti's error of a failed op (``result`` = ``[ErrorClass, [args...]]``) as text, or ``None``."""
    result = op.get("result")
    if not (isinstance(result, (list, tuple)) and len(result) == 2 and isinstance(result[0], str)):
        return None
    args = result[1]
    if isinstance(args, (list, tuple)):
        parts = [a if isinstance(a, str) else json.dumps(a) for a in args]
    else:
        parts = [args if isinstance(args, str) else json.dumps(args)]
    return "%s: %s" % (result[0], "; ".join(parts)) if parts else result[0]


def op_message(op, status):
    """``logmsg`` of a message: Ganeti's error for a failed op, else the last log entry.

    Ganeti puts the reason of a failure in the op's result, not in its log,
    and the operator needs that reason (it is kept with the VM in ERROR).
    """
    if status == "error":
        error = error_message(op)
        if error:
            return error
    return last_log_message(op)


def _instance_of(op_input):
    name = op_input.get("instance_name")
    if isinstance(name, str) and name:
        return name
    several = op_input.get("instances")
    if isinstance(several, list) and len(several) == 1 and isinstance(several[0], str):
        return several[0]
    return None


def _op_kind(op_id):
    """Second ``_``-separated token of ``OP_ID``: ``INSTANCE``, ``NETWORK`` ..."""
    parts = op_id.split("_")
    return parts[1] if len(parts) > 2 and parts[0] == "OP" else None


def _load(text):
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedJob(f"not UTF-8: {exc}")
    try:
        job = json.loads(text)
    except ValueError as exc:
        raise MalformedJob(f"not JSON: {exc}")
    if not isinstance(job, dict):
        raise MalformedJob("not a JSON object")
    job_id = job.get("id")
    if isinstance(job_id, str) and job_id.isdigit():  # very old Ganeti wrote ids as strings
        job_id = int(job_id)
    if not isinstance(job_id, int) or isinstance(job_id, bool):
        raise MalformedJob(f"missing or non-integer job id: {job_id!r}")
    ops = job.get("ops")
    if not isinstance(ops, list):
        raise MalformedJob("missing ops list")
    return job, job_id, ops


def parse_job(text, cluster, prefix_id):
    """The :class:`ParsedJob` of the job file ``text``, changes in op order.

    ``cluster`` is the Ganeti cluster name put in every message;
    ``prefix_id`` is ``BACKEND_PREFIX_ID``. Raises :class:`MalformedJob`.
    """
    job, job_id, ops = _load(text)
    changes = []
    finished = True
    for index, op in enumerate(ops):
        if not isinstance(op, dict):
            raise MalformedJob(f"job {job_id}: op {index} is not an object")
        op_input = op.get("input")
        if not isinstance(op_input, dict):
            raise MalformedJob(f"job {job_id}: op {index} has no input")
        op_id = op_input.get("OP_ID")
        if not isinstance(op_id, str):
            raise MalformedJob(f"job {job_id}: op {index} has no OP_ID")
        status = op.get("status")
        if status not in KNOWN_STATUSES:
            raise MalformedJob(f"job {job_id}: op {index} has unknown status {status!r}")
        finished = finished and status in FINAL_STATUSES
        kind = _op_kind(op_id)
        if kind == "INSTANCE":
            message = _instance_message(job, job_id, op, op_input, op_id, status,
                                        cluster, prefix_id)
        elif kind == "NETWORK":
            message = _network_message(job, job_id, op, op_input, op_id, status,
                                       cluster, prefix_id)
        else:
            message = None
        if message is not None:
            changes.append(Change(job_id, index, _canonical(status), message))
    return ParsedJob(job_id, finished, changes)


def _canonical(status):
    return "waiting" if status == "waitlock" else status


def _instance_message(job, job_id, op, op_input, op_id, status, cluster, prefix_id):
    instance = _instance_of(op_input)
    if instance is None or names.vm_id_of(prefix_id, instance) is None:
        return None
    return messages.op_status(instance, op_id, _canonical(status), job_id,
                              op_message(op, status), cluster,
                              event_time(job, op, status))


def _network_message(job, job_id, op, op_input, op_id, status, cluster, prefix_id):
    network = op_input.get("network_name")
    if not isinstance(network, str) or names.network_id_of(prefix_id, network) is None:
        return None
    extra = {"subnet": op_input.get("network"),
             "gateway": op_input.get("gateway"),
             "group_name": op_input.get("group_name")}
    if op_id == "OP_NETWORK_SET_PARAMS":
        extra["add_reserved_ips"] = op_input.get("add_reserved_ips")
        extra["remove_reserved_ips"] = op_input.get("remove_reserved_ips")
    return messages.network_status(network, op_id, _canonical(status), job_id,
                                   op_message(op, status), cluster,
                                   event_time(job, op, status), **extra)


def job_changes(text, cluster, prefix_id, source="job file"):
    """Like :func:`parse_job` but a malformed file is logged and gives ``None``."""
    try:
        return parse_job(text, cluster, prefix_id)
    except MalformedJob as exc:
        log.error("%s: malformed Ganeti job, ignored: %s", source, exc)
        return None
    except Exception:  # a message constructor refused the data: same outcome
        log.exception("%s: cannot build messages, ignored", source)
        return None
