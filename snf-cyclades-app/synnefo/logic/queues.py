"""The dead-letter side of the update path: read a queue's messages without
losing them, and replay dead letters to where they were first sent.

Used by ``snf-manage queue-inspect`` / ``queue-retry`` and the admin web.
"""

import json
import logging

from synnefo.logic import dispatcher
from synnefo.messaging import names
from synnefo.messaging.client import NoSuchQueue

log = logging.getLogger(__name__)

FROM_DEAD_LETTER = "from-dead-letter"
RETRY_COUNT = "x-retry-count"
KEEP_REASON = "x-retry-skipped"


def _dead_letter_queues_by_kind(prefix_id):
    """``(kind, dead-letter queue)`` of every dispatcher queue."""
    prefix = dispatcher.backend_prefix(prefix_id)
    return [(kind, names.dead_letter(names.queue_name(prefix, kind))) for kind in names.QUEUE_KINDS]


def dead_letter_queues(prefix_id):
    """The dead-letter queue of every dispatcher queue."""
    return [queue for _, queue in _dead_letter_queues_by_kind(prefix_id)]


def body_of(delivery):
    """The body of ``delivery`` as JSON, or as text when it is not JSON."""
    try:
        return json.loads(delivery.body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return delivery.body.decode("utf-8", "replace")


def message_item(number, delivery):
    return {"number": number, "headers": dict(delivery.headers or {}), "body": body_of(delivery)}


def peek(broker, queue, limit=None):
    """Up to ``limit`` messages of ``queue`` as ``message_item`` dicts. None is
    acknowledged: they return to the queue when ``broker`` is closed."""
    items = []
    while limit is None or len(items) < limit:
        delivery = broker.get(queue)
        if delivery is None:
            break
        items.append(message_item(len(items) + 1, delivery))
    return items


def original_route(headers):
    """``(exchange or None, routing key)`` a dead letter came from, or ``None``.

    Dead letters written by the dispatcher carry ``x-original-routing-key``
    (exchange: the Ganeti exchange); RabbitMQ's own dead-lettering writes
    ``x-death`` (a list of dicts with ``exchange`` and ``routing-keys``)."""
    key = headers.get("x-original-routing-key")
    if key:
        return headers.get("x-original-exchange"), key
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict):
        keys = deaths[0].get("routing-keys") or []
        if keys:
            return deaths[0].get("exchange") or None, keys[0]
    return None


def retry_count(headers):
    """How many times queue-retry already replayed this message (0: never).

    Messages replayed before the count existed carry only ``from-dead-letter``."""
    try:
        count = int(headers.get(RETRY_COUNT) or 0)
    except (TypeError, ValueError):
        count = 0
    if count <= 0 and headers.get(FROM_DEAD_LETTER):
        count = 1
    return max(count, 0)


def keep_reason(delivery, headers, keep_zombies):
    """Why a dead letter is not replayed (it goes back to its queue), or ``None``."""
    try:
        message = json.loads(delivery.body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return "body is not JSON"
    if not isinstance(message, dict):
        return "body is not a JSON object"
    if original_route(headers) is None:
        return "no original routing key"
    count = retry_count(headers)
    if count and not keep_zombies:
        return "failed again after %d replay(s) (fix the cause, then use --keep-zombies)" % count
    return None


def _present(broker, dead_queue):
    try:
        return broker.message_count(dead_queue)
    except NoSuchQueue:
        return 0


def retry_dead_letters(broker, prefix_id, keep_zombies=False, report=None):
    """Replay the dead letters present now in every dead-letter queue.

    Each is published again to the exchange and routing key it was first sent
    with (headers ``from-dead-letter`` and ``x-retry-count``); one that cannot
    be replayed goes back to the end of its dead-letter queue with the reason
    in ``x-retry-skipped``. The dead copy is acknowledged only after the
    broker took the new one, so nothing is ever lost. Only the messages
    present when the run starts are handled: those put back, and new dead
    letters, wait for the next run. ``report(text)`` is told of every message
    left. Returns ``(retried, kept)``."""
    prefix = dispatcher.backend_prefix(prefix_id)
    queues = _dead_letter_queues_by_kind(prefix_id)
    present = {queue: _present(broker, queue) for _, queue in queues}
    retried = kept = 0
    for kind, dead_queue in queues:
        for _ in range(present[dead_queue]):
            delivery = broker.get(dead_queue)
            if delivery is None:
                break
            headers = dict(delivery.headers or {})
            reason = keep_reason(delivery, headers, keep_zombies)
            if reason:
                headers[KEEP_REASON] = reason
                broker.publish(delivery.body, routing_key=names.routing_key(prefix, kind),
                               headers=headers, exchange=names.dead_letter(broker.exchange))
                delivery.ack()  # only once the broker has the copy at the queue's end
                kept += 1
                if report is not None:
                    report("Left in %s: %s" % (dead_queue, reason))
                continue
            exchange, key = original_route(headers)
            count = retry_count(headers) + 1
            broker.publish(delivery.body, routing_key=key, exchange=exchange,
                           headers={FROM_DEAD_LETTER: True, RETRY_COUNT: count})
            delivery.ack()  # only once the broker confirmed the new copy
            retried += 1
            log.debug("Retried %s -> %s (replay %d)", dead_queue, key, count)
    return retried, kept
