"""Every RAPI call the logic layer makes, with the bodies the logic builds,
against the simulator and against a real Ganeti 3.0: the same assertions on
the JSON shapes and the job results the code relies on."""

from types import SimpleNamespace

import pytest
import requests
from synnefo.logic import backends, servers
from synnefo.logic.utils import instance_name, network_name
from synnefo.rapi import GanetiApiError, GanetiNotFound

pytestmark = pytest.mark.slow

JOB_TIMEOUT = 120
# What the logic, the allocator and reconciliation read of each answer.
NODE_KEYS = {"name", "mfree", "mtotal", "dfree", "dtotal", "pinst_cnt", "ctotal", "drained", "offline",
             "vm_capable"}
INSTANCE_KEYS = {"name", "admin_state", "oper_state", "status", "pnode", "os", "disk_template",
                 "nic.ips", "nic.macs", "nic.networks.names", "nic.modes", "nic.links", "tags",
                 "beparams", "disk.sizes", "ctime", "mtime"}
NETWORK_KEYS = {"name", "network", "gateway", "mac_prefix", "free_count", "reserved_count",
                "group_list", "inst_list", "tags"}
JOB_KEYS = {"id", "ops", "status", "summary", "opstatus", "received_ts", "start_ts", "end_ts",
            "oplog", "opresult"}
SUBNET, GATEWAY = "192.0.2.0/24", "192.0.2.1"   # a documentation range: Ganeti config only


def run(client, job_id):
    assert isinstance(job_id, int), job_id
    return client.wait_for_job(job_id, JOB_TIMEOUT)


def succeeds(client, job_id):
    status = run(client, job_id)
    assert status == "success", client.get_job(job_id)["opresult"]


def fails(client, job_id):
    assert run(client, job_id) == "error"
    return client.get_job(job_id)["opresult"][0]


@pytest.fixture(autouse=True)
def cleanup(target, client):
    """Whatever a test leaves of its run's instances and networks goes, even after a failure."""
    yield
    for name in client.get_instances():
        if name.startswith(target.prefix):
            run(client, client.delete_instance(name))
    for name in client.get_networks():
        if name.startswith(target.prefix):
            for group in client.get_groups():
                run(client, client.disconnect_network(name, group))
            run(client, client.delete_network(name))


@pytest.fixture
def logic(settings, target, client, monkeypatch):
    """The logic layer's settings for this target, its RAPI client replaced by the target's."""
    settings.BACKEND_PREFIX_ID = target.prefix
    settings.GANETI_CREATEINSTANCE_KWARGS = {"os": target.os, "hvparams": {}, "wait_for_sync": False,
                                             "pnode": target.node}
    settings.GANETI_USE_HOTPLUG = False
    settings.IGNORE_FLAVOR_DISK_SIZES = False
    monkeypatch.setattr(backends, "get_rapi_client", lambda backend: client)
    monkeypatch.setattr(servers, "get_rapi_client", lambda backend: client)
    return settings


def public_network(net_id):
    return SimpleNamespace(id=net_id, subnet=SUBNET, gateway=GATEWAY, subnet6=None, gateway6=None,
                           public=True, type="PUBLIC_ROUTED", dhcp=False, link="snf_public")


def private_network(net_id, bridge):
    return SimpleNamespace(id=net_id, subnet=SUBNET, gateway=None, subnet6=None,
                           gateway6=None, public=False, type="PRIVATE_PHYSICAL_VLAN", dhcp=True,
                           link=bridge)


def create_on_backend(client, network, mac_prefix):
    """What ``backends.create_network_on_backend`` submits: create, then connect
    to every node group depending on it."""
    job = backends._create_network_job(client, network, SimpleNamespace(mac_prefix=mac_prefix))
    connects = backends._connect_network_jobs(client, network, depends_on=job)
    succeeds(client, job)
    for connect in connects:
        succeeds(client, connect)


def payload(vm_id, nic, template="file", ram=256, disk=2):
    flavor = SimpleNamespace(disk_template=template, disk=disk, cpu=1, ram=ram)
    image = SimpleNamespace(location="debian-12", disk_format="diskdump",
                            properties={"OSFAMILY": "linux", "ROOT_PARTITION": "1"})
    return servers.create_instance_payload(SimpleNamespace(id=vm_id), nic, flavor, image, "S3cretPass",
                                           [{"path": "/etc/motd", "contents": "aGk="}])


# --- cluster ------------------------------------------------------------------

def test_info_nodes_groups_features(target, client):
    info = client.get_info()
    assert info["name"] == target.cluster_name
    assert info["master"] == target.node
    assert info["software_version"].startswith("3.")
    assert "instance-create-reqv1" in client.get_features()
    assert client.get_nodes() == [target.node]
    node = client.get_nodes(bulk=True)[0]
    assert NODE_KEYS <= set(node), NODE_KEYS - set(node)
    assert node["mtotal"] > 0 and node["dtotal"] > 0 and node["ctotal"] > 0
    assert client.get_groups() == ["default"]
    succeeds(client, client.modify_cluster())   # backend-add's write probe


def test_credentials(target):
    reader = target.client(user=target.reader)
    assert reader.get_info()["name"] == target.cluster_name
    with pytest.raises(GanetiApiError) as denied:
        reader.modify_cluster()
    assert denied.value.code == 403
    stranger = target.client(user=("nobody", "wrong"))
    with pytest.raises(GanetiApiError) as unknown:
        stranger.get_info()
    assert unknown.value.code == 401


def test_job_answers(target, client):
    job_id = client.modify_cluster()
    succeeds(client, job_id)
    job = client.get_job(job_id)
    assert JOB_KEYS <= set(job) and job["status"] == "success"
    assert job["opstatus"] == ["success"] and job["summary"] == ["CLUSTER_SET_PARAMS"]
    changed = client.wait_for_job_change(job_id, ["status"], None, None)
    assert changed["job_info"] == ["success"] and "log_entries" in changed
    # A job id Ganeti never had answers 200 with empty fields, not 404; the
    # client makes that a GanetiNotFound.
    answer = requests.get("https://%s:%s/2/jobs/9999999" % (target.host, target.port),
                          auth=target.writer, verify=False, timeout=10)
    assert answer.status_code == 200
    assert answer.json()["status"] is None and answer.json()["ops"] is None
    with pytest.raises(GanetiNotFound):
        client.get_job(9_999_999)
    # Cancelling a finished job is refused in the answer, not by an HTTP error.
    assert client.cancel_job(job_id)[0] is False


# --- networks -----------------------------------------------------------------

def test_network_create_connect_disconnect_delete(target, client, logic):
    network = public_network(1)
    name = network_name(network.id)
    create_on_backend(client, network, "aa:00:01")
    assert name in client.get_networks()
    info = client.get_network(name)
    assert NETWORK_KEYS <= set(info), NETWORK_KEYS - set(info)
    assert info["network"] == SUBNET and info["gateway"] == GATEWAY and info["mac_prefix"] == "aa:00:01"
    assert info["group_list"][0][:3] == ["default", "routed", "snf_public"]
    assert set(info["tags"]) == {"ip-less-routed"}
    assert info["reserved_count"] >= 1 and info["free_count"] > 200

    bridged = private_network(2, target.bridge)
    create_on_backend(client, bridged, "aa:00:02")
    assert client.get_network(network_name(2))["group_list"][0][:3] == ["default", "bridged", target.bridge]

    for net in (network, bridged):
        succeeds(client, backends.delete_network_on_backend(net, None))
    assert name not in client.get_networks()
    with pytest.raises(GanetiNotFound):
        client.get_network(name)


# --- instances ----------------------------------------------------------------

@pytest.fixture
def public_net(target, client, logic):
    network = public_network(10)
    create_on_backend(client, network, "aa:00:10")
    return network


def test_instance_lifecycle_as_the_logic_drives_it(target, client, public_net):
    vm_id = 1
    name = instance_name(vm_id)
    nic = {"ip": "192.0.2.5", "network": network_name(public_net.id)}
    succeeds(client, client.create_instance(**payload(vm_id, nic)))

    info = client.get_instance(name)
    assert INSTANCE_KEYS <= set(info), INSTANCE_KEYS - set(info)
    assert info["admin_state"] == "up" and info["oper_state"] is True and info["status"] == "running"
    assert info["pnode"] == target.node and info["os"] == target.os
    assert info["disk_template"] == "file" and info["disk.sizes"] == [2048]
    assert info["nic.ips"] == ["192.0.2.5"] and info["nic.networks.names"] == [network_name(10)]
    assert info["nic.modes"] == ["routed"] and info["nic.links"] == ["snf_public"]
    assert info["nic.macs"][0].startswith("aa:00:10")    # the network's MAC prefix
    assert info["beparams"]["memory"] == 256 and info["beparams"]["vcpus"] == 1
    bulk = {i["name"]: i for i in client.get_instances(bulk=True)}
    assert bulk[name]["nic.ips"] == info["nic.ips"]
    assert name in client.get_instances()

    succeeds(client, client.shutdown_instance(name))
    down = client.get_instance(name)
    assert down["admin_state"] == "down" and down["oper_state"] is False
    succeeds(client, client.startup_instance(name))
    assert client.get_instance(name)["oper_state"] is True
    for kind in ("soft", "hard"):
        succeeds(client, client.reboot_instance(name, kind))
    assert client.get_instance(name)["oper_state"] is True

    # the console call answers a dict with a kind (VNC on KVM, a message on fake)
    console = client.get_instance_console(name)
    assert console["instance"] == name and console["kind"] in ("vnc", "msg")

    # firewall profiles are instance tags
    succeeds(client, client.add_instance_tags(name, ["synnefo:network:0:protected"]))
    assert "synnefo:network:0:protected" in client.get_instance_tags(name)
    succeeds(client, client.delete_instance_tags(name, ["synnefo:network:0:protected"]))
    assert "synnefo:network:0:protected" not in client.get_instance_tags(name)

    # network connect/disconnect: NIC add and remove, as logic.networks submits them
    succeeds(client, client.modify_instance(name, nics=[["add", {"ip": "192.0.2.6",
                                                                 "network": network_name(10)}]],
                                            hotplug=False))
    assert client.get_instance(name)["nic.ips"] == ["192.0.2.5", "192.0.2.6"]
    succeeds(client, client.modify_instance(name, nics=[["remove", 1, {}]], hotplug=False))
    assert client.get_instance(name)["nic.ips"] == ["192.0.2.5"]

    succeeds(client, client.delete_instance(name))
    assert name not in client.get_instances()
    with pytest.raises(GanetiNotFound):
        client.get_instance(name)


def test_instance_failures_are_job_errors(target, client, public_net):
    nic = {"ip": "192.0.2.7", "network": network_name(public_net.id)}
    too_small = payload(2, nic, ram=64)                       # under the instance policy
    kind, args = fails(client, client.create_instance(**too_small))
    assert kind == "OpPrereqError" and args[1] == "wrong_input"
    assert instance_name(2) not in client.get_instances()

    taken = payload(3, {"ip": GATEWAY, "network": network_name(public_net.id)})   # reserved IP
    kind, _ = fails(client, client.create_instance(**taken))
    assert kind == "OpPrereqError"

    kind, args = fails(client, client.startup_instance(instance_name(99)))
    assert kind == "OpPrereqError" and args[1] == "unknown_entity"


def test_public_network_connect_refuses_conflicting_ips(target, client, public_net):
    nic = {"ip": "192.0.2.20", "network": network_name(public_net.id)}
    succeeds(client, client.create_instance(**payload(6, nic, template="diskless")))
    clash = public_network(11)     # same subnet, conflicts_check on (public networks)
    job = backends._create_network_job(client, clash, SimpleNamespace(mac_prefix="aa:00:11"))
    succeeds(client, job)
    [connect] = backends._connect_network_jobs(client, clash)
    kind, args = fails(client, connect)
    assert kind == "OpPrereqError" and args == ["Conflicting IP addresses found;  remove/modify the "
                                                "corresponding network interfaces", "wrong_state"]


def test_job_bodies_ganeti_refuses(target, client, public_net):
    nic = {"ip": "192.0.2.8", "network": network_name(public_net.id)}
    body = payload(4, nic)
    body["dry_run"] = True          # RAPI takes dry-run from the query string only
    with pytest.raises(GanetiApiError) as refused:
        client.create_instance(**body)
    assert refused.value.code == 400 and "static parameters" in str(refused.value)
    assert "'dry_run'" in str(refused.value)      # the client undid Ganeti's HTML escaping
    with pytest.raises(GanetiApiError) as unknown:
        client.create_network(network_name="x", network=SUBNET, network_type="public")
    assert unknown.value.code == 400


def test_dry_run_query_validates_without_doing(target, client, public_net):
    dry = target.client(dry_run=True)
    nic = {"ip": "192.0.2.9", "network": network_name(public_net.id)}
    succeeds(client, dry.create_instance(**payload(5, nic)))
    assert instance_name(5) not in client.get_instances()


def test_unauthenticated_answers_401_with_a_challenge(target):
    answer = requests.get("https://%s:%s/2/info" % (target.host, target.port), verify=False, timeout=10)
    assert answer.status_code == 401
    assert "Basic" in answer.headers.get("WWW-Authenticate", "")
