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
from synnefo.db.models import Backend, Flavor, Image, User, VirtualMachine
from synnefo.logic import backend_stats, callbacks, errors, servers
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


def test_hung_backend_stalls_neither_creates_elsewhere_nor_dispatchers(stack):
    on_hung = make_vm(stack["hung"], stack["flavor"])
    building = make_vm(stack["good"], stack["flavor"], operstate="BUILD", action="CREATE",
                       task="BUILD")
    stalled, stalled_outcome = in_thread(lambda: servers.reboot("alice", on_hung.id))
    assert stack["hung_rapi"].accepted.wait(15), "the reboot never reached the hung cluster"

    def others():
        vm, _ = servers.create("alice", "elsewhere", stack["flavor"].id, "img1")
        applied = [callbacks.handle(op(building, 7, "success", "OP_INSTANCE_CREATE")),
                   callbacks.handle(op(on_hung, 8, "running", "OP_INSTANCE_REBOOT"))]
        return vm, applied

    worker, outcome = in_thread(others)
    worker.join(20)
    try:
        assert not worker.is_alive(), "a create elsewhere or a dispatcher write waited for Ganeti"
        assert "error" not in outcome, outcome.get("error")
        vm, applied = outcome["result"]
        assert vm.backend_id == stack["good"].id and applied == ["applied", "applied"]
        assert stalled.is_alive()  # still waiting for the hung cluster meanwhile
        assert len(stack["hung_rapi"].conns) == 1  # the create never asked it for stats
    finally:
        stack["hung_rapi"].release()
        stalled.join(20)
    assert isinstance(stalled_outcome.get("error"), errors.ServiceUnavailable)
    on_hung.refresh_from_db()
    assert on_hung.task is None and on_hung.backendjobid == 8  # the dispatcher's write kept
    building.refresh_from_db()
    assert building.operstate == "STARTED" and building.task is None


def test_create_on_a_hung_backend_gives_up_in_budget_and_leaks_nothing(stack, settings):
    settings.GANETI_RAPI_REQUEST_TIMEOUT = 1
    backends_mod.clear_client_cache()
    Backend.objects.filter(pk=stack["good"].pk).update(drained=True)
    before = Backend.objects.get(pk=stack["hung"].pk)
    free = free_ips(stack["hung_net"])
    with pytest.raises(errors.ServiceUnavailable):
        servers.create("alice", "doomed", stack["flavor"].id, "img1")
    assert len(stack["hung_rapi"].conns) == 1  # no retry on the request path
    vm = VirtualMachine.objects.get(name="doomed")
    assert vm.deleted and vm.operstate == "DESTROYED"
    after = Backend.objects.get(pk=stack["hung"].pk)
    assert (after.mfree, after.dfree, after.pinst_cnt) == (before.mfree, before.dfree,
                                                            before.pinst_cnt)
    assert free_ips(stack["hung_net"]) == free


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
