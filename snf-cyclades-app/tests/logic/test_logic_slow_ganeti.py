"""A cluster whose RAPI port accepts connections and never answers stalls
nothing but the request that talks to it: creates placed on the other
backends and the dispatchers' writes (on the same server too) go on, on every
database; the stalled request gives up within the request budget, without
retrying, and leaves nothing behind."""

import socket
import threading

import pytest
from django.db import connections, transaction
from django.utils import timezone
from logic_helpers import FakeRapi, make_backend, make_public_network
from synnefo.db.models import (
    Backend,
    BackendNetwork,
    Flavor,
    Image,
    Network,
    NetworkInterface,
    PendingNic,
    User,
    VirtualMachine,
)
from synnefo.logic import backend_stats, callbacks, errors, networks, outcome, servers
from synnefo.logic import backends as backends_mod
from synnefo.logic.pools import IPPool

pytestmark = pytest.mark.django_db(transaction=True)

STATS = {"mfree": 8000, "mtotal": 16000, "dfree": 500000, "dtotal": 1000000, "pinst_cnt": 2,
         "ctotal": 8}


class HungRapi:
    """Accepts TCP connections and never answers until :meth:`release`."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.accepted = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            self.accepted.set()

    def release(self):
        try:  # wakes the blocked accept() and stops listening: later connections are refused
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for conn in self.conns:
            conn.close()


def in_thread(target):
    """Run ``target`` in a thread (its own DB connection); ``(thread, outcome)``."""
    outcome = {}

    def run():
        try:
            outcome["result"] = target()
        except Exception as exc:  # noqa: BLE001 - recorded for the assertions
            outcome["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


@pytest.fixture
def stack(settings, monkeypatch):
    """``good``: a backend behind a fake RAPI; ``hung``: a backend whose RAPI
    never answers, with stale statistics (so an allocator that refreshed them
    in the create would ask it)."""
    settings.GANETI_RAPI_TIMEOUT = 60
    settings.GANETI_RAPI_REQUEST_TIMEOUT = 60  # in flight until the test releases it
    hung_rapi = HungRapi()
    fake = FakeRapi()
    User.objects.create(uniq="alice")
    flavor = Flavor.objects.create(cpu=1, ram=1024, disk=20, disk_template="drbd")
    Image.objects.create(id="img1", name="Debian", location="pithos://a/c/debian", public=True,
                         properties={})
    good = make_backend("good.example.org", updated=timezone.now(), **STATS)
    hung = make_backend("127.0.0.1", port=hung_rapi.port, ssl_verify=False,
                        updated=timezone.now() - timezone.timedelta(days=1),
                        **dict(STATS, mfree=2000))
    make_public_network(good)
    hung_net = make_public_network(hung, subnet="198.51.100.0/29", gateway="198.51.100.1")
    real = backends_mod.get_rapi_client

    def get_client(backend):
        return fake if backend.pk == good.pk else real(backend)

    monkeypatch.setattr(backends_mod, "get_rapi_client", get_client)
    monkeypatch.setattr(servers, "get_rapi_client", get_client)
    yield {"good": good, "hung": hung, "hung_rapi": hung_rapi, "fake": fake, "flavor": flavor,
           "hung_net": hung_net}
    hung_rapi.release()
    backends_mod.clear_client_cache()


def make_vm(backend, flavor, **fields):
    values = {"name": "v", "userid": "alice", "backend": backend, "flavor": flavor,
              "imageid": "img1", "operstate": "STARTED"}
    values.update(fields)
    return VirtualMachine.objects.create(**values)


def free_ips(network):
    with transaction.atomic():
        return IPPool.for_network(network).count_available()


def op(vm, job_id, status, opcode):
    return {"type": "ganeti-op-status", "instance": "snf-%d" % vm.id, "operation": opcode,
            "jobId": job_id, "status": status, "event_time": [2000000000, 0]}


def others_go_on(stack, stalled, messages):
    """While the ``stalled`` request waits for the hung cluster, a create on
    the good backend and the dispatchers' writes of ``messages`` complete;
    then the hung cluster is released and ``stalled`` ends."""
    def others():
        vm, _ = servers.create("alice", "elsewhere", stack["flavor"].id, "img1")
        return vm, [callbacks.handle(message) for message in messages]

    worker, outcome = in_thread(others)
    worker.join(20)
    try:
        assert not worker.is_alive(), "a create elsewhere or a dispatcher write waited for Ganeti"
        assert "error" not in outcome, outcome.get("error")
        vm, applied = outcome["result"]
        assert vm.backend_id == stack["good"].id and applied == ["applied"] * len(messages)
        assert stalled.is_alive()  # still waiting for the hung cluster meanwhile
        assert len(stack["hung_rapi"].conns) == 1  # the create never asked it for stats
    finally:
        stack["hung_rapi"].release()
        stalled.join(20)


def test_hung_backend_stalls_neither_creates_elsewhere_nor_dispatchers(stack):
    on_hung = make_vm(stack["hung"], stack["flavor"])
    building = make_vm(stack["good"], stack["flavor"], operstate="BUILD", action="CREATE",
                       task="BUILD")
    stalled, stalled_outcome = in_thread(lambda: servers.reboot("alice", on_hung.id))
    assert stack["hung_rapi"].accepted.wait(15), "the reboot never reached the hung cluster"

    others_go_on(stack, stalled, [op(building, 7, "success", "OP_INSTANCE_CREATE"),
                                  op(on_hung, 8, "running", "OP_INSTANCE_REBOOT")])
    assert isinstance(stalled_outcome.get("error"), errors.ServiceUnavailable)
    on_hung.refresh_from_db()
    assert on_hung.task is None and on_hung.backendjobid == 8  # the dispatcher's write kept
    building.refresh_from_db()
    assert building.operstate == "STARTED" and building.task is None


def make_private_network(backend):
    network = Network.objects.create(name="private", userid="alice", subnet="10.0.0.0/29",
                                     type="PRIVATE_MAC_FILTERED", mac_prefix="aa:00:1",
                                     state="ACTIVE", dhcp=True)
    with transaction.atomic():
        IPPool.for_network(network).save()
    BackendNetwork.objects.create(network=network, backend=backend, mac_prefix="aa:00:1",
                                  operstate="ACTIVE")
    return network


def network_op(network, backend, job_id, status):
    return {"type": "ganeti-network-status", "network": "snf-net-%d" % network.id,
            "operation": "OP_NETWORK_CONNECT", "status": status, "jobId": job_id, "logmsg": None,
            "cluster": backend.clustername, "event_time": [2000000000, 0], "subnet": None,
            "gateway": None, "group_name": None}


@pytest.mark.parametrize("change", ["CONNECT", "DISCONNECT"])
def test_nic_change_on_a_hung_backend_stalls_nothing_else(stack, change):
    """A connect or disconnect waiting for the hung cluster holds neither the
    server's nor the network's row (nor SQLite's write lock): the dispatchers
    write to both, and a create elsewhere completes, meanwhile."""
    on_hung = make_vm(stack["hung"], stack["flavor"])
    network = make_private_network(stack["hung"])
    NetworkInterface.objects.create(machine=on_hung, network=stack["hung_net"], index=0,
                                    mac="aa:00:01:00:00:01", ipv4="198.51.100.2")
    NetworkInterface.objects.create(machine=on_hung, network=network, index=1,
                                    mac="aa:00:10:00:00:01")
    building = make_vm(stack["good"], stack["flavor"], operstate="BUILD", action="CREATE",
                       task="BUILD")
    if change == "CONNECT":
        call = lambda: networks.connect("alice", network.id, on_hung.id)  # noqa: E731
    else:
        call = lambda: networks.disconnect("alice", network.id, "nic-%d-1" % on_hung.id)  # noqa: E731
    stalled, stalled_outcome = in_thread(call)
    assert stack["hung_rapi"].accepted.wait(15), "the change never reached the hung cluster"
    on_hung.refresh_from_db()
    assert on_hung.task == change  # committed before Ganeti was asked: the next GET shows it

    others_go_on(stack, stalled, [op(building, 7, "success", "OP_INSTANCE_CREATE"),
                                  op(on_hung, 8, "running", "OP_INSTANCE_REBOOT"),
                                  network_op(network, stack["hung"], 9, "running")])
    # The TLS handshake never ended: closed, the request failed (refused, or
    # lost if the connection was reset: no job of it is found either way).
    assert isinstance(stalled_outcome.get("error"), errors.ServiceUnavailable), stalled_outcome
    unknown = isinstance(stalled_outcome["error"], outcome.OutcomeUnknown)
    on_hung.refresh_from_db()
    assert on_hung.task is None and on_hung.backendjobid == 8  # the dispatcher's write kept
    assert BackendNetwork.objects.get(network=network).backendjobid == 9
    assert not NetworkInterface.objects.filter(machine=on_hung, dirty=True).exists()
    if change == "CONNECT" and unknown:  # the address is kept for reconciliation, never guessed
        pending = PendingNic.objects.get(machine=on_hung)
        assert (pending.ipv4, pending.job_id, free_ips(network)) == ("10.0.0.1", None, 5)
    else:  # the connect's address is back
        assert not PendingNic.objects.filter(machine=on_hung).exists() and free_ips(network) == 6


def test_create_on_a_hung_backend_gives_up_in_budget_without_guessing(stack, settings):
    """The create gives up within the request budget, without retrying: the
    POST, then one look at the job list (its answer was lost, so Ganeti may
    have the job). Nothing found, the server stays in BUILD with its address
    and its place on the backend for reconciliation (``synnefo.logic.outcome``),
    never undone blindly."""
    settings.GANETI_RAPI_REQUEST_TIMEOUT = 1
    backends_mod.clear_client_cache()
    Backend.objects.filter(pk=stack["good"].pk).update(drained=True)
    free = free_ips(stack["hung_net"])
    vm, _ = servers.create("alice", "unknown", stack["flavor"].id, "img1")
    assert len(stack["hung_rapi"].conns) == 2  # POST /2/instances, GET /2/jobs: no retry
    vm.refresh_from_db()
    assert (vm.backend_id, vm.operstate, vm.deleted, vm.task) == (stack["hung"].id, "BUILD", False,
                                                                 "BUILD")
    assert "reconciliation" in vm.backendlogmsg
    assert PendingNic.objects.get(machine=vm).ipv4 not in (None, "pool")
    assert free_ips(stack["hung_net"]) == free - 1


def test_stats_refresh_of_a_hung_backend_is_off_the_request_path(stack, settings):
    """The dispatchers' refresher asks the hung cluster in a thread of its
    own; the good backend's statistics are refreshed all the same."""
    settings.GANETI_RAPI_TIMEOUT = 1
    backends_mod.clear_client_cache()
    Backend.objects.filter(pk=stack["good"].pk).update(
        updated=timezone.now() - timezone.timedelta(days=1), mtotal=0)
    stop = threading.Event()
    refresher = backend_stats.StatsRefresher(stop, interval=3600)
    refresher.run_once()
    good = Backend.objects.get(pk=stack["good"].pk)
    assert good.mtotal == 16000 and refresher.passes == 1
    assert Backend.objects.get(pk=stack["hung"].pk).mtotal == STATS["mtotal"]  # unchanged
