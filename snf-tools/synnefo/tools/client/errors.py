"""The client's exceptions: one class per API fault, plus transport and wait failures.

Every exception of the library derives from :class:`ClientError`. A fault
answered by the API (``{"<faultName>": {"code", "message", "details"}}``)
raises the :class:`ApiFault` subclass of that fault name, carrying the HTTP
status, the fault's name, message and details and the request that got it.
"""


class ClientError(Exception):
    """Base class of every error of :mod:`synnefo.tools.client`."""


class ConnectionFailed(ClientError):
    """The API could not be reached (refused, timed out, TLS failure...)."""

    def __init__(self, method, url, reason):
        self.method, self.url, self.reason = method, url, reason
        super().__init__(f"{method} {url}: cannot reach the API: {reason}")


class UnexpectedAnswer(ClientError):
    """The API answered something that is neither the documented success nor a fault."""

    def __init__(self, method, url, status, text):
        self.method, self.url, self.status, self.text = method, url, status, text
        short = " ".join(text.split())[:300]
        super().__init__(f"{method} {url}: unexpected answer {status}: {short or '(empty body)'}")


class ApiFault(ClientError):
    """A fault answered by the API.

    ``code``: the HTTP status (the fault's ``code``); ``name``: the fault name
    (``itemNotFound``...); ``message`` and ``details``: the fault's texts;
    ``method`` and ``url``: the request."""

    fault_name = None
    retry_after = None  # seconds, from the answer's Retry-After

    def __init__(self, code, name, message, details="", method="", url=""):
        self.code, self.name, self.message, self.details = code, name, message, details
        self.method, self.url = method, url
        where = f"{method} {url}: " if method else ""
        super().__init__(f"{where}{code} {name}: {message}")

    def __reduce__(self):  # picklable across worker processes
        return (self.__class__, (self.code, self.name, self.message, self.details,
                                 self.method, self.url))


def _fault_class(class_name, fault_name, meaning):
    return type(class_name, (ApiFault,), {"fault_name": fault_name, "__module__": __name__,
                                          "__doc__": f"{fault_name}: {meaning}."})


BadRequest = _fault_class("BadRequest", "badRequest", "400, a malformed or refused request")
Unauthorized = _fault_class("Unauthorized", "unauthorized", "401, no valid token")
Forbidden = _fault_class("Forbidden", "forbidden", "403, not allowed (suspended, public network...)")
ResizeNotAllowed = _fault_class("ResizeNotAllowed", "resizeNotAllowed", "403, resizing is not allowed")
ItemNotFound = _fault_class("ItemNotFound", "itemNotFound", "404, no such object of the caller's")
BuildInProgress = _fault_class("BuildInProgress", "buildInProgress", "409, the object is busy or building")
ConflictingRequest = _fault_class("ConflictingRequest", "conflictingRequest",
                                  "409, an idempotency key reused for another request")
OverLimit = _fault_class("OverLimit", "overLimit", "413, a limit or quota is reached")
BadMediaType = _fault_class("BadMediaType", "badMediaType", "415")
NetworkInUse = _fault_class("NetworkInUse", "networkInUse", "421, servers are still connected")
ServiceUnavailable = _fault_class("ServiceUnavailable", "serviceUnavailable",
                                  "503, the backend refused or failed, or the call is not supported")

FAULTS = {cls.fault_name: cls for cls in (BadRequest, Unauthorized, Forbidden, ResizeNotAllowed,
                                          ItemNotFound, BuildInProgress, ConflictingRequest,
                                          OverLimit, BadMediaType,
                                          NetworkInUse, ServiceUnavailable)}


def fault_from_answer(status, body, method="", url=""):
    """The :class:`ApiFault` of a decoded JSON fault body, or None if ``body``
    is not a fault document."""
    if not isinstance(body, dict) or len(body) != 1:
        return None
    (name, fault), = body.items()
    if not isinstance(fault, dict) or "message" not in fault:
        return None
    cls = FAULTS.get(name, ApiFault)
    code = fault.get("code", status)
    return cls(code if isinstance(code, int) else status, name, str(fault.get("message", "")),
               str(fault.get("details") or ""), method, url)


class WaitTimeout(ClientError):
    """A wait ran out of time; ``last`` is the object as last seen (or None)."""

    def __init__(self, what, timeout, last=None, describe=None):
        self.what, self.timeout, self.last = what, timeout, last
        seen = f"; last seen: {describe(last)}" if (describe and last is not None) else ""
        super().__init__(f"{what}: not done after {timeout:g} s{seen}")


class UnexpectedState(ClientError):
    """A wait saw the object reach a state it can never leave for the awaited one
    (e.g. a server in ``ERROR`` while waiting for ``ACTIVE``)."""

    def __init__(self, what, state, last=None, reason=""):
        self.what, self.state, self.last, self.reason = what, state, last, reason
        why = f" ({reason})" if reason else ""
        super().__init__(f"{what}: reached {state} instead{why}")
