"""Polling until an object reaches a state: timeouts, warnings, progress callbacks."""

import time

from synnefo.tools.client.errors import UnexpectedState, WaitTimeout


def wait_for(fetch, done, *, what, timeout, interval=1.0, progress=None, fail=None,
             warn_after=None, on_warning=None, describe=None, clock=time.monotonic, sleep=time.sleep):
    """Call ``fetch()`` every ``interval`` seconds until ``done(obj)``; return that object.

    ``progress(obj, elapsed)`` is called after every fetch. ``fail(obj)``
    returns a reason (a true value) when the object can no longer get done
    (then :class:`UnexpectedState`, with ``obj["status"]`` when there is one).
    ``on_warning(obj, elapsed)`` is called once, when ``warn_after`` seconds
    have passed. After ``timeout`` seconds: :class:`WaitTimeout` naming
    ``what`` and, through ``describe(obj)``, the last object seen."""
    started = clock()
    deadline = started + timeout
    warned = False
    last = None
    while True:
        last = fetch()
        now = clock()
        if progress is not None:
            progress(last, now - started)
        if done(last):
            return last
        if fail is not None:
            reason = fail(last)
            if reason:
                state = last.get("status", "?") if isinstance(last, dict) else "?"
                raise UnexpectedState(what, state, last, reason if isinstance(reason, str) else "")
        if warn_after is not None and not warned and now - started >= warn_after:
            warned = True
            if on_warning is not None:
                on_warning(last, now - started)
        if now >= deadline:
            raise WaitTimeout(what, timeout, last, describe)
        sleep(max(0.0, min(interval, deadline - now)))
