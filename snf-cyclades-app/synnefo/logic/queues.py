"""The dead-letter side of the update path: read a queue's messages without
losing them, and replay dead letters to where they were first sent.

Used by ``snf-manage queue-inspect`` / ``queue-retry`` and the admin web.
"""

import json
import logging

from synnefo.logic import dispatcher

log = logging.getLogger(__name__)

FROM_DEAD_LETTER = "from-dead-letter"
DEAD_LETTER_SUFFIX = "-dl"


def dead_letter_queues(prefix_id):
    """The dead-letter queue of every dispatcher queue."""
    return [queue + DEAD_LETTER_SUFFIX for queue in dispatcher.queue_names(prefix_id)]


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


def drop_reason(delivery, headers, keep_zombies):
    """Why a dead letter cannot be retried, or ``None``."""
    try:
        message = json.loads(delivery.body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return "body is not JSON"
    if not isinstance(message, dict):
        return "body is not a JSON object"
    if headers.get(FROM_DEAD_LETTER) and not keep_zombies:
        return "already retried once (use --keep-zombies to retry it again)"
    if original_route(headers) is None:
        return "no original routing key"
    return None


def retry_dead_letters(broker, prefix_id, keep_zombies=False, report=None):
    """Drain every dead-letter queue: publish each message again to the
    exchange and routing key it was first sent with (marked with header
    ``from-dead-letter``), drop those that cannot be retried. ``report(text)``
    is told of every drop. Returns ``(retried, dropped)``."""
    retried = dropped = 0
    for dead_queue in dead_letter_queues(prefix_id):
        while True:
            delivery = broker.get(dead_queue)
            if delivery is None:
                break
            headers = dict(delivery.headers or {})
            reason = drop_reason(delivery, headers, keep_zombies)
            if reason:
                if report is not None:
                    report("Dropping message of %s: %s" % (dead_queue, reason))
                delivery.ack()
                dropped += 1
                continue
            exchange, key = original_route(headers)
            message = json.loads(delivery.body.decode("utf-8"))
            broker.publish(message, routing_key=key, headers={FROM_DEAD_LETTER: True},
                           exchange=exchange)
            delivery.ack()  # only once the broker confirmed the new copy
            retried += 1
            log.debug("Retried %s -> %s", dead_queue, key)
    return retried, dropped
