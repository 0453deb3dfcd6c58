"""snf-manage reconcile-networks and reconcile-pools."""

import json

import pytest
from django.db import transaction
from django.utils import timezone
from logic_helpers import make_backend
from reconcile_helpers import GanetiRapi, findings, ganeti_fixture, run_fixture  # noqa: F401 - fixtures
from synnefo.db.models import (
    BackendNetwork,
    BridgePoolTable,
    IPPoolTable,
    MacPrefixPoolTable,
    Network,
    NetworkInterface,
    VirtualMachine,
)
from synnefo.logic.pools import BridgePool, IPPool, MacPrefixPool
from synnefo.logic.utils import network_name

GROUPS = ["default", "rack2"]


@pytest.fixture
def backend(db, ganeti):
    ganeti.groups = list(GROUPS)
    return make_backend(updated=timezone.now())


def network(name="n", state="ACTIVE", **fields):
    fields.setdefault("userid", "alice")
    net = Network.objects.create(name=name, subnet="10.0.0.0/29", mac_prefix="aa:00:1", link="br0",
                                 type="PRIVATE_MAC_FILTERED", state=state, **fields)
    with transaction.atomic():
        IPPool.for_network(net).save()
    return net


def bnet(net, backend, operstate="ACTIVE", **fields):
    return BackendNetwork.objects.create(network=net, backend=backend, mac_prefix="aa:00:10",
                                         operstate=operstate, **fields)


def test_networks_in_sync(run, ganeti, backend):
    net = network()
    bnet(net, backend)
    ganeti.has(net)
    code, out, err = run("reconcile-networks")
    assert code == 0, out + err
    assert "1 network(s) checked; everything in sync" in out


def test_network_drift_detected_then_fixed(run, ganeti, backend):
    removed = network("removed")           # removed from Ganeti behind our back
    bnet(removed, backend)
    later = network("later")               # no BackendNetwork: a backend added later
    hanging = network("hanging")           # connected to one group of two
    bnet(hanging, backend)
    ganeti.has(hanging, groups=["default"])
    pending = network("pending", state="PENDING")  # its connect message was lost
    bnet(pending, backend, operstate="PENDING")
    ganeti.has(pending)
    stale = network("stale", action="DESTROY")     # removal message lost
    bnet(stale, backend)
    ganeti.nets[network_name(4242)] = {"name": network_name(4242), "group_list": []}  # orphan

    code, out, err = run("reconcile-networks", "--output", "json")
    assert code == 1, out + err
    found = findings(out)
    assert set(found) == {("missing", "network %s" % removed.id), ("missing", "network %s" % later.id),
                          ("hanging", "network %s" % hanging.id),
                          ("unsynced-state", "network %s" % pending.id),
                          ("stale", "network %s" % stale.id),
                          ("orphan", "Ganeti network %s" % network_name(4242))}, found
    assert not BackendNetwork.objects.filter(network=later).exists()  # detection writes nothing

    ganeti.calls.clear()
    code, out, err = run("reconcile-networks", "--fix-all", "--output", "json")
    assert code == 0, out + err
    assert {f["result"] for f in findings(out).values()} == {"fixed"}
    created = [c[2]["network_name"] for c in ganeti.calls if c[0] == "create_network"]
    assert sorted(created) == sorted([network_name(removed.id), network_name(later.id)])
    assert BackendNetwork.objects.filter(network=later, backend=backend).exists()
    connects = [(c[1][0], c[1][1]) for c in ganeti.calls if c[0] == "connect_network"]
    assert (network_name(hanging.id), "rack2") in connects
    assert (network_name(hanging.id), "default") not in connects
    assert Network.objects.get(pk=pending.pk).state == "ACTIVE"
    stale.refresh_from_db()
    assert stale.deleted and stale.state == "DELETED"
    assert any(c[0] == "delete_network" and c[1][0] == network_name(4242) for c in ganeti.calls)
    assert [c[1][0] for c in ganeti.calls if c[0] == "disconnect_network"] == [network_name(4242)] * 2


def test_network_being_deleted_still_used_in_ganeti(run, ganeti, backend):
    """A failed connect's NIC that Ganeti kept (the DB never had it) holds a
    deleted network in Ganeti: reconcile-networks removes the NIC, then the
    network, its disconnects waiting for the removal."""
    doomed = network("doomed", action="DESTROY")
    bnet(doomed, backend, backendjobid=90, backendjobstatus="error")
    ganeti.has(doomed)
    other = network("other")
    bnet(other, backend)
    ganeti.has(other)
    ganeti.instances["snf-7"] = {"name": "snf-7", "nic.ips": ["10.0.0.2", "10.0.0.3", "10.0.0.4"],
                                 "nic.networks.names": [network_name(other.id), network_name(doomed.id),
                                                        network_name(doomed.id)]}
    ganeti.instances["snf-8"] = {"name": "snf-8", "nic.ips": ["10.0.0.5"],
                                 "nic.networks.names": [network_name(other.id)]}

    code, out, err = run("reconcile-networks", "--output", "json")
    assert code == 1, out + err
    found = findings(out)[("undestroyed", "network %s" % doomed.id)]
    assert "used there by server 7" in found["details"]
    assert not [c for c in ganeti.calls if c[0] in ("modify_instance", "delete_network")]

    ganeti.calls.clear()
    code, out, err = run("reconcile-networks", "--fix-all", "--output", "json")
    assert code == 0, out + err
    assert findings(out)[("undestroyed", "network %s" % doomed.id)]["result"] == "fixed"
    submitted = [c for c in ganeti.calls if c[0] in ("modify_instance", "disconnect_network",
                                                     "delete_network")]
    (modify, args, kwargs) = submitted[0]
    assert (modify, args) == ("modify_instance", ("snf-7",))
    assert kwargs["nics"] == [["remove", 2, {}], ["remove", 1, {}]]
    removal = 100  # the fake's first job id
    disconnects = [c for c in submitted if c[0] == "disconnect_network"]
    assert [c[1] for c in disconnects] == [(network_name(doomed.id), g) for g in GROUPS]
    assert all(c[2]["depends"] == [[removal, ["success", "error", "canceled"]]] for c in disconnects)
    assert submitted[-1][0] == "delete_network" and submitted[-1][1] == (network_name(doomed.id),)
    assert not [c for c in submitted if network_name(other.id) in c[1]]


def test_network_being_deleted_waits_for_its_nics_in_the_database(run, ganeti, backend):
    """NIC rows still on a network marked DESTROY, gone from Ganeti: the
    dispatcher (or reconcile-servers) removes them first; nothing submitted."""
    doomed = network("doomed", action="DESTROY")
    bnet(doomed, backend, backendjobid=90, backendjobstatus="error")
    ganeti.has(doomed)
    vm_with_nic(backend, doomed, "10.0.0.2", "aa:00:10:00:00:01")
    code, out, err = run("reconcile-networks", "--fix-all", "--output", "json")
    assert code == 0, out + err
    assert not [c for c in ganeti.calls if c[0] in ("modify_instance", "delete_network")]


def test_network_unreachable_backend_exit_2(run, ganeti, backend, monkeypatch):
    network()

    def broken(*a, **k):
        from synnefo.rapi import GanetiApiError
        raise GanetiApiError("connection refused", None)
    monkeypatch.setattr(ganeti, "get_networks", broken)
    code, out, err = run("reconcile-networks")
    assert code == 2, out + err
    assert "did not answer" in out


def vm_with_nic(backend, net, ip, mac, index=0):
    from synnefo.db.models import Flavor
    flavor = Flavor.objects.get_or_create(cpu=1, ram=1024, disk=20, disk_template="drbd")[0]
    vm = VirtualMachine.objects.create(name="vm", userid="alice", backend=backend, flavor=flavor,
                                       imageid="img", operstate="STARTED")
    NetworkInterface.objects.create(machine=vm, network=net, index=index, ipv4=ip, mac=mac)
    return vm


def allocate(net, ip):
    with transaction.atomic():
        pool = IPPool.for_network(net)
        pool.reserve(ip)
        pool.save()


def pool_of(net):
    return IPPool(IPPoolTable.objects.get(network=net), net)


def test_ip_pool_leak_unreserved_and_conflict(run, ganeti, backend):
    net = network()
    bnet(net, backend)
    ganeti.has(net)
    allocate(net, "10.0.0.2")   # leaked: allocated, used by nothing
    vm_with_nic(backend, net, "10.0.0.3", "aa:00:10:00:00:03")  # in use, free in the pool
    vm_with_nic(backend, net, "10.0.0.4", "aa:00:10:00:00:04")
    vm_with_nic(backend, net, "10.0.0.4", "aa:00:10:00:00:05")  # conflict
    allocate(net, "10.0.0.4")
    code, out, err = run("reconcile-pools", "--output", "json")
    assert code == 1, out + err
    kinds = sorted(f["kind"] for f in json.loads(out))
    assert kinds == ["duplicate-ip", "leaked-ip", "unreserved-ip"], out
    code, out, err = run("reconcile-pools", "--fix", "--output", "json")
    assert code == 1  # the conflict cannot be fixed
    pool = pool_of(net)
    assert pool.is_available("10.0.0.2") and not pool.is_available("10.0.0.3")
    code, out, err = run("reconcile-networks", "--output", "json")
    assert [f["kind"] for f in json.loads(out)] == ["duplicate-ip"]


def test_ip_in_use_in_ganeti_only_is_not_freed(run, ganeti, backend):
    net = network()
    bnet(net, backend)
    ganeti.has(net)
    allocate(net, "10.0.0.5")
    ganeti.instances["snf-77"] = {"name": "snf-77", "nic.ips": ["10.0.0.5"],
                                  "nic.networks.names": [network_name(net.id)]}
    code, out, err = run("reconcile-pools", "--fix")
    assert code == 0, out + err
    assert not pool_of(net).is_available("10.0.0.5")


def test_in_flight_create_keeps_its_address(run, ganeti, backend):
    net = network()
    bnet(net, backend)
    from synnefo.db.models import Flavor
    flavor = Flavor.objects.create(cpu=1, ram=1024, disk=20, disk_template="drbd")
    VirtualMachine.objects.create(name="b", userid="alice", backend=backend, flavor=flavor,
                                  imageid="img", operstate="BUILD", task="BUILD")
    allocate(net, "10.0.0.2")
    code, out, err = run("reconcile-pools", "--fix")
    assert code == 1 and "in flight" in out
    assert not pool_of(net).is_available("10.0.0.2")


def test_address_of_a_pending_nic_is_in_use(run, ganeti, backend):
    """A connect whose NIC Ganeti has not reported yet holds its address
    (PendingNic): not a leak, never freed by --fix."""
    from synnefo.db.models import Flavor, PendingNic
    net = network()
    bnet(net, backend)
    ganeti.has(net)
    flavor = Flavor.objects.create(cpu=1, ram=1024, disk=20, disk_template="drbd")
    vm = VirtualMachine.objects.create(name="c", userid="alice", backend=backend, flavor=flavor,
                                       imageid="img", operstate="STOPPED")
    allocate(net, "10.0.0.3")
    PendingNic.objects.create(machine=vm, network=net, kind="CONNECT", ipv4="10.0.0.3")
    code, out, err = run("reconcile-pools", "--fix", "--output", "json")
    assert code == 0, out + err
    assert json.loads(out) == []
    assert not pool_of(net).is_available("10.0.0.3")


def test_bridge_and_mac_prefix_pools(run, ganeti, backend):
    BridgePoolTable.objects.create(size=4, base="prv")
    MacPrefixPoolTable.objects.create(size=16, base="aa:00:0")
    with transaction.atomic():
        bridges = BridgePool.locked()
        assert bridges.get() == "prv1"   # allocated for a network that is gone: leaked
        bridges.save()
        macs = MacPrefixPool.locked()
        macs.save()
    Network.objects.create(name="v1", subnet="10.1.0.0/29", type="PRIVATE_PHYSICAL_VLAN", link="prv2",
                           mac_prefix="aa:00:0", userid="alice")
    Network.objects.create(name="v2", subnet="10.2.0.0/29", type="PRIVATE_PHYSICAL_VLAN", link="prv2",
                           mac_prefix="aa:00:0", userid="alice")
    Network.objects.create(name="m1", subnet="10.3.0.0/29", type="PRIVATE_MAC_FILTERED", link="br0",
                           mac_prefix="aa:00:3", userid="alice")
    code, out, err = run("reconcile-pools", "--no-ganeti", "--output", "json")
    assert code == 1, out + err
    kinds = sorted((f["kind"], f["object"]) for f in json.loads(out))
    assert kinds == [("duplicate-bridge", "bridge pool"), ("leaked-bridge", "bridge pool"),
                     ("unreserved-bridge", "bridge pool"), ("unreserved-mac-prefix", "MAC-prefix pool")]
    code, out, err = run("reconcile-pools", "--no-ganeti", "--fix")
    with transaction.atomic():
        bridges = BridgePool.locked()
        assert bridges.is_available("prv1") and not bridges.is_available("prv2")
        assert not MacPrefixPool.locked().is_available("aa:00:3")
    code, out, err = run("reconcile-pools", "--no-ganeti", "--output", "json")
    assert [f["kind"] for f in json.loads(out)] == ["duplicate-bridge"]


@pytest.mark.parametrize("argv", [["reconcile-networks", "--backend-id", "x"],
                                  ["reconcile-networks", "--backend-id", "77"],
                                  ["reconcile-networks", "--output", "xml"],
                                  ["reconcile-pools", "--fix", "--bogus"]])
def test_bad_input_is_one_line_exit_2(run, ganeti, backend, argv):
    code, out, err = run(*argv)
    assert code == 2 and len(err.strip().splitlines()) == 1, (code, err)


def test_network_removed_from_one_backend_comes_back(run, ganeti, backend):
    """Removed from one of two backends (its removal message applied): the
    network lives on, so that backend gets it again."""
    other = make_backend("cluster2.example.org", updated=timezone.now())
    net = network(state="PENDING")
    bnet(net, other)
    gone = bnet(net, backend, operstate="DELETED", deleted=True)
    ganeti.has(net)
    ganeti.nets.clear()
    code, out, err = run("reconcile-networks", "--backend-id", str(backend.id), "--output", "json")
    assert code == 1 and set(findings(out)) == {("missing", "network %s" % net.id)}, out
    code, out, err = run("reconcile-networks", "--backend-id", str(backend.id), "--fix-all")
    assert code == 0, out + err
    gone.refresh_from_db()
    assert not gone.deleted and gone.operstate == "PENDING"
    assert any(c[0] == "create_network" and c[2]["network_name"] == network_name(net.id)
               for c in ganeti.calls)


def test_network_fix_refused_by_the_logic_is_a_failed_finding(run, ganeti, backend, monkeypatch):
    """A repair the logic refuses (get_rapi_client's ServiceUnavailable when
    the backend was set offline meanwhile) is reported as failed, not a
    traceback, and the other repairs still run."""
    from synnefo.logic import backends as backend_mod
    from synnefo.logic.errors import ServiceUnavailable
    doomed = network("doomed", action="DESTROY")
    bnet(doomed, backend)
    ganeti.has(doomed)
    hanging = network("hanging")
    bnet(hanging, backend)
    ganeti.has(hanging, groups=["default"])

    def refused(*args, **kwargs):
        raise ServiceUnavailable("Failed to delete network: backend offline")
    monkeypatch.setattr(backend_mod, "delete_network_on_backend", refused)
    code, out, err = run("reconcile-networks", "--fix-all", "--output", "json")
    found = findings(out)
    assert found[("undestroyed", "network %s" % doomed.id)]["result"] == "fix failed", out + err
    assert "backend offline" in found[("undestroyed", "network %s" % doomed.id)]["details"]
    assert found[("hanging", "network %s" % hanging.id)]["result"] == "fixed"
    assert code == 2, out + err   # a fix that failed is an error
