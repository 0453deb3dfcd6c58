"""networks.create/rename/delete/connect/disconnect against a fake RAPI client."""

import pytest
from django.db import transaction
from logic_helpers import make_backend, rapi_error
from synnefo.db.models import BackendNetwork, MacPrefixPoolTable, Network, NetworkInterface, VirtualMachine
from synnefo.logic import errors, networks
from synnefo.logic.pools import IPPool


@pytest.fixture
def macpool(db):
    return MacPrefixPoolTable.objects.create(size=256, base="aa:00:0")


def test_create_private_network(world, rapi, macpool):
    offline = make_backend("offline.example.org", offline=True)
    net = networks.create("alice", "net1", "192.168.1.0/24", dhcp=True)
    assert (net.state, net.action, net.userid, net.public) == ("PENDING", "CREATE", "alice", False)
    assert net.mac_prefix == "aa:00:1" and net.link == "br0"
    bnets = list(BackendNetwork.objects.filter(network=net))
    assert [b.backend_id for b in bnets] == [world["backend"].id]  # not the offline backend
    assert bnets[0].mac_prefix == "aa:00:1%x" % world["backend"].index
    assert offline.id not in [b.backend_id for b in bnets]
    body = rapi.last("create_network")[2]
    assert body["network_name"] == "snf-net-%d" % net.id
    assert body["network"] == "192.168.1.0/24"
    assert body["mac_prefix"] == bnets[0].mac_prefix
    assert "network_type" not in body  # Ganeti 3.0's OpNetworkAdd has no such parameter
    assert body["conflicts_check"] is False
    assert body["tags"] == ["private-filtered", "nfdhcpd"]
    connect = rapi.last("connect_network")
    assert connect[1] == ("snf-net-%d" % net.id, "default", "bridged", "br0")
    assert connect[2]["depends"] == [[100, ["success"]]]
    with transaction.atomic():
        pool = IPPool.for_network(net)
        assert not pool.is_available("192.168.1.0") and not pool.is_available("192.168.1.255")
        assert pool.is_available("192.168.1.1")


def test_create_tags_not_accumulated(world, rapi, macpool, settings):
    before = list(settings.PRIVATE_MAC_FILTERED_TAGS)
    networks.create("alice", "a", "10.0.0.0/24")
    networks.create("alice", "b", "10.0.1.0/24")
    assert settings.PRIVATE_MAC_FILTERED_TAGS == before


@pytest.mark.parametrize("kwargs,exc", [
    ({"public": True}, errors.Forbidden),
    ({"net_type": "BOGUS"}, errors.BadRequest),
    ({"net_type": "CUSTOM_ROUTED"}, errors.Forbidden),
    ({"cidr": "garbage"}, errors.BadRequest),
    ({"cidr": "10.0.0.1/24"}, errors.BadRequest),
    ({"cidr": "10.0.0.0/22"}, errors.OverLimit),
    ({"cidr": "10.0.0.0/30"}, errors.OverLimit),
    ({"gateway": "10.9.9.9"}, errors.BadRequest),
    ({"cidr6": "nope"}, errors.BadRequest),
])
def test_create_validation(world, rapi, macpool, kwargs, exc):
    args = {"cidr": "10.0.0.0/24"}
    args.update(kwargs)
    with pytest.raises(exc):
        networks.create("alice", "n", **args)
    assert not Network.objects.filter(public=False).exists()


def test_create_limit_and_pool_exhausted(world, rapi, macpool, settings):
    settings.MAX_NETWORKS_PER_USER = 1
    networks.create("alice", "a", "10.0.0.0/24")
    with pytest.raises(errors.OverLimit):
        networks.create("alice", "b", "10.0.0.0/24")
    settings.MAX_NETWORKS_PER_USER = 10
    MacPrefixPoolTable.objects.all().delete()
    with pytest.raises(errors.ServiceUnavailable):
        networks.create("alice", "c", "10.0.0.0/24")


def _active_net(world, rapi, macpool, dhcp=True):
    net = networks.create("alice", "net", "10.0.0.0/29", dhcp=dhcp)
    BackendNetwork.objects.filter(network=net).update(operstate="ACTIVE")
    Network.objects.filter(pk=net.pk).update(state="ACTIVE")
    rapi.calls.clear()
    return Network.objects.get(pk=net.pk)


def _vm(world, **fields):
    values = {"name": "v", "userid": "alice", "backend": world["backend"], "flavor": world["flavor"],
              "imageid": "img1", "operstate": "STARTED"}
    values.update(fields)
    return VirtualMachine.objects.create(**values)


def test_connect(world, rapi, macpool):
    net = _active_net(world, rapi, macpool)
    vm = _vm(world)
    networks.connect("alice", net.id, vm.id)
    name, args, body = rapi.last("modify_instance")
    assert args == ("snf-%d" % vm.id,)
    assert body == {"nics": [["add", {"ip": "10.0.0.1", "network": "snf-net-%d" % net.id}]],
                    "hotplug": False}
    vm.refresh_from_db()
    assert vm.task == "CONNECT"
    # pending task -> refused
    with pytest.raises(errors.BadRequest):
        networks.connect("alice", net.id, vm.id)


def test_connect_rules(world, rapi, macpool):
    net = networks.create("alice", "net", "10.0.0.0/29")
    vm = _vm(world)
    with pytest.raises(errors.BuildInProgress):
        networks.connect("alice", net.id, vm.id)
    with pytest.raises(errors.Forbidden):
        networks.connect("alice", world["network"].id, vm.id)
    net = _active_net(world, rapi, macpool)
    with pytest.raises(errors.ItemNotFound):
        networks.connect("alice", net.id, _vm(world, userid="bob").id)
    with pytest.raises(errors.BadRequest):
        networks.connect("alice", net.id, _vm(world, deleted=True, operstate="DESTROYED").id)
    rapi.fail["modify_instance"] = rapi_error()
    with pytest.raises(errors.ServiceUnavailable):
        networks.connect("alice", net.id, vm.id)
    with transaction.atomic():
        assert IPPool.for_network(net).is_available("10.0.0.1")
    vm.refresh_from_db()
    assert vm.task is None


def test_connect_network_full(world, rapi, macpool):
    net = _active_net(world, rapi, macpool)
    for _ in range(6):
        networks.connect("alice", net.id, _vm(world).id)
    with pytest.raises(errors.OverLimit, match="full"):
        networks.connect("alice", net.id, _vm(world).id)


def test_disconnect(world, rapi, macpool):
    net = _active_net(world, rapi, macpool)
    vm = _vm(world)
    NetworkInterface.objects.create(machine=vm, network=world["network"], index=0, mac="aa:00:00:00:00:01")
    NetworkInterface.objects.create(machine=vm, network=net, index=1, mac="aa:00:00:00:00:02")
    other = _active_net(world, rapi, macpool)
    with pytest.raises(errors.BadRequest):
        networks.disconnect("alice", net.id, "junk")
    with pytest.raises(errors.ItemNotFound):
        networks.disconnect("alice", net.id, "nic-%d-7" % vm.id)
    with pytest.raises(errors.Forbidden):
        networks.disconnect("alice", net.id, "nic-%d-0" % vm.id)
    with pytest.raises(errors.BadRequest):
        networks.disconnect("alice", other.id, "nic-%d-1" % vm.id)
    networks.disconnect("alice", net.id, "nic-%d-1" % vm.id)
    assert rapi.last("modify_instance")[2] == {"nics": [["remove", 1, {}]], "hotplug": False}
    # only the NIC being removed is busy (issue 11 item 5)
    assert [(n.index, n.dirty) for n in NetworkInterface.objects.filter(machine=vm)] == [
        (0, False), (1, True)]
    vm.refresh_from_db()
    assert vm.task == "DISCONNECT"
    VirtualMachine.objects.filter(pk=vm.pk).update(task=None)
    with pytest.raises(errors.BuildInProgress, match="busy"):
        networks.disconnect("alice", net.id, "nic-%d-1" % vm.id)


def test_rename_and_delete(world, rapi, macpool):
    net = networks.create("alice", "net", "10.0.0.0/24")
    networks.rename("alice", net.id, "renamed")
    assert Network.objects.get(pk=net.pk).name == "renamed"
    with pytest.raises(errors.Forbidden):
        networks.rename("alice", world["network"].id, "x")
    with pytest.raises(errors.ItemNotFound):
        networks.rename("bob", net.id, "x")
    vm = _vm(world)
    nic = NetworkInterface.objects.create(machine=vm, network=net, index=1, mac="aa:00:00:00:00:03")
    with pytest.raises(errors.NetworkInUse):
        networks.delete("alice", net.id)
    nic.delete()
    rapi.calls.clear()
    networks.delete("alice", net.id)
    assert rapi.names() == ["get_groups", "disconnect_network", "delete_network"]
    assert rapi.last("delete_network")[2]["depends"][0][0] == 102
    assert Network.objects.get(pk=net.pk).action == "DESTROY"
    with pytest.raises(errors.Forbidden):
        networks.delete("alice", world["network"].id)


def test_delete_without_backends_marks_deleted_and_releases(world, rapi, macpool):
    from synnefo.logic.pools import MacPrefixPool
    net = networks.create("alice", "net", "10.0.0.0/24")
    BackendNetwork.objects.filter(network=net).delete()
    networks.delete("alice", net.id)
    net.refresh_from_db()
    assert net.deleted and net.state == "DELETED"
    with transaction.atomic():
        assert MacPrefixPool.locked().is_available(net.mac_prefix)


def test_create_no_backend_accepted_leaves_nothing(world, rapi, macpool):
    from synnefo.logic.pools import MacPrefixPool
    rapi.fail["create_network"] = rapi_error("OpPrereqError: bad subnet", 400)
    with pytest.raises(errors.ServiceUnavailable, match="bad subnet"):
        networks.create("alice", "net", "10.0.0.0/24")
    assert not Network.objects.filter(public=False).exists()
    assert not BackendNetwork.objects.filter(network__public=False).exists()
    with transaction.atomic():
        assert MacPrefixPool.locked().is_available("aa:00:1")  # the prefix is back
    # a create accepted whose connect was refused: the network exists in Ganeti
    rapi.fail = {"connect_network": rapi_error("OpPrereqError: no group", 400)}
    net = networks.create("alice", "net", "10.0.0.0/24")
    assert Network.objects.filter(pk=net.pk).exists()
    assert BackendNetwork.objects.get(network=net).backendjobid is not None
    # a lost answer is not a refusal: the network may exist in Ganeti, so it stays
    from synnefo.rapi.errors import GanetiConnectionError
    rapi.fail["create_network"] = GanetiConnectionError("timed out", timed_out=True,
                                                        may_have_reached=True)
    net = networks.create("alice", "net", "10.0.0.0/24")
    assert net.state == "PENDING"
    assert "timed out" in BackendNetwork.objects.get(network=net).backendlogmsg


def test_create_without_online_backend(world, rapi, macpool):
    world["backend"].offline = True
    world["backend"].save()
    with pytest.raises(errors.ServiceUnavailable, match="no backend"):
        networks.create("alice", "net", "10.0.0.0/24")
    assert not Network.objects.filter(public=False).exists()


@pytest.mark.parametrize("net_type,pool_type", [("PRIVATE_MAC_FILTERED", "mac-prefix"),
                                                ("PRIVATE_PHYSICAL_VLAN", "bridge")])
def test_missing_pool_is_named(world, rapi, net_type, pool_type):
    with pytest.raises(errors.ServiceUnavailable) as info:
        networks.create("alice", "net", "10.0.0.0/24", net_type=net_type)
    assert "no %s pool is configured" % ("MAC prefix" if pool_type == "mac-prefix" else "bridge") \
        in info.value.message
    assert "snf-manage pool-create --type %s" % pool_type in info.value.message
    assert not Network.objects.filter(public=False).exists()


def test_failed_create_is_error_deletable_and_not_counted(world, rapi, macpool, settings):
    from dispatcher_helpers import network_msg
    from synnefo.logic import callbacks
    world["user"].max_networks = 1
    world["user"].save()
    net = networks.create("alice", "net", "10.0.0.0/24")
    create_job = BackendNetwork.objects.get(network=net).backendjobid
    callbacks.handle(network_msg(net.id, "OP_NETWORK_ADD", "error", create_job, 5,
                                 logmsg="OpPrereqError: prefix in use"))
    callbacks.handle(network_msg(net.id, "OP_NETWORK_CONNECT", "error", create_job + 1, 6,
                                 logmsg="Dependency job failed"))
    net.refresh_from_db()
    assert net.state == "ERROR"
    # not counted against the limit: the user can create another one
    networks.create("alice", "other", "10.0.1.0/24")
    # and it can be deleted: Ganeti's removal of a network it never had fails,
    # which ends the ERROR network
    networks.delete("alice", net.id)
    delete_job = rapi.last("delete_network")
    callbacks.handle(network_msg(net.id, "OP_NETWORK_REMOVE", "error", 900, 7,
                                 logmsg="Network not found"))
    net.refresh_from_db()
    assert (net.state, net.deleted) == ("DELETED", True)
    assert delete_job[1] == ("snf-net-%d" % net.id,)


def test_connect_failure_marks_pending_network_error(world, rapi, macpool):
    from dispatcher_helpers import network_msg
    from synnefo.logic import callbacks
    net = networks.create("alice", "net", "10.0.0.0/24")
    job = BackendNetwork.objects.get(network=net).backendjobid
    callbacks.handle(network_msg(net.id, "OP_NETWORK_ADD", "success", job, 5))
    callbacks.handle(network_msg(net.id, "OP_NETWORK_CONNECT", "error", job + 1, 6,
                                 logmsg="link br9 missing"))
    net.refresh_from_db()
    bnet = BackendNetwork.objects.get(network=net)
    assert (net.state, bnet.operstate, bnet.backendlogmsg) == ("ERROR", "ERROR", "link br9 missing")
