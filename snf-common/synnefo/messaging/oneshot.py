"""Publishing from a short-lived process: ``snf-ganeti-hook`` and ``snf-progress-monitor``.

They run for each Ganeti job of a Cyclades instance (a create runs the
instance-add hook and a progress monitor) and publish one to a few messages,
so what a run costs before its first publish counts.

On the file-system broker (``filesystem://``) a message is a file. When the
broker's bindings already route the message's routing key (the dispatchers
and ``snf-ganeti-eventd`` declare the exchange and queues when they start, as
does the first publish of this module on a fresh broker), it is written
straight into the broker's folder, in the format the kombu transport reads
(:mod:`synnefo.messaging.files`: a file per queue the bindings route it to,
``fsync``-ed before it appears), without importing kombu and without
declaring again.

Everything else goes through :class:`synnefo.messaging.client.Broker`,
which declares the exchange and queues before the first publish (so that
the message is kept: a broker drops what no binding routes) and retries as
the caller asks: a fresh file-system broker whose bindings do not route the
message, a write that failed, and AMQP brokers. (A write that failed after
some of several queues got the message gives those a second copy: a
routing key of Cyclades is bound to one queue, and the dispatcher applies a
message twice as once.)
"""

import logging

from synnefo.messaging import files, messages, names

log = logging.getLogger(__name__)


class OneShotPublisher:
    """Publishes messages of ``settings``' broker from a short-lived process;
    not thread-safe. :meth:`publish` raises what
    :meth:`synnefo.messaging.client.Broker.publish` raises."""

    def __init__(self, settings, log=log):
        self.settings = settings
        self.log = log
        self.exchange = getattr(settings, "EXCHANGE_GANETI", "ganeti")
        hosts = settings.AMQP_HOSTS
        hosts = [hosts] if isinstance(hosts, str) else list(hosts or [])
        folder = getattr(settings, "AMQP_FILESYSTEM_DIR", None)
        self._folders = None
        if len(hosts) == 1 and str(hosts[0]).startswith("filesystem") and folder:
            self._folders = files.folders(folder)
        self._orphans_checked = False
        self._broker = None

    def publish(self, message, retry):
        """Publish the message ``dict`` persistently, ``retry`` attempts at most
        through the broker client."""
        if self._broker is None and self._folders is not None:
            routing_key = messages.routing_key_of(message)  # a malformed message raises here
            try:
                if self._write(message, routing_key):
                    return
            except (OSError, ValueError) as exc:
                self.log.warning("cannot write the message into %s (%s); publishing through "
                                 "the broker client", self._folders["data"], exc)
        self._client_publish(message, retry)

    def _write(self, message, routing_key):
        """Write the message to the queues ``routing_key`` is bound to; ``False``
        when there is none (nothing written)."""
        queues = files.routed_queues(files.read_bindings(self._folders["control"], self.exchange),
                                     routing_key)
        if not queues:
            return False
        if not self._orphans_checked:
            # as the broker client does when it opens the folder
            files.recover_orphans(self._folders["data"], self._folders["claimed"])
            self._orphans_checked = True
        data = files.json_bytes(files.envelope(messages.body_of(message), self.exchange, routing_key))
        for queue in queues:
            files.write_atomically(self._folders["data"], files.message_file_name(queue), data)
        return True

    def _client_publish(self, message, retry):
        if self._broker is None:
            from synnefo.messaging.client import Broker
            self._broker = Broker.from_settings(self.settings)
            try:
                self._broker.declare(names.prefix_of(self.settings.BACKEND_PREFIX_ID))
            except Exception as exc:  # the publish below has its own bounded retries
                self.log.warning("cannot declare the exchange and queues: %s", exc)
        self._broker.publish(message, retry=retry)

    def close(self):
        if self._broker is not None:
            broker, self._broker = self._broker, None
            broker.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
