"""Compute API faults (spec 02-api §1.4).

A fault is rendered as ``{"<faultName>": {"code": N, "message": "...",
"details": "..."}}`` with HTTP status N.
"""

import json

from django.http import HttpResponse


class Fault(Exception):
    name = "computeFault"
    code = 500
    # Seconds sent as Retry-After (an outage that a retry may outlast).
    retry_after = None

    def __init__(self, message="", details="", name=None, code=None):
        super().__init__(message)
        self.message = message
        self.details = details
        if name is not None:
            self.name = name
        if code is not None:
            self.code = code


def _make(name, code):
    return type(name[0].upper() + name[1:], (Fault,), {"name": name, "code": code})


BadRequest = _make("badRequest", 400)
Unauthorized = _make("unauthorized", 401)
Forbidden = _make("forbidden", 403)
ItemNotFound = _make("itemNotFound", 404)
BuildInProgress = _make("buildInProgress", 409)
OverLimit = _make("overLimit", 413)
BadMediaType = _make("badMediaType", 415)
ConflictingRequest = _make("conflictingRequest", 409)
NetworkInUse = _make("networkInUse", 421)
ServiceUnavailable = _make("serviceUnavailable", 503)


def fault_body(fault):
    return {fault.name: {"code": fault.code, "message": fault.message,
                         "details": fault.details or ""}}


def json_response(fault):
    return HttpResponse(json.dumps(fault_body(fault)), status=fault.code,
                        content_type="application/json; charset=UTF-8")


def from_exception(exc):
    """Map any exception to a Fault: API faults as they are, logic errors
    by their ``fault``/``code``, anything else to computeFault (500)."""
    from synnefo.logic.errors import LogicError

    if isinstance(exc, Fault):
        return exc
    if isinstance(exc, LogicError):
        fault = Fault(str(getattr(exc, "message", "") or exc), details=exc.details,
                      name=exc.fault, code=exc.code)
        fault.retry_after = getattr(exc, "retry_after", None)
        return fault
    return Fault("Unexpected error.")
