"""Helpers shared by the Ganeti-side tools: settings, logging, broker."""

from synnefo.util.service import setup_logging  # noqa: F401 (re-exported for the tools)


def load_settings(prog):
    """The assembled settings module; a settings error exits 1 with one line."""
    from synnefo.util.startup import load_settings_or_exit
    return load_settings_or_exit(prog)


def make_broker(settings):
    from synnefo.messaging.client import Broker
    return Broker.from_settings(settings)


def backend_prefix(settings):
    from synnefo.messaging import names
    return names.prefix_of(settings.BACKEND_PREFIX_ID)

