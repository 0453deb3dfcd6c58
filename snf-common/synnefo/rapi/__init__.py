"""Ganeti RAPI v2 client (plain library: requests, no Django).

See docs/internals.rst, "Ganeti RAPI client (synnefo.rapi)".
"""

from synnefo.rapi.client import (
    JOB_FINAL_STATUSES,
    JOB_STATUS_CANCELED,
    JOB_STATUS_ERROR,
    JOB_STATUS_SUCCESS,
    GanetiRapiClient,
)
from synnefo.rapi.errors import (
    GanetiApiError,
    GanetiConnectionError,
    GanetiJobTimeout,
    GanetiNotFound,
)
from synnefo.rapi.transport import Transport, normalize_fingerprint

__all__ = [
    "GanetiRapiClient",
    "GanetiApiError",
    "GanetiNotFound",
    "GanetiConnectionError",
    "GanetiJobTimeout",
    "JOB_FINAL_STATUSES",
    "JOB_STATUS_SUCCESS",
    "JOB_STATUS_ERROR",
    "JOB_STATUS_CANCELED",
    "Transport",
    "normalize_fingerprint",
]
