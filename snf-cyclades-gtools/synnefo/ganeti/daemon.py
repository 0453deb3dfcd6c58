"""Helpers shared by the Ganeti-side tools: settings, logging, broker."""

import logging
import os
import sys

LOG_FORMAT = "%(asctime)s %(name)s[%(process)d] %(levelname)s: %(message)s"


def load_settings(prog):
    """The assembled settings module; a settings error exits 1 with one line."""
    from synnefo.util.startup import load_settings_or_exit
    return load_settings_or_exit(prog)


def setup_logging(debug=False, log_file=None, stream=None):
    """Log to ``log_file`` (append) or to ``stream`` (stderr); return the handler."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    if log_file:
        directory = os.path.dirname(os.path.abspath(log_file))
        os.makedirs(directory, exist_ok=True)
        handler = logging.FileHandler(log_file)
    else:
        handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    # the broker libraries are chatty at DEBUG
    for noisy in ("kombu", "amqp"):
        logging.getLogger(noisy).setLevel(logging.INFO if debug else logging.WARNING)
    return handler


def make_broker(settings):
    from synnefo.messaging.client import Broker
    return Broker.from_settings(settings)


def backend_prefix(settings):
    from synnefo.messaging import names
    return names.prefix_of(settings.BACKEND_PREFIX_ID)


def declare_quietly(broker, settings, log):
    """Declare exchange and queues before a one-shot publish (so it is routable).

    A failure is only logged: the publish that follows has its own bounded retries.
    """
    try:
        broker.declare(backend_prefix(settings))
    except Exception as exc:
        log.warning("cannot declare the exchange and queues: %s", exc)
