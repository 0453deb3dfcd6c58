"""The messages exchanged between the Ganeti side and the dispatcher.

Constructors build them, :func:`encode` / :func:`decode` turn them into and
from UTF-8 JSON bytes; :func:`decode` validates and raises
:class:`MalformedMessage` for anything a consumer could not use.
"""

import datetime
import json
import time

from synnefo.messaging import names

OP_STATUS = "ganeti-op-status"
NETWORK_STATUS = "ganeti-network-status"
NET_STATUS = "ganeti-net-status"
LEGACY_PROGRESS = "ganeti-create-progress"
IMAGE_TYPE_PREFIX = "image-"


class MalformedMessage(ValueError):
    """A message body that is not a valid Cyclades message."""


def event_time_now():
    """The current wall-clock time as ``[seconds, microseconds]``."""
    now = time.time_ns() // 1000
    return [now // 1_000_000, now % 1_000_000]


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def check_event_time(value):
    """Raise :class:`MalformedMessage` unless ``value`` is ``[seconds, microseconds]``."""
    if (not isinstance(value, (list, tuple)) or len(value) != 2
            or not all(_is_int(part) for part in value)
            or value[0] < 0 or not 0 <= value[1] < 1_000_000):
        raise MalformedMessage("malformed event_time %r (want [seconds, microseconds])" % (value,))


def event_time_to_datetime(value):
    """``[seconds, microseconds]`` -> aware UTC ``datetime``."""
    check_event_time(value)
    try:
        moment = datetime.datetime.fromtimestamp(value[0], tz=datetime.UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise MalformedMessage("event_time %r out of range: %s" % (value, exc))
    return moment + datetime.timedelta(microseconds=value[1])


# --- constructors -----------------------------------------------------------------

def op_status(instance, operation, status, job_id, logmsg, cluster, event_time):
    return {"type": OP_STATUS, "instance": instance, "operation": operation, "status": status,
            "jobId": job_id, "logmsg": logmsg, "cluster": cluster, "event_time": list(event_time)}


def network_status(network, operation, status, job_id, logmsg, cluster, event_time, subnet=None,
                   gateway=None, group_name=None, add_reserved_ips=None, remove_reserved_ips=None):
    message = {"type": NETWORK_STATUS, "operation": operation, "network": network,
               "subnet": subnet, "gateway": gateway, "group_name": group_name,
               "status": status, "jobId": job_id, "logmsg": logmsg, "cluster": cluster,
               "event_time": list(event_time)}
    if operation == "OP_NETWORK_SET_PARAMS":
        message["add_reserved_ips"] = add_reserved_ips
        message["remove_reserved_ips"] = remove_reserved_ips
    return message


def net_status(instance, nics, event_time, cluster=None):
    message = {"type": NET_STATUS, "instance": instance, "nics": list(nics),
               "event_time": list(event_time)}
    if cluster is not None:
        message["cluster"] = cluster
    return message


def progress(instance, payload, event_time):
    """An snf-image message (``payload`` has ``type``) with ``instance`` and ``event_time``."""
    message = dict(payload)
    message["instance"] = instance
    message["event_time"] = list(event_time)
    return message


# --- kinds and validation ------------------------------------------------------------

_STR = (str,)
_OPT_STR = (str, type(None))
_INT = "int"

# type -> (queue kind, {field: accepted types})
_COMMON_JOB_FIELDS = {"operation": _STR, "status": _STR, "jobId": _INT, "logmsg": _OPT_STR,
                      "cluster": _STR}
_SCHEMAS = {
    OP_STATUS: ("op", dict(_COMMON_JOB_FIELDS, instance=_STR)),
    NETWORK_STATUS: ("network", dict(_COMMON_JOB_FIELDS, network=_STR)),
    NET_STATUS: ("net", {"instance": _STR, "nics": (list,)}),
}
_PROGRESS_SCHEMA = ("progress", {"instance": _STR})


def _schema(message_type):
    if message_type in _SCHEMAS:
        return _SCHEMAS[message_type]
    if isinstance(message_type, str) and (message_type.startswith(IMAGE_TYPE_PREFIX)
                                          and len(message_type) > len(IMAGE_TYPE_PREFIX)
                                          or message_type == LEGACY_PROGRESS):
        return _PROGRESS_SCHEMA
    raise MalformedMessage("unknown message type %r" % (message_type,))


def kind_of(message):
    """The queue kind (``op``, ``network``, ``net``, ``progress``) of a message."""
    if not isinstance(message, dict):
        raise MalformedMessage("message is not an object")
    return _schema(message.get("type"))[0]


def validate(message):
    """Raise :class:`MalformedMessage` unless ``message`` is a well-formed message."""
    if not isinstance(message, dict):
        raise MalformedMessage("message is not a JSON object")
    if "type" not in message:
        raise MalformedMessage("message has no 'type'")
    _, fields = _schema(message["type"])
    for name, accepted in fields.items():
        if name not in message:
            raise MalformedMessage("%s message has no %r" % (message["type"], name))
        value = message[name]
        good = _is_int(value) if accepted == _INT else isinstance(value, accepted)
        if not good:
            raise MalformedMessage("%s message: field %r has the wrong type (%s)"
                                   % (message["type"], name, type(value).__name__))
    if "event_time" not in message:
        raise MalformedMessage("%s message has no 'event_time'" % message["type"])
    check_event_time(message["event_time"])
    return message


def body_of(message):
    """A message -> the UTF-8 JSON bytes the broker carries (not validated)."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def encode(message):
    """A message -> UTF-8 JSON bytes (validated first)."""
    validate(message)
    return body_of(message)


def routing_key_of(message):
    """The routing key of a message: its kind and the prefix of its object's name."""
    kind = kind_of(message)
    subject = message.get("network") if kind == "network" else message.get("instance")
    if not isinstance(subject, str):
        raise MalformedMessage("message has no object name to route it by")
    return names.routing_key(names.prefix_of(subject), kind)


def decode(body):
    """UTF-8 JSON bytes (or text) -> the validated message ``dict``."""
    try:
        text = bytes(body).decode("utf-8") if isinstance(body, (bytes, bytearray, memoryview)) \
            else body
        if not isinstance(text, str):
            raise MalformedMessage("body is %s, not bytes" % type(body).__name__)
        value = json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, MalformedMessage):
            raise
        raise MalformedMessage("body is not UTF-8 JSON: %s" % exc)
    return validate(value)
