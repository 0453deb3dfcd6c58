"""Names shared by producers and consumers: objects, routing keys, queues.

``prefix_id`` is the ``BACKEND_PREFIX_ID`` setting (``"snf-"``); the
*prefix* is its part before the first dash (``"snf"``) and names the queues
and routing keys.
"""

QUEUE_KINDS = ("op", "network", "net", "progress")
DEAD_LETTER_SUFFIX = "-dl"
NETWORK_MARK = "net-"


def prefix_of(name):
    """The part of ``name`` before its first dash: ``"snf-42"`` -> ``"snf"``."""
    if not isinstance(name, str) or "-" not in name or name.startswith("-"):
        raise ValueError("name %r has no '<prefix>-' part" % (name,))
    return name.split("-", 1)[0]


def _check_kind(kind):
    if kind not in QUEUE_KINDS:
        raise ValueError("unknown queue kind %r (one of %s)" % (kind, ", ".join(QUEUE_KINDS)))


def _check_id(number):
    if isinstance(number, bool) or not isinstance(number, int) or number < 0:
        raise ValueError("object id must be a non-negative int, not %r" % (number,))


def _id_after(prefix, name):
    if not isinstance(name, str) or not name.startswith(prefix):
        return None
    rest = name[len(prefix):]
    if not rest.isascii() or not rest.isdigit():
        return None
    return int(rest)


def instance_name(prefix_id, vm_id):
    """``instance_name("snf-", 42)`` -> ``"snf-42"``."""
    _check_id(vm_id)
    return "%s%d" % (prefix_id, vm_id)


def vm_id_of(prefix_id, name):
    """The VM id of an instance name, ``None`` when the name is not ours."""
    return _id_after(prefix_id, name)


def network_name(prefix_id, network_id):
    """``network_name("snf-", 7)`` -> ``"snf-net-7"``."""
    _check_id(network_id)
    return "%s%s%d" % (prefix_id, NETWORK_MARK, network_id)


def network_id_of(prefix_id, name):
    """The network id of a network name, ``None`` when the name is not ours."""
    return _id_after(prefix_id + NETWORK_MARK, name)


def routing_key(prefix, kind):
    """``routing_key("snf", "op")`` -> ``"ganeti.snf.event.op"``."""
    _check_kind(kind)
    return "ganeti.%s.event.%s" % (prefix, kind)


def queue_name(prefix, kind):
    """``queue_name("snf", "op")`` -> ``"snf-events-op"``."""
    _check_kind(kind)
    return "%s-events-%s" % (prefix, kind)


def dead_letter(name):
    """The dead-letter companion of an exchange or queue: ``"ganeti"`` -> ``"ganeti-dl"``."""
    return name + DEAD_LETTER_SUFFIX
