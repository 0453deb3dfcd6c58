"""The steady mixed load of the chaos suite, and the ledger of every request it made.

A few client threads, each with its own :class:`ComputeClient` and its own
servers and networks, loop over: server creates, start/stop/reboot, deletes,
network creates, connects, disconnects, network deletes and polls of
``/servers/detail``. Every request is written to the :class:`Ledger` with its
start and end time, the phase it belongs to and its outcome: the HTTP status,
``conn`` (no connection, or the connection broke) or ``timeout`` (no answer
in time). Creates are named uniquely, so the checker can count what each
one made.
"""

import random
import threading
import time
from dataclasses import dataclass, field

from synnefo.tools.client import ComputeClient
from synnefo.tools.client.errors import ApiFault, ConnectionFailed, UnexpectedAnswer

NAME_PREFIX = "chaos-"
SUCCESS = {"create": 202, "net-create": 202, "delete": 204, "net-delete": 204, "start": 202,
           "stop": 202, "reboot": 202, "connect": 202, "disconnect": 202, "poll": 200}
# Per thread: the live servers and networks it keeps around.
MAX_SERVERS, MAX_NETWORKS = 5, 2


@dataclass
class Request:
    op: str
    target: str        # the new object's name for creates, the object's id otherwise
    outcome: object    # an HTTP status (int), "conn" or "timeout"
    start: float       # time.monotonic()
    end: float
    phase: str
    created_id: str = None  # the id a 202 create answered

    @property
    def ok(self):
        return self.outcome == SUCCESS[self.op]


@dataclass
class Ledger:
    requests: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, request):
        with self.lock:
            self.requests.append(request)

    def snapshot(self):
        with self.lock:
            return list(self.requests)


def outcome_of(call):
    """Run ``call()``; ``(outcome, result)`` where outcome is the HTTP status,
    ``"conn"`` or ``"timeout"``."""
    try:
        return None, call()
    except ApiFault as exc:
        return exc.code, None
    except UnexpectedAnswer as exc:
        return exc.status, None
    except ConnectionFailed as exc:
        return ("timeout" if str(exc.reason).startswith("no answer") else "conn"), None


class Worker(threading.Thread):
    """One client: its own servers and networks, one request at a time."""

    def __init__(self, load, number):
        super().__init__(name=f"chaos-load-{number}", daemon=True)
        self.load = load
        self.number = number
        self.rng = random.Random(number * 7919 + 17)
        self.client = ComputeClient(load.api_url, load.token, timeout=load.timeout)
        self.servers = {}   # id -> last seen status
        self.nics = {}      # server id -> [(attachment id, network id)] on our private networks
        self.networks = set()
        self.serial = 0
        self.idle = threading.Event()  # set while paused between requests
        self.idle.set()

    # -- requests -----------------------------------------------------------
    def call(self, op, target, fn, *args):
        phase = self.load.phase
        start = time.monotonic()
        outcome, result = outcome_of(lambda: fn(*args))
        end = time.monotonic()
        if outcome is None:
            outcome = SUCCESS[op]
        request = Request(op, str(target), outcome, start, end, phase)
        if op in ("create", "net-create") and result is not None:
            request.created_id = str(result["id"])
        self.load.ledger.add(request)
        return request, result

    def next_name(self, kind):
        self.serial += 1
        return f"{NAME_PREFIX}{kind}{self.number}-{self.serial}-{self.load.phase}"

    # -- operations -----------------------------------------------------------
    def op_poll(self):
        request, servers = self.call("poll", "servers", self.client.list_servers, True)
        if servers is None:
            return
        by_id = {str(s["id"]): s for s in servers}
        for sid in list(self.servers):
            server = by_id.get(sid)
            if server is None:
                self.servers.pop(sid, None)
                self.nics.pop(sid, None)
                continue
            busy = bool(server.get("SNF:task_state"))
            self.servers[sid] = "BUSY" if busy else server["status"]
            self.nics[sid] = [(n["id"], str(n["network_id"]))
                              for n in (server.get("attachments") or {}).get("values", [])
                              if str(n["network_id"]) in self.networks]

    def op_create(self):
        name = self.next_name("vm")
        request, server = self.call("create", name, self.client.create_server, name,
                                    self.load.image, self.load.flavor)
        if request.ok:
            self.servers[request.created_id] = "BUILD"

    def op_action(self):
        ready = [(sid, st) for sid, st in self.servers.items() if st in ("ACTIVE", "STOPPED")]
        if not ready:
            return self.op_poll()
        sid, status = self.rng.choice(ready)
        if status == "STOPPED":
            op, fn = "start", self.client.start
        else:
            op, fn = self.rng.choice((("stop", self.client.shutdown), ("reboot", self.client.reboot)))
        request, _ = self.call(op, sid, fn, sid)
        if request.ok:
            self.servers[sid] = "BUSY"

    def op_delete(self):
        ready = [sid for sid, st in self.servers.items() if st in ("ACTIVE", "STOPPED", "ERROR")]
        if not ready:
            return self.op_poll()
        sid = self.rng.choice(ready)
        request, _ = self.call("delete", sid, self.client.delete_server, sid)
        if request.ok or request.outcome == 404:
            self.servers.pop(sid, None)
            self.nics.pop(sid, None)

    def op_net_create(self):
        name = self.next_name("net")
        request, _ = self.call("net-create", name, self.client.create_network, name)
        if request.ok:
            self.networks.add(request.created_id)

    def op_net_delete(self):
        used = {net for nics in self.nics.values() for _, net in nics}
        free = sorted(self.networks - used)
        if not free:
            return self.op_poll()
        net = self.rng.choice(free)
        request, _ = self.call("net-delete", net, self.client.delete_network, net)
        if request.ok or request.outcome == 404:
            self.networks.discard(net)

    def op_connect(self):
        ready = [sid for sid, st in self.servers.items()
                 if st in ("ACTIVE", "STOPPED") and len(self.nics.get(sid, ())) < 2]
        if not ready or not self.networks:
            return self.op_poll()
        sid, net = self.rng.choice(ready), self.rng.choice(sorted(self.networks))
        request, _ = self.call("connect", sid, self.client.connect, net, sid)
        if request.ok:
            self.servers[sid] = "BUSY"

    def op_disconnect(self):
        attached = [(sid, nic) for sid, nics in self.nics.items() for nic in nics
                    if self.servers.get(sid) in ("ACTIVE", "STOPPED")]
        if not attached:
            return self.op_poll()
        sid, (attachment, net) = self.rng.choice(attached)
        request, _ = self.call("disconnect", sid, self.client.disconnect, net, attachment)
        if request.ok:
            self.servers[sid] = "BUSY"
            self.nics[sid] = [n for n in self.nics[sid] if n[0] != attachment]

    def choose(self):
        live = len(self.servers)
        weights = {self.op_poll: 4, self.op_action: 4, self.op_connect: 1, self.op_disconnect: 1,
                   self.op_create: 3 if live < MAX_SERVERS else 0,
                   self.op_delete: 2 if live >= MAX_SERVERS - 2 else 0,
                   self.op_net_create: 1 if len(self.networks) < MAX_NETWORKS else 0,
                   self.op_net_delete: 1 if len(self.networks) >= MAX_NETWORKS else 0}
        ops = [op for op, w in weights.items() if w]
        return self.rng.choices(ops, [weights[op] for op in ops])[0]

    def run(self):
        while not self.load.stopped.is_set():
            if not self.load.running.wait(0.2):
                self.idle.set()
                continue
            self.idle.clear()
            self.choose()()
            self.load.stopped.wait(self.load.pause)
        self.idle.set()
        self.client.close()


class Load:
    """``threads`` client threads against ``api_url``; :meth:`resume` and
    :meth:`hold` start and pause them (a paused thread finishes its request)."""

    def __init__(self, api_url, token, image, flavor, threads=4, pause=0.15, timeout=15.0):
        self.api_url, self.token = api_url, token
        self.image, self.flavor = image, flavor
        self.pause, self.timeout = pause, timeout
        self.ledger = Ledger()
        self.phase = "setup"
        self.running = threading.Event()
        self.stopped = threading.Event()
        self.workers = [Worker(self, n + 1) for n in range(threads)]
        for worker in self.workers:
            worker.start()

    def resume(self, phase):
        self.phase = phase
        for worker in self.workers:
            worker.idle.clear()
        self.running.set()

    def hold(self, timeout=60):
        """Pause the threads; wait until each has finished its request."""
        self.running.clear()
        deadline = time.monotonic() + timeout
        for worker in self.workers:
            worker.idle.wait(max(0.1, deadline - time.monotonic()))

    def close(self):
        self.stopped.set()
        self.running.set()
        for worker in self.workers:
            worker.join(timeout=self.timeout + 5)
