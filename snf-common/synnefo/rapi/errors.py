"""Exceptions raised by the Ganeti RAPI client.

Hierarchy::

    GanetiApiError                 any RAPI failure (``code`` = HTTP status or None)
    +-- GanetiNotFound             404 (or an unknown job id, see ``get_job``)
    +-- GanetiConnectionError      transport failure: refused, timeout, TLS / fingerprint mismatch
    +-- GanetiJobTimeout           ``wait_for_job`` gave up before the job finished

Catching ``GanetiApiError`` therefore catches every failure of the client.
"""


class GanetiApiError(Exception):
    """A RAPI call failed.

    ``message``: human readable text; ``code``: the HTTP status (``None`` when
    there was no HTTP answer); ``details``: Ganeti's ``explain`` text, or the
    raw (truncated) answer body when it was not Ganeti's JSON error body.
    """

    def __init__(self, message, code=None, details=None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.details = details

    def __str__(self):
        text = self.message
        if self.code is not None:
            text = "[%s] %s" % (self.code, text)
        if self.details and self.details not in self.message:
            text = "%s (%s)" % (text, self.details)
        return text


class GanetiNotFound(GanetiApiError):
    """The resource does not exist (HTTP 404)."""


class GanetiConnectionError(GanetiApiError):
    """No usable HTTP answer: connection refused, timeout, TLS failure.

    ``timed_out`` is true when the failure was a connect/read timeout.
    ``may_have_reached`` is true when the request may have been received
    and acted on (an answer that timed out or a connection lost after the
    request was sent), false when it certainly never reached Ganeti
    (connection refused, connect timeout, TLS failure): a job submission
    that failed this way must not be undone blindly.
    """

    def __init__(self, message, details=None, timed_out=False, may_have_reached=False):
        super().__init__(message, None, details)
        self.timed_out = timed_out
        self.may_have_reached = may_have_reached


class GanetiJobTimeout(GanetiApiError):
    """``wait_for_job`` reached its timeout; ``job_id``/``last_status`` tell where."""

    def __init__(self, message, job_id=None, last_status=None):
        super().__init__(message, None, None)
        self.job_id = job_id
        self.last_status = last_status
