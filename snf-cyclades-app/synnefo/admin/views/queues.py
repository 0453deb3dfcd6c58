"""The update path: dead-letter queues (inspect, retry) and reconciliation findings."""

from django.conf import settings
from django.views.decorators.csrf import csrf_protect
from synnefo.admin.auth import staff_required
from synnefo.admin.views.common import act, page, refused_action, url
from synnefo.logic import dispatcher, queues
from synnefo.logic.errors import ServiceUnavailable
from synnefo.logic.reconciliation import history
from synnefo.messaging.client import BrokerUnavailable

SHOWN = 50  # messages shown per queue


def _dead_letters():
    """``(queue, messages, more)`` of every dead-letter queue, or an error text.
    Nothing is acknowledged: the messages return to their queues."""
    try:
        broker = dispatcher.make_broker(settings)
    except Exception as exc:
        return [], "Cannot reach the broker: %s" % exc
    found = []
    try:
        for name in queues.dead_letter_queues(settings.BACKEND_PREFIX_ID):
            items = queues.peek(broker, name, SHOWN + 1)
            found.append({"queue": name, "messages": items[:SHOWN], "more": len(items) > SHOWN})
    except Exception as exc:
        return found, "Cannot read the queues: %s" % exc
    finally:
        broker.close()
    return found, ""


@staff_required
@csrf_protect
def queue_list(request):
    found, error = _dead_letters()
    return page(request, "admin/queues.html", {
        "queues": found, "broker_error": error,
        "total": sum(len(q["messages"]) for q in found),
        "runs": history.latest_runs(), "runs_kept": history.RUNS_KEPT,
    }, "queues")


def _retry(keep_zombies):
    try:
        broker = dispatcher.make_broker(settings)
    except Exception as exc:
        raise ServiceUnavailable("Cannot reach the broker: %s" % exc)
    notes = []
    try:
        retried, kept = queues.retry_dead_letters(broker, settings.BACKEND_PREFIX_ID, keep_zombies,
                                                  report=notes.append)
    except BrokerUnavailable as exc:
        raise ServiceUnavailable("Broker error (the message being handled stays in its "
                                 "dead-letter queue): %s" % exc)
    finally:
        broker.close()
    return "; ".join(["%d message(s) retried, %d left in the dead-letter queues" % (retried, kept)]
                     + notes)[:900]


@staff_required
@csrf_protect
def queue_retry(request):
    refused = refused_action(request, True, "queues")
    if refused:
        return refused
    keep = request.POST.get("keep_zombies") == "1"
    return act(request, "queue-retry", "dead-letter queues", lambda: _retry(keep), url("admin-queues"))
