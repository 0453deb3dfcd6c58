"""What the broker client raises besides kombu's own errors (no kombu here:
a caller can catch them without loading the client)."""


class BrokerUnavailable(Exception):
    """No broker host could be reached within the allowed attempts."""


class Interrupted(BrokerUnavailable):
    """The stop event was set while waiting for the broker."""


class ConnectionLost(BrokerUnavailable):
    """The connection a delivery came on broke before it was settled."""


class NoSuchQueue(LookupError):
    """The broker has no queue of that name (AMQP only: the file-system broker cannot tell)."""
