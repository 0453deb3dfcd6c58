"""No address lost (issue 10 item 5): the address taken for a create or a
connect is a PendingNic until Ganeti reports the NIC, and goes back to its
pool when the job fails or is canceled, or the server goes first; a request
whose answer was lost is never undone blindly."""

import pytest
from dispatcher_helpers import net, op
from django.db import transaction
from logic_helpers import rapi_error
from synnefo.db.models import (
    BackendNetwork,
    MacPrefixPoolTable,
    Network,
    NetworkInterface,
    PendingNic,
    VirtualMachine,
)
from synnefo.logic import callbacks, errors, networks, servers
from synnefo.logic.pools import IPPool
from synnefo.rapi.errors import GanetiConnectionError

PUBLIC_FREE = ["192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5", "192.0.2.6"]


@pytest.fixture
def macpool(db):
    return MacPrefixPoolTable.objects.create(size=256, base="aa:00:0")


def _free(pool):
    return [pool.value_of(i) for i in range(pool.size) if "." == pool.to_map()[i]]


def create(world):
    vm, _ = servers.create("alice", "vm", world["flavor"].id, "img1")
    return vm


def lost_answer():
    return GanetiConnectionError("timed out talking to Ganeti RAPI: POST /2/instances",
                                 timed_out=True, may_have_reached=True)


def nic(network, ip, mac):
    return {"mac": mac, "ip": ip, "network": "snf-net-%d" % network.pk}


def test_failed_creates_give_every_address_back(world, rapi):
    public = world["network"]
    world["user"].max_vms = 100
    world["user"].save()
    for attempt, status in enumerate(["error", "canceled"] * 5):
        vm = create(world)
        pending = PendingNic.objects.get(machine=vm)
        assert (pending.kind, pending.ipv4, pending.job_id) == ("CREATE", "192.0.2.2", vm.backendjobid)
        assert "192.0.2.2" not in _free_of(public)
        callbacks.handle(op(vm.pk, "OP_INSTANCE_CREATE", status, vm.backendjobid, 10 + attempt,
                            logmsg="OpPrereqError: no space"))
        assert VirtualMachine.objects.get(pk=vm.pk).operstate == "ERROR"
        assert not PendingNic.objects.filter(machine=vm).exists()
        assert _free_of(public) == PUBLIC_FREE  # ten failed builds, the /29 still full of addresses


def _free_of(network):
    with transaction.atomic():
        return _free(IPPool.for_network(Network.objects.get(pk=network.pk)))


def test_reported_nic_takes_over_the_address(world, rapi):
    public = world["network"]
    vm = create(world)
    callbacks.handle(net(vm.pk, [nic(public, "192.0.2.2", "aa:00:00:00:00:01")], 5))
    assert not PendingNic.objects.filter(machine=vm).exists()
    assert NetworkInterface.objects.get(machine=vm).ipv4 == "192.0.2.2"
    # a create error arriving after (reordered) gives nothing back twice
    callbacks.handle(op(vm.pk, "OP_INSTANCE_CREATE", "error", vm.backendjobid, 6))
    assert "192.0.2.2" not in _free_of(public)


def test_server_removed_before_its_nic_was_reported(world, rapi):
    public = world["network"]
    vm = create(world)
    VirtualMachine.objects.filter(pk=vm.pk).update(operstate="ERROR", task=None)
    callbacks.handle(op(vm.pk, "OP_INSTANCE_REMOVE", "success", 900, 7))
    assert VirtualMachine.objects.get(pk=vm.pk).deleted
    assert not PendingNic.objects.filter(machine=vm).exists()
    assert _free_of(public) == PUBLIC_FREE


def test_refused_create_submission_releases_everything(world, rapi):
    rapi.fail["create_instance"] = rapi_error("bad request", 400)
    with pytest.raises(errors.ServiceUnavailable):
        create(world)
    assert not PendingNic.objects.exists()
    assert _free_of(world["network"]) == PUBLIC_FREE


def test_lost_create_answer_found_in_the_job_list(world, rapi):
    rapi.fail["create_instance"] = lost_answer()

    def jobs_of_others():  # the server being created is the newest row
        vm_id = VirtualMachine.objects.latest("id").id
        return [{"id": 41, "summary": ["INSTANCE_STARTUP(snf-%d)" % vm_id]},
                {"id": 42, "summary": ["INSTANCE_CREATE(snf-%d)" % (vm_id + 100)]}]

    rapi.job_list = jobs_of_others
    vm = create(world)  # no such create job: kept for reconciliation
    vm.refresh_from_db()
    assert (vm.operstate, vm.deleted, vm.task, vm.backendjobid) == ("BUILD", False, "BUILD", None)
    assert "reconciliation" in vm.backendlogmsg
    assert vm.diagnostics.get().source == "create-submit"
    assert PendingNic.objects.get(machine=vm).ipv4 == "192.0.2.2"
    assert "192.0.2.2" not in _free_of(world["network"])  # never handed to the next server
    rapi.job_list = lambda: [{"id": 43, "summary": ["INSTANCE_CREATE(snf-%d)"
                                                    % VirtualMachine.objects.latest("id").id]}]
    other = create(world)
    other.refresh_from_db()
    assert (other.backendjobid, other.task_job_id) == (43, 43)
    assert PendingNic.objects.get(machine=other).ipv4 == "192.0.2.3"
    assert PendingNic.objects.get(machine=other).job_id == 43


def test_connection_refused_is_undone(world, rapi):
    rapi.fail["create_instance"] = GanetiConnectionError("cannot connect to Ganeti RAPI")
    with pytest.raises(errors.ServiceUnavailable):
        create(world)
    assert VirtualMachine.objects.get().deleted
    assert _free_of(world["network"]) == PUBLIC_FREE


def _active_net(world, rapi, dhcp=True):
    network = networks.create("alice", "net", "10.0.0.0/29", dhcp=dhcp)
    BackendNetwork.objects.filter(network=network).update(operstate="ACTIVE")
    Network.objects.filter(pk=network.pk).update(state="ACTIVE")
    return Network.objects.get(pk=network.pk)


def _started(world):
    return VirtualMachine.objects.create(name="v", userid="alice", backend=world["backend"],
                                         flavor=world["flavor"], imageid="img1", operstate="STARTED")


@pytest.mark.parametrize("status", ["error", "canceled"])
def test_refused_connect_gives_the_address_back_with_ganetis_reason(world, rapi, macpool, status):
    network = _active_net(world, rapi)
    vm = _started(world)
    for attempt in range(8):  # more than the /29 holds
        networks.connect("alice", network.id, vm.id)
        vm.refresh_from_db()
        pending = PendingNic.objects.get(machine=vm)
        assert (pending.kind, pending.ipv4, pending.job_id) == ("CONNECT", "10.0.0.1", vm.task_job_id)
        with pytest.raises(errors.NetworkInUse, match="being connected"):
            networks.delete("alice", network.id)
        reason = "OpPrereqError: Error checking bridges on node node1: Missing bridges br0"
        callbacks.handle(op(vm.pk, "OP_INSTANCE_SET_PARAMS", status, vm.task_job_id, 20 + attempt,
                            logmsg=reason))
        vm.refresh_from_db()
        assert vm.task is None and vm.operstate == "STARTED"
        assert not PendingNic.objects.filter(machine=vm).exists()
        assert _free_of(network) == ["10.0.0.%d" % i for i in range(1, 7)]
    assert reason in vm.diagnostics.last().message
    assert vm.diagnostics.last().level == "ERROR"
    networks.delete("alice", network.id)  # nothing pending any more


def test_connect_reported_then_disconnect_fails_cleanly(world, rapi, macpool):
    public, network = world["network"], _active_net(world, rapi)
    vm = _started(world)
    callbacks.handle(net(vm.pk, [nic(public, "192.0.2.6", "aa:00:00:00:00:01")], 1))
    networks.connect("alice", network.id, vm.id)
    vm.refresh_from_db()
    callbacks.handle(op(vm.pk, "OP_INSTANCE_SET_PARAMS", "success", vm.task_job_id, 2))
    assert PendingNic.objects.filter(machine=vm).exists()  # until the hook reports it
    callbacks.handle(net(vm.pk, [nic(public, "192.0.2.6", "aa:00:00:00:00:01"),
                                 nic(network, "10.0.0.1", "aa:00:01:00:00:02")], 3))
    assert not PendingNic.objects.filter(machine=vm).exists()
    assert "10.0.0.1" not in _free_of(network)
    networks.disconnect("alice", network.id, "nic-%d-1" % vm.id)
    vm.refresh_from_db()
    callbacks.handle(op(vm.pk, "OP_INSTANCE_SET_PARAMS", "error", vm.task_job_id, 4,
                        logmsg="OpExecError: hotplug failed"))
    # the failed removal leaves no NIC busy: the next disconnect is accepted
    assert not NetworkInterface.objects.filter(machine=vm, dirty=True).exists()
    networks.disconnect("alice", network.id, "nic-%d-1" % vm.id)


def test_connect_without_address_is_pending_too(world, rapi, macpool):
    network = _active_net(world, rapi, dhcp=False)
    vm = _started(world)
    networks.connect("alice", network.id, vm.id)
    assert PendingNic.objects.get(machine=vm).ipv4 is None
    with pytest.raises(errors.NetworkInUse):
        networks.delete("alice", network.id)
    callbacks.handle(net(vm.pk, [nic(network, None, "aa:00:01:00:00:09")], 3))
    assert not PendingNic.objects.exists()


def test_lost_connect_answer(world, rapi, macpool):
    network = _active_net(world, rapi)
    vm = _started(world)
    rapi.fail["modify_instance"] = lost_answer()
    rapi.job_list = [{"id": 77, "summary": ["INSTANCE_SET_PARAMS(snf-%d)" % vm.id]}]
    networks.connect("alice", network.id, vm.id)  # found: as if answered
    vm.refresh_from_db()
    assert (vm.task, vm.task_job_id) == ("CONNECT", 77)
    assert PendingNic.objects.get(machine=vm).job_id == 77
    callbacks.handle(op(vm.pk, "OP_INSTANCE_SET_PARAMS", "error", 77, 5))
    rapi.job_list = []
    with pytest.raises(errors.ServiceUnavailable, match="reconciliation"):
        networks.connect("alice", network.id, vm.id)  # not found: kept, never guessed
    pending = PendingNic.objects.get(machine=vm)
    assert (pending.ipv4, pending.job_id) == ("10.0.0.1", None)
    assert "10.0.0.1" not in _free_of(network)
    vm.refresh_from_db()
    assert vm.task is None


# --- connect / disconnect submit with no lock held (issue 11 item 2) ----------

def _two_nics(world, network):
    vm = _started(world)
    NetworkInterface.objects.create(machine=vm, network=world["network"], index=0,
                                    mac="aa:00:00:00:00:01", ipv4="192.0.2.6")
    NetworkInterface.objects.create(machine=vm, network=network, index=1, mac="aa:00:01:00:00:02")
    NetworkInterface.objects.create(machine=vm, network=network, index=2, mac="aa:00:01:00:00:03",
                                    dirty=True)  # another change of it is on its way
    return vm


def _dirty(vm):
    return [n.index for n in NetworkInterface.objects.filter(machine=vm, dirty=True).order_by("index")]


@pytest.mark.parametrize("failure", ["refused", "offline", "bug"])
def test_failed_nic_submission_undoes_exactly_what_it_recorded(world, rapi, macpool, failure):
    network = _active_net(world, rapi)
    vm = _two_nics(world, network)
    VirtualMachine.objects.filter(pk=vm.pk).update(action="START", backendjobid=9,
                                                   backendjobstatus="success")
    seen = []

    def modify_instance(name, **body):  # what the next GET shows while Ganeti is asked
        seen.append((VirtualMachine.objects.get(pk=vm.pk).task, _dirty(vm),
                     list(PendingNic.objects.filter(machine=vm).values_list("ipv4", flat=True))))
        if failure == "bug":
            raise RuntimeError("unexpected")
        raise rapi_error("refused")

    rapi.modify_instance = modify_instance
    if failure == "offline":
        world["backend"].offline = True
        world["backend"].save()
    expected = RuntimeError if failure == "bug" else errors.ServiceUnavailable
    with pytest.raises(expected):
        networks.connect("alice", network.id, vm.id)
    with pytest.raises(expected):
        networks.disconnect("alice", network.id, "nic-%d-1" % vm.id)
    if failure != "offline":
        assert seen == [("CONNECT", [2], ["10.0.0.1"]), ("DISCONNECT", [1, 2], [])]
    vm.refresh_from_db()
    assert (vm.task, vm.task_job_id, vm.action, vm.backendjobid) == (None, None, "START", 9)
    assert not PendingNic.objects.exists()
    assert _free_of(network) == ["10.0.0.%d" % i for i in range(1, 7)]
    assert _dirty(vm) == [2]  # the other change's mark is left alone


def test_reboot_on_an_offline_backend_puts_the_task_back(world, rapi):
    vm = _started(world)
    world["backend"].offline = True
    world["backend"].save()
    with pytest.raises(errors.ServiceUnavailable):
        servers.reboot("alice", vm.id)
    vm.refresh_from_db()
    assert vm.task is None


def test_lost_disconnect_answer_not_found_leaves_the_nic_clean(world, rapi, macpool):
    network = _active_net(world, rapi)
    vm = _two_nics(world, network)
    rapi.fail["modify_instance"] = lost_answer()
    with pytest.raises(errors.ServiceUnavailable, match="reconciliation"):
        networks.disconnect("alice", network.id, "nic-%d-1" % vm.id)
    vm.refresh_from_db()
    assert vm.task is None and _dirty(vm) == [2]  # a removal that happens is reported anyway
    rapi.job_list = [{"id": 78, "summary": ["INSTANCE_SET_PARAMS(snf-%d)" % vm.id]}]
    networks.disconnect("alice", network.id, "nic-%d-1" % vm.id)  # found: as if answered
    vm.refresh_from_db()
    assert (vm.task, vm.task_job_id, _dirty(vm)) == ("DISCONNECT", 78, [1, 2])


@pytest.mark.parametrize("status", ["error", "success"])
def test_connect_job_ending_before_its_id_is_recorded(world, rapi, macpool, status):
    """The dispatcher may see the job end between the submission and the
    recording of its id: a failed connect still gives its address back, a
    successful one ends its task."""
    network = _active_net(world, rapi)
    vm = _started(world)
    submit = rapi.modify_instance

    def modify_instance(name, **body):
        job_id = submit(name, **body)
        callbacks.handle(op(vm.pk, "OP_INSTANCE_SET_PARAMS", status, job_id, 3))
        return job_id

    rapi.modify_instance = modify_instance
    networks.connect("alice", network.id, vm.id)
    vm.refresh_from_db()
    assert (vm.task, vm.task_job_id) == (None, None)
    if status == "error":
        assert not PendingNic.objects.exists()
        assert _free_of(network) == ["10.0.0.%d" % i for i in range(1, 7)]
    else:  # until the hook reports the NIC
        assert PendingNic.objects.get(machine=vm).job_id == vm.backendjobid
        assert "10.0.0.1" not in _free_of(network)
