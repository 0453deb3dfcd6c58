"""kombu's ``filesystem://`` transport made safe for several processes.

Differences from the stock transport:

* a message file is written under a hidden temporary name, flushed and
  renamed into place, so a reader never sees a partial message;
* file names sort by publication time (nanoseconds, then a per-process
  counter), so one publisher's messages are read in order;
* a reader claims a message by renaming it into ``claimed/`` (atomic: two
  readers never get the same file) and deletes it only when it is
  acknowledged; an unacknowledged message goes back to its queue when the
  channel closes, and :func:`synnefo.messaging.files.recover_orphans`
  returns the claims of dead processes;
* a message that no binding routes is dropped (as on AMQP) instead of
  piling up in an ``ae.undeliver`` queue;
* one directory listing serves many receives: a channel keeps the sorted
  names it listed and claims them in turn, listing again only when they are
  used up (or all taken by other readers), and a consumer of several queues
  lists once for all of them and receives the oldest message of any (the
  stock transport lists the whole folder for every receive from every
  queue).
"""

import collections
import fcntl
import logging
import os

from kombu.transport import filesystem, virtual
from kombu.transport.virtual import Empty
from kombu.utils.json import dumps, loads
from synnefo.messaging.files import (
    CORRUPT_PREFIX,
    exchange_file,
    message_file_name,
    queue_of,
    read_bindings,
    write_atomically,
)

log = logging.getLogger(__name__)


class Channel(filesystem.Channel):
    deadletter_queue = None  # unroutable -> dropped, as on AMQP
    # Bindings live in files of the control folder, so that a message published
    # by one process is routed to the queues another process bound. kombu 5.3
    # does this itself; Debian 12's kombu 5.2 (a Ganeti node's) does not, so the
    # table is ours, in kombu 5.3's format (a JSON list of [routing_key,
    # pattern, queue] per "<exchange>.exchange" file) and both can share a folder.
    supports_fanout = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._claims = {}  # delivery tag -> (claimed path, original name)
        self._listed = {}  # frozenset of queues -> deque of message names not yet tried

    @property
    def claim_folder(self):
        return self.transport_options["claim_folder"]

    def queue_bind(self, queue, exchange=None, routing_key="", arguments=None, **kwargs):
        super().queue_bind(queue, exchange, routing_key, arguments, **kwargs)
        # Always (re)write the binding to the control folder, which is what
        # routes messages published by other processes.
        exchange = exchange or "amq.direct"
        meta = self.typeof(exchange).prepare_bind(queue, exchange, routing_key, arguments)
        self._queue_bind(exchange, *meta)

    @property
    def control_folder(self):
        return self.transport_options["control_folder"]

    def _exchange_file(self, exchange):
        try:
            return exchange_file(self.control_folder, exchange)
        except ValueError as exc:
            raise filesystem.ChannelError(str(exc)) from None

    def get_table(self, exchange):
        try:
            return read_bindings(self.control_folder, exchange)
        except (OSError, ValueError) as exc:
            raise filesystem.ChannelError("cannot read the bindings of %s: %s" % (exchange, exc)) \
                from exc

    def _queue_bind(self, exchange, routing_key, pattern, queue):
        entry = [routing_key or "", pattern or "", queue or ""]
        path = self._exchange_file(exchange)
        try:
            os.makedirs(self.control_folder, exist_ok=True)
            with open(path, "a+b") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                handle.seek(0)
                table = [list(e) for e in loads(handle.read().decode("utf-8") or "[]")]
                if entry not in table:
                    table.insert(0, entry)
                    handle.seek(0)
                    handle.truncate()
                    handle.write(dumps(table).encode("utf-8"))
        except (OSError, ValueError) as exc:
            raise filesystem.ChannelError("cannot bind %s to %s: %s" % (queue, exchange, exc)) \
                from exc

    def _put_fanout(self, exchange, payload, routing_key, **kwargs):
        for entry in self.get_table(exchange):
            self._put(entry[2], payload, **kwargs)

    def _put(self, queue, payload, **kwargs):
        try:
            write_atomically(self.data_folder_out, message_file_name(queue),
                             dumps(payload).encode("utf-8"))
        except OSError as exc:
            raise filesystem.ChannelError("cannot write a message of %s: %s" % (queue, exc)) \
                from exc

    def _claim(self, name):
        """The payload of message file ``name``, claimed; ``None`` if another
        reader took it first or it is not a message (then moved aside)."""
        claimed = os.path.join(self.claim_folder, "%d-%s" % (os.getpid(), name))
        try:
            os.rename(os.path.join(self.data_folder_in, name), claimed)
        except FileNotFoundError:
            return None  # another reader took it
        try:
            with open(claimed, "rb") as handle:
                payload = loads(handle.read().decode("utf-8"))
            if not isinstance(payload, dict):
                raise ValueError("not a kombu message")
        except ValueError as exc:  # never written by us: keep it aside, go on
            log.error("message file %s is not readable (%s); moved to %s", name, exc,
                      self.claim_folder)
            os.rename(claimed, os.path.join(self.claim_folder, CORRUPT_PREFIX + name))
            return None
        tag = payload.get("properties", {}).get("delivery_tag")
        if tag is None:
            os.unlink(claimed)
        else:
            self._claims[tag] = (claimed, name)
        return payload

    def _next_message(self, queues):
        """(queue, payload) of the oldest message of any of ``queues``; raises Empty.

        Claims the names of the last listing in order; lists the folder again
        when none is left (or none could be claimed), at most once a call."""
        wanted = frozenset(queues)
        pending = self._listed.get(wanted)
        listed_now = False
        while True:
            if not pending:
                if listed_now:
                    raise Empty()
                pending = self._listed[wanted] = collections.deque(
                    sorted(n for n in os.listdir(self.data_folder_in) if queue_of(n) in wanted))
                listed_now = True
                continue
            name = pending.popleft()
            payload = self._claim(name)
            if payload is not None:
                return queue_of(name), payload

    def _get(self, queue):
        return self._next_message((queue,))[1]

    def drain_events(self, timeout=None, callback=None):
        """Deliver one message of the consumed queues: the oldest of any of
        them, from one listing for all (kombu would list once per queue)."""
        callback = callback or self.connection._deliver
        if self._consumers and self.qos.can_consume():
            queue, payload = self._next_message(self._active_queues)
            return callback(payload, queue)
        raise Empty()

    def _size(self, queue):
        return sum(1 for name in os.listdir(self.data_folder_in) if queue_of(name) == queue)

    def _purge(self, queue):
        count = 0
        for name in os.listdir(self.data_folder_in):
            if queue_of(name) == queue:
                try:
                    os.unlink(os.path.join(self.data_folder_in, name))
                    count += 1
                except FileNotFoundError:
                    pass
        return count

    def _forget(self, tag):
        claim = self._claims.pop(tag, None)
        if claim is not None:
            try:
                os.unlink(claim[0])
            except FileNotFoundError:
                pass

    def basic_ack(self, delivery_tag, multiple=False):
        super().basic_ack(delivery_tag, multiple=multiple)
        self._forget(delivery_tag)

    def basic_reject(self, delivery_tag, requeue=False):
        super().basic_reject(delivery_tag, requeue=requeue)
        if not requeue:
            self._forget(delivery_tag)

    def _restore(self, message):
        claim = self._claims.pop(message.delivery_tag, None)
        if claim is None:
            return super()._restore(message)
        try:
            os.rename(claim[0], os.path.join(self.data_folder_in, claim[1]))
        except FileNotFoundError:
            pass


class Transport(filesystem.Transport):
    Channel = Channel

    def __init__(self, client, **kwargs):
        super().__init__(client, **kwargs)
        # kombu shares one in-memory state among all file-system connections
        # of a process; give each connection its own, so that a broker folder
        # never inherits what was declared for another one.
        self.state = virtual.BrokerState()
