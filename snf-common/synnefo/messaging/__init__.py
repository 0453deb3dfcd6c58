"""Messaging between the Ganeti side and the dispatcher (no Django here).

``names``, ``messages``, ``errors`` and ``files`` are plain Python; the broker
client (kombu) is imported only when one of its names is first used, so code
that only builds or parses messages does not load kombu (whose JSON module
probes for Django).
"""

from synnefo.messaging.errors import BrokerUnavailable, ConnectionLost, Interrupted, NoSuchQueue
from synnefo.messaging.messages import MalformedMessage

_CLIENT_NAMES = ("RETRY_FOREVER", "Broker", "Delivery")

__all__ = ["MalformedMessage", "BrokerUnavailable", "ConnectionLost", "Interrupted", "NoSuchQueue",
           *_CLIENT_NAMES]


def __getattr__(name):
    if name in _CLIENT_NAMES:
        from synnefo.messaging import client
        return getattr(client, name)
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
