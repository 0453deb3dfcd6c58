"""The home page: every backend's capacity, flags, refresh time and reachability."""

from concurrent.futures import ThreadPoolExecutor

from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_protect
from synnefo.admin import charts
from synnefo.admin.auth import staff_required
from synnefo.admin.views.common import act, page, refused_action, url
from synnefo.db.models import Backend
from synnefo.logic import backends as backend_logic

REACH_SECONDS = 10  # the page shows "no answer" for a cluster slower than this


def _reachability(rows):
    """Ask every backend at once, so one slow cluster costs the page its own wait."""
    if not rows:
        return {}
    with ThreadPoolExecutor(max_workers=min(8, len(rows))) as pool:
        futures = {b.id: pool.submit(backend_logic.reachability, b) for b in rows}
        found = {}
        for backend_id, future in futures.items():
            try:
                found[backend_id] = future.result(timeout=REACH_SECONDS)
            except Exception:
                found[backend_id] = (False, "no answer within %d s" % REACH_SECONDS)
        return found


def _capacity(backend, most_cpus, most_servers):
    return [
        charts.bar("Memory used", backend.mtotal - backend.mfree, backend.mtotal, " MiB"),
        charts.bar("Disk used", backend.dtotal - backend.dfree, backend.dtotal, " MiB"),
        charts.count_bar("CPUs", backend.ctotal, most_cpus),
        charts.count_bar("Servers", backend.pinst_cnt, most_servers),
    ]


@staff_required
@csrf_protect
def home(request):
    rows = list(Backend.objects.order_by("id"))
    reach = _reachability(rows)
    most_cpus = max([b.ctotal for b in rows] + [1])
    most_servers = max([b.pinst_cnt for b in rows] + [1])
    items = [{"backend": b, "bars": _capacity(b, most_cpus, most_servers), "reach": reach.get(b.id),
              "stale": backend_logic.stats_are_stale(b)} for b in rows]
    return page(request, "admin/backends.html", {"items": items}, "backends")


# name -> what runs: backend-modify's flags and backend-update-status's refresh.
ACTIONS = {
    "drain": lambda b: backend_logic.modify(b, {"drained": True}),
    "undrain": lambda b: backend_logic.modify(b, {"drained": False}),
    "offline": lambda b: backend_logic.modify(b, {"offline": True}),
    "online": lambda b: backend_logic.modify(b, {"offline": False}),
    "refresh": lambda b: backend_logic.update_resources(b),
}


@staff_required
@csrf_protect
def backend_action(request, backend_id, action):
    """POST: drain / undrain / set offline / online / refresh the status."""
    refused = refused_action(request, action in ACTIONS, "backends")
    if refused:
        return refused
    backend = get_object_or_404(Backend, pk=backend_id)
    return act(request, "backend-" + action, "backend %d (%s)" % (backend.id, backend.clustername),
               lambda: ACTIONS[action](backend), url("admin-home"))
