"""Requests that fail because the database or the broker is gone (issue 18).

The API answers them ``serviceUnavailable`` with a ``Retry-After`` header,
never "Unexpected error.", but only while the request has had no effect:
:func:`unavailable` classifies an exception raised before anything was
committed. Past the point where an effect exists (the new server's row is
committed, a job is submitted to Ganeti), the logic layer wraps the rest of
the request in :func:`after_effect`, which turns the same failures into an
answer that says what already happened.

A lost commit acknowledgement cannot be told apart from a failed commit: a
create that must not be repeated carries an idempotency key
(:mod:`synnefo.logic.idempotency`), recorded in the same transaction.
"""

import contextlib
import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError
from synnefo.logic.errors import ServiceUnavailable

log = logging.getLogger(__name__)

# Django wraps every driver's errors (psycopg, PyMySQL, sqlite3) in its own
# classes: a lost or refused connection, a server restart, SQLite's
# "database is locked", PostgreSQL's lock_timeout / statement_timeout,
# MySQL's lock wait timeout and deadlocks all arrive as one of these.
DATABASE_ERRORS = (OperationalError, InterfaceError)
DATABASE_MESSAGE = "Database unavailable, retry later."
BROKER_MESSAGE = "Message broker unavailable, retry later."


class Unavailable(ServiceUnavailable):
    """A dependency is gone; ``retry_after`` (seconds) is sent as Retry-After,
    ``None`` when retrying is not safe."""

    def __init__(self, message, details="", retry_after=None):
        super().__init__(message, details)
        self.retry_after = retry_after


def retry_after():
    """Seconds a client should wait before retrying (``OUTAGE_RETRY_AFTER``)."""
    return int(getattr(settings, "OUTAGE_RETRY_AFTER", 5))


def is_database_error(exc):
    return isinstance(exc, DATABASE_ERRORS)


def is_broker_error(exc):
    try:
        from synnefo.messaging.client import BrokerUnavailable
    except ImportError:  # pragma: no cover - snf-common is always installed with the app
        return False
    return isinstance(exc, BrokerUnavailable)


def unavailable(exc):
    """The :class:`Unavailable` answer for ``exc`` raised by a request that
    had no effect, or ``None`` when ``exc`` is not an outage."""
    if isinstance(exc, Unavailable):
        return exc
    # The driver's text (host names, ports) is logged, not shown.
    if is_database_error(exc):
        log.error("Database unavailable: %s", exc)
        return Unavailable(DATABASE_MESSAGE, retry_after=retry_after())
    if is_broker_error(exc):
        log.error("Message broker unavailable: %s", exc)
        return Unavailable(BROKER_MESSAGE, retry_after=retry_after())
    return None


@contextlib.contextmanager
def after_effect(what, retry_safe=False):
    """Code past an effect: a database or broker failure becomes an
    :class:`Unavailable` whose message says ``what`` already happened
    (``retry_safe``: retrying returns the same result, e.g. with the same
    idempotency key, so Retry-After is sent)."""
    try:
        yield
    except Exception as exc:
        if not (is_database_error(exc) or is_broker_error(exc)):
            raise
        kind = "Database" if is_database_error(exc) else "Message broker"
        log.error("%s unavailable after an effect (%s): %s", kind, what, exc)
        raise Unavailable("%s unavailable after the request took effect: %s"
                          % (kind, what), retry_after=retry_after() if retry_safe else None) from exc
