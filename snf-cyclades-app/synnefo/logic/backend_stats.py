"""Backend resource statistics, refreshed off the request path.

The allocator reads the statistics stored on the ``Backend`` rows and never
asks Ganeti while a create waits (a slow cluster would hold the create, and
the rows it locks, for as long as Ganeti takes). They are refreshed here:

* by every ``snf-dispatcher``, in a thread of its own
  (:class:`StatsRefresher`, every ``BACKEND_STATS_REFRESH_INTERVAL`` seconds:
  ``make run`` runs it through its dispatchers);
* by ``snf-manage backend-update-status`` (cron, or by hand).

Each backend's RAPI call is made outside any transaction; only the write of
the new figures takes a (short) transaction.
"""

import logging
import threading

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from synnefo.db.models import Backend
from synnefo.logic import backends as backend_mod
from synnefo.logic.errors import ServiceUnavailable
from synnefo.rapi import GanetiApiError

log = logging.getLogger(__name__)


def stale_backends(minutes=None, include_drained=False, backend_id=None):
    """Non-offline backends whose statistics are older than ``minutes``
    (default ``BACKEND_REFRESH_MIN``; 0 = all) or were never fetched."""
    if minutes is None:
        minutes = settings.BACKEND_REFRESH_MIN
    query = Backend.objects.filter(offline=False).order_by("id")
    if backend_id is not None:
        query = query.filter(pk=backend_id)
    elif not include_drained:
        query = query.filter(drained=False)
    if minutes:
        limit = timezone.now() - timezone.timedelta(minutes=minutes)
        query = query.filter(Q(updated__lt=limit) | Q(mtotal=0) | Q(dtotal=0) | Q(ctotal=0))
    return list(query)


def refresh(backends_to_refresh, report=None):
    """Refresh each backend; returns ``{backend: None or the error}``.
    ``report(backend, error)`` is called after each one."""
    results = {}
    for backend in backends_to_refresh:
        try:
            backend_mod.update_resources(backend)
            error = None
        except (GanetiApiError, ServiceUnavailable) as exc:
            error = exc
            log.warning("Cannot refresh the statistics of backend %s: %s", backend, exc)
        results[backend] = error
        if report is not None:
            report(backend, error)
    return results


class StatsRefresher(threading.Thread):
    """A daemon thread that refreshes stale statistics every ``interval``
    seconds until ``stop_event`` is set (one per dispatcher)."""

    def __init__(self, stop_event, interval=None):
        super().__init__(name="backend-stats", daemon=True)
        self.stop_event = stop_event
        self.interval = settings.BACKEND_STATS_REFRESH_INTERVAL if interval is None else interval
        self.passes = 0

    def run_once(self):
        from django.db import DatabaseError, close_old_connections
        close_old_connections()
        try:
            refresh(stale_backends())
        except DatabaseError as exc:  # the database is away: next pass
            log.warning("Backend statistics refresh skipped: %s", exc)
        finally:
            from django.db import connection
            connection.close()
        self.passes += 1

    def run(self):
        while not self.stop_event.is_set():
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 - the thread must outlive any one failure
                log.exception("Backend statistics refresh failed")
            if self.stop_event.wait(self.interval):
                break
