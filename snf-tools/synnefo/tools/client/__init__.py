"""A Python client of the Cyclades compute API (no Django).

::

    from synnefo.tools.client import ComputeClient, ItemNotFound

    with ComputeClient("http://127.0.0.1:8000/api/v1.1", token) as api:
        server = api.create_server("web", "debian-12", 1)
        api.wait_server(server["id"], "ACTIVE", timeout=600,
                        progress=lambda s, t: print(s["status"], s["progress"]))
        api.shutdown(server["id"])

See ``docs/client.rst`` for the whole reference.
"""

from synnefo.tools.client.compute import (
    FIREWALL_PROFILES,
    ComputeClient,
    Reply,
    describe_network,
    describe_server,
    server_metadata,
    server_nics,
    values,
)
from synnefo.tools.client.errors import (
    FAULTS,
    ApiFault,
    BadMediaType,
    BadRequest,
    BuildInProgress,
    ClientError,
    ConflictingRequest,
    ConnectionFailed,
    Forbidden,
    ItemNotFound,
    NetworkInUse,
    OverLimit,
    ResizeNotAllowed,
    ServiceUnavailable,
    Unauthorized,
    UnexpectedAnswer,
    UnexpectedState,
    WaitTimeout,
    fault_from_answer,
)
from synnefo.tools.client.waiting import wait_for

__all__ = [
    "FAULTS", "FIREWALL_PROFILES", "ApiFault", "BadMediaType", "BadRequest", "BuildInProgress",
    "ClientError", "ComputeClient", "ConflictingRequest", "ConnectionFailed", "Forbidden", "ItemNotFound",
    "NetworkInUse",
    "OverLimit", "Reply", "ResizeNotAllowed", "ServiceUnavailable", "Unauthorized", "UnexpectedAnswer",
    "UnexpectedState", "WaitTimeout", "describe_network", "describe_server", "fault_from_answer",
    "server_metadata", "server_nics", "values", "wait_for",
]
