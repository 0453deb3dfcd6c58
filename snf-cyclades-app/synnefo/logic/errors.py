"""Errors the logic layer raises; the API turns each into its fault.

=====================  ==============  ==================
exception              API fault       HTTP status
=====================  ==============  ==================
BadRequest             badRequest      400
Forbidden              forbidden       403
ItemNotFound           itemNotFound    404
BuildInProgress        buildInProgress 409
Conflict               conflictingRequest 409
OverLimit              overLimit       413
NetworkInUse           networkInUse    421
ServiceUnavailable     serviceUnavailable 503
=====================  ==============  ==================
"""


class LogicError(Exception):
    fault = "computeFault"
    code = 500

    def __init__(self, message, details=""):
        super().__init__(message)
        self.message = message
        self.details = details


class BadRequest(LogicError):
    fault, code = "badRequest", 400


class Forbidden(LogicError):
    fault, code = "forbidden", 403


class ItemNotFound(LogicError):
    fault, code = "itemNotFound", 404


class BuildInProgress(LogicError):
    fault, code = "buildInProgress", 409


class Conflict(LogicError):
    fault, code = "conflictingRequest", 409


class OverLimit(LogicError):
    fault, code = "overLimit", 413


class NetworkInUse(LogicError):
    fault, code = "networkInUse", 421


class ServiceUnavailable(LogicError):
    fault, code = "serviceUnavailable", 503
