"""snf-ganeti-sim driven over real HTTPS by synnefo.rapi.GanetiRapiClient:
every client call, Ganeti's answer shapes, auth and bad requests."""

import html
import json

import pytest
import requests
from synnefo.rapi import GanetiApiError, GanetiNotFound
from synnefo.tools.ganeti_sim.testing import READER, SimProcess

# a version-1 create body (Ganeti 3.0 wants the mode)
V1 = {"__version__": 1, "mode": "create"}

pytestmark = pytest.mark.slow

# Keys of the answers captured from a real Ganeti 3.0 (shared/ganeti/samples).
INSTANCE_KEYS = {
    "name", "admin_state", "os", "pnode", "snodes", "disk_template", "nic.ips", "nic.macs", "nic.modes",
    "nic.uuids", "nic.names", "nic.links", "nic.networks", "nic.networks.names", "nic.bridges",
    "network_port", "disk.sizes", "disk.spindles", "disk_usage", "disk.uuids", "disk.names", "beparams",
    "hvparams", "oper_state", "oper_ram", "oper_vcpus", "status", "custom_hvparams", "custom_beparams",
    "custom_nicparams", "ctime", "mtime", "uuid", "serial_no", "tags",
}
NETWORK_KEYS = {"name", "network", "gateway", "network6", "gateway6", "mac_prefix", "free_count",
                "reserved_count", "map", "group_list", "inst_list", "external_reservations", "ctime",
                "mtime", "uuid", "serial_no", "tags"}
RAPI_JOB_KEYS = {"id", "ops", "status", "summary", "opstatus", "received_ts", "start_ts", "end_ts", "oplog",
                 "opresult"}
SHUTDOWN_INPUT_KEYS = {"instance_name", "instance_uuid", "force", "ignore_offline_nodes", "timeout",
                       "no_remember", "admin_state_source", "dry_run", "debug_level", "priority", "depends",
                       "comment", "reason", "OP_ID"}
TIMEOUT = 15


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with SimProcess(tmp_path_factory.mktemp("sim"), "--job-duration", "0.05", "--node-name",
                    "node1.sim.test", "--cluster-name", "cluster.sim.test") as proc:
        yield proc


@pytest.fixture(scope="module")
def client(sim):
    with sim.client() as c:
        yield c


def run(client, job_id):
    assert isinstance(job_id, int)
    return client.wait_for_job(job_id, TIMEOUT)


def create(client, name, **extra):
    body = {"name": name, "os": "snf-image+default", "disk_template": "diskless", "disks": [{"size": 2048}],
            "nics": [], "beparams": {"memory": 256, "vcpus": 1}, "ip_check": False, "name_check": False}
    body.update(extra)
    return client.create_instance(**body)


def op_error(client, job_id):
    job = client.get_job(job_id)
    assert job["status"] == "error", job
    return job["opresult"][0]


def raw(sim, method, path, auth=("writer", "secret"), **kwargs):
    url = "%s%s" % (sim.info["url"], path)
    return requests.request(method, url, auth=auth, verify=sim.info["cert"], timeout=10, **kwargs)


def test_cluster_calls(client, sim):
    info = client.get_info()
    assert info["name"] == "cluster.sim.test" and info["master"] == "node1.sim.test"
    assert info["software_version"].startswith("3.")
    assert "instance-create-reqv1" in client.get_features()
    assert client.get_nodes() == ["node1.sim.test"]
    node = client.get_nodes(bulk=True)[0]
    assert node["name"] == "node1.sim.test" and node["mtotal"] == 32768 and not node["offline"]
    assert client.get_groups() == ["default"]
    assert client.get_groups(bulk=True)[0]["node_list"] == ["node1.sim.test"]
    assert run(client, client.modify_cluster()) == "success"
    answer = raw(sim, "GET", "/version")
    assert answer.status_code == 200 and answer.json() == 2


def test_node_and_group(client):
    node = client.get_node("node1.sim.test")
    assert node == client.get_nodes(bulk=True)[0]
    assert node["name"] == "node1.sim.test" and node["group.uuid"] == client.get_group("default")["uuid"]
    group = client.get_group("default")
    assert group == client.get_groups(bulk=True)[0]
    assert group["name"] == "default" and group["node_list"] == ["node1.sim.test"]
    for call, name in ((client.get_node, "node9.sim.test"), (client.get_group, "nogroup")):
        with pytest.raises(GanetiNotFound):
            call(name)


def test_instance_lifecycle(client):
    job = create(client, "snf-life", tags=["t1"])
    assert run(client, job) == "success"
    assert client.get_job(job)["opresult"] == [["node1.sim.test"]]
    inst = client.get_instance("snf-life")
    assert set(inst) == INSTANCE_KEYS
    assert (inst["admin_state"], inst["oper_state"], inst["status"]) == ("up", True, "running")
    assert inst["beparams"]["maxmem"] == 256 and inst["tags"] == ["t1"]
    assert "snf-life" in client.get_instances()
    bulk = {i["name"]: i for i in client.get_instances(bulk=True)}
    assert set(bulk["snf-life"]) == INSTANCE_KEYS

    assert run(client, client.shutdown_instance("snf-life", timeout=30)) == "success"
    inst = client.get_instance("snf-life")
    assert (inst["admin_state"], inst["oper_state"], inst["status"]) == ("down", False, "ADMIN_down")
    with pytest.raises(GanetiApiError) as err:  # no console for a stopped instance
        client.get_instance_console("snf-life")
    assert err.value.code == 400
    assert run(client, client.startup_instance("snf-life")) == "success"
    assert run(client, client.startup_instance("snf-life")) == "success"  # starting a running one is fine
    assert client.get_instance("snf-life")["status"] == "running"
    for kind in ("soft", "hard"):
        assert run(client, client.reboot_instance("snf-life", type=kind)) == "success"
    console = client.get_instance_console("snf-life")
    assert console["kind"] == "vnc" and console["host"] == "127.0.0.1"  # the VNC address (--listen)
    assert console["port"] == client.get_instance("snf-life")["network_port"]

    assert run(client, client.delete_instance("snf-life")) == "success"
    with pytest.raises(GanetiNotFound):
        client.get_instance("snf-life")
    assert "snf-life" not in client.get_instances()


def test_job_answers(client):
    assert run(client, create(client, "snf-jobs")) == "success"
    job_id = client.shutdown_instance("snf-jobs")
    assert run(client, job_id) == "success"
    job = client.get_job(job_id)
    assert set(job) == RAPI_JOB_KEYS
    assert job["summary"] == ["INSTANCE_SHUTDOWN(snf-jobs)"] and job["opstatus"] == ["success"]
    assert set(job["ops"][0]) == SHUTDOWN_INPUT_KEYS
    assert job["ops"][0]["reason"][0][0] == "gnt:library:rlib2:instances_name_shutdown"
    assert job["received_ts"] <= job["start_ts"] <= job["end_ts"]
    assert job_id in client.get_jobs()
    assert any(j["id"] == job_id for j in client.get_jobs(bulk=True))
    answer = client.wait_for_job_change(job_id, ["status", "opresult"], None, None)
    assert answer["job_info"] == ["success", [None]] and answer["log_entries"] == []
    with pytest.raises(GanetiNotFound):
        client.get_job(999999)
    with pytest.raises(GanetiNotFound):
        client.wait_for_job(999999, 5)


def test_create_failures(client):
    assert run(client, create(client, "snf-dup")) == "success"
    job = create(client, "snf-dup")
    assert run(client, job) == "error"
    assert op_error(client, job) == ["OpPrereqError", ["Instance 'snf-dup' is already in the cluster",
                                                       "already_exists"]]
    job = create(client, "snf-bados", os="nosuchos+default")
    assert run(client, job) == "error" and "not in supported OS list" in op_error(client, job)[1][0]
    job = create(client, "snf-huge", beparams={"memory": 30000}, ignore_ipolicy=True)
    assert run(client, job) == "success"
    job = create(client, "snf-nomem", beparams={"memory": 8192})
    assert run(client, job) == "error"
    assert op_error(client, job)[1][1] == "insufficient_resources"
    job = create(client, "snf-tiny", beparams={"memory": 64})
    assert run(client, job) == "error" and "violates policy" in op_error(client, job)[1][0]
    job = create(client, "snf-node", pnode="other.node")
    assert run(client, job) == "error" and "not known" in op_error(client, job)[1][0]
    job = create(client, "snf-routed", nics=[{"mode": "routed", "link": "100"}])
    assert run(client, job) == "error" and "requires an ip" in op_error(client, job)[1][0]
    assert run(client, client.delete_instance("snf-huge")) == "success"
    job = client.startup_instance("snf-missing")
    assert run(client, job) == "error"
    assert op_error(client, job) == ["OpPrereqError", ["Instance 'snf-missing' not known", "unknown_entity"]]
    job = create(client, "snf-noinst", no_install=True)
    assert run(client, job) == "success"
    assert client.get_instance("snf-noinst")["admin_state"] == "down"  # no_install forces start=false
    assert "No-installation mode" in client.get_job(job)["oplog"][0][0][3]


def test_networks_and_nics(client):
    job = client.create_network(network_name="snf-net-1", network="192.0.2.0/24", gateway="192.0.2.1",
                                network6=None, gateway6=None, mac_prefix="aa:00:01",
                                conflicts_check=False, tags=["nfdhcpd"], add_reserved_ips=None)
    connect = client.connect_network("snf-net-1", "default", "bridged", "br-net1",
                                     depends=[[job, ["success"]]])
    assert run(client, connect) == "success"
    assert run(client, job) == "success"
    assert client.get_networks() == ["snf-net-1"]
    net = client.get_network("snf-net-1")
    assert set(net) == NETWORK_KEYS
    assert net["group_list"] == [["default", "bridged", "br-net1", ""]]
    assert net["reserved_count"] == 3 and net["free_count"] == 253
    assert client.get_networks(bulk=True)[0]["name"] == "snf-net-1"

    job = create(client, "snf-nic", nics=[{"ip": "pool", "network": "snf-net-1"}])
    assert run(client, job) == "success"
    inst = client.get_instance("snf-nic")
    assert inst["nic.ips"] == ["192.0.2.2"] and inst["nic.networks.names"] == ["snf-net-1"]
    assert inst["nic.links"] == ["br-net1"] and inst["nic.macs"][0].startswith("aa:00:01:")
    taken = create(client, "snf-taken", nics=[{"ip": "192.0.2.2", "network": "snf-net-1"}])
    assert run(client, taken) == "error" and op_error(client, taken)[1][1] == "not_unique"

    job = client.modify_instance("snf-nic", nics=[["add", {"ip": "192.0.2.9", "network": "snf-net-1"}]],
                                 hotplug=True)
    assert run(client, job) == "success"
    assert client.get_job(job)["opresult"][0][0][0] == "nic.1"
    assert client.get_instance("snf-nic")["nic.ips"] == ["192.0.2.2", "192.0.2.9"]
    assert client.get_network("snf-net-1")["inst_list"] == ["snf-nic"]
    before = client.get_instance("snf-nic")
    assert run(client, client.modify_instance("snf-nic", nics=[["modify", 0, {"name": "eth0"}]])) == "success"
    after = client.get_instance("snf-nic")
    assert after["nic.names"][0] == "eth0" and after["nic.uuids"] == before["nic.uuids"]
    assert (after["nic.ips"], after["nic.macs"]) == (before["nic.ips"], before["nic.macs"])
    assert run(client, client.modify_instance("snf-nic", nics=[[1, {"ip": "192.0.2.10"}]])) == "success"
    assert client.get_instance("snf-nic")["nic.ips"] == ["192.0.2.2", "192.0.2.10"]
    clash = client.modify_instance("snf-nic", nics=[["add", {"ip": "192.0.2.2", "network": "snf-net-1"}]])
    assert run(client, clash) == "error" and op_error(client, clash)[1][1] == "not_unique"
    assert run(client, client.modify_instance("snf-nic", nics=[["remove", 1, {}]])) == "success"
    assert client.get_instance("snf-nic")["nic.ips"] == ["192.0.2.2"]
    assert run(client, client.modify_instance("snf-nic", os_name="snf-image+default")) == "success"
    job = client.modify_instance("snf-nic")
    assert run(client, job) == "error" and op_error(client, job)[1][0] == "No changes submitted"

    busy = client.disconnect_network("snf-net-1", "default")
    assert run(client, busy) == "error" and "in use" in op_error(client, busy)[1][0]
    assert run(client, client.delete_instance("snf-nic")) == "success"
    job = client.modify_network("snf-net-1", add_reserved_ips=["192.0.2.50"])
    assert run(client, job) == "success"
    assert "192.0.2.50" in client.get_network("snf-net-1")["external_reservations"]
    still = client.delete_network("snf-net-1")
    assert run(client, still) == "error" and "still connected" in op_error(client, still)[1][0]
    disconnect = client.disconnect_network("snf-net-1", "default")
    delete = client.delete_network("snf-net-1", depends=[[disconnect, ["success"]]])
    assert run(client, delete) == "success"
    assert client.get_networks() == []
    with pytest.raises(GanetiNotFound):
        client.get_network("snf-net-1")
    job = client.create_network(network_name="snf-net-bad", network="10.0.0.0/8")
    assert run(client, job) == "error" and "/16 to /30" in op_error(client, job)[1][0]


def test_failure_after_the_change(sim, client):
    """``after_change``: the NIC is added and kept, the job still ends in error."""
    job = client.create_network(network_name="snf-net-2", network="192.0.2.0/24", mac_prefix="aa:00:02")
    assert run(client, client.connect_network("snf-net-2", "default", "bridged", "br2",
                                              depends=[[job, ["success"]]])) == "success"
    assert run(client, create(client, "snf-half")) == "success"
    rules = {"fail_rules": [{"opcode": "OP_INSTANCE_SET_PARAMS", "after_change": True, "message": "died"}]}
    assert raw(sim, "PUT", "/sim/config", json=rules).status_code == 200
    try:
        job = client.modify_instance("snf-half", nics=[["add", {"ip": "192.0.2.7", "network": "snf-net-2"}]])
        assert run(client, job) == "error" and op_error(client, job)[1][0] == "died"
    finally:
        assert raw(sim, "PUT", "/sim/config", json={"fail_rules": []}).status_code == 200
    assert client.get_instance("snf-half")["nic.ips"][-1] == "192.0.2.7"
    assert raw(sim, "GET", "/sim/config").json()["fail_rules"] == []
    bad = {"fail_rules": [{"opcode": "OP_INSTANCE_SET_PARAMS", "after_change": "yes"}]}
    assert raw(sim, "PUT", "/sim/config", json=bad).status_code == 400


def test_tags_and_rename(client):
    assert run(client, create(client, "snf-tags")) == "success"
    tags = ["synnefo:network:0:protected", "x"]
    assert run(client, client.add_instance_tags("snf-tags", tags)) == "success"
    assert client.get_instance_tags("snf-tags") == ["synnefo:network:0:protected", "x"]
    assert run(client, client.delete_instance_tags("snf-tags", ["x"])) == "success"
    assert client.get_instance_tags("snf-tags") == ["synnefo:network:0:protected"]
    job = client.delete_instance_tags("snf-tags", ["absent"])
    assert run(client, job) == "error" and op_error(client, job)[1][1] == "not_found"
    with pytest.raises(GanetiNotFound):
        client.get_instance_tags("snf-nope")
    job = client.rename_instance("snf-tags", "snf-renamed")
    assert run(client, job) == "success"
    assert client.get_instance("snf-renamed")["tags"] == ["synnefo:network:0:protected"]
    with pytest.raises(GanetiNotFound):
        client.get_instance("snf-tags")


def test_cluster_tags(sim, client):
    answer = raw(sim, "PUT", "/2/tags?tag=sim-a&tag=sim-b")
    assert answer.status_code == 200
    assert run(client, answer.json()) == "success"
    assert raw(sim, "GET", "/2/tags").json() == ["sim-a", "sim-b"]
    assert client.get_cluster_tags() == ["sim-a", "sim-b"]
    assert run(client, client.add_cluster_tags(["sim-c", "sim-a"])) == "success"
    assert client.get_cluster_tags() == ["sim-a", "sim-b", "sim-c"]
    assert run(client, client.delete_cluster_tags(["sim-a", "sim-c"])) == "success"
    assert client.get_cluster_tags() == ["sim-b"] and client.get_info()["tags"] == ["sim-b"]
    job = client.delete_cluster_tags(["absent"])
    assert run(client, job) == "error" and op_error(client, job)[1][1] == "not_found"
    assert client.get_job(job)["ops"][0]["kind"] == "cluster"


def test_network_tags(client):
    job = client.create_network(network_name="snf-net-tags", network="198.51.100.0/24", tags=["nfdhcpd"])
    assert run(client, job) == "success"
    assert client.get_network_tags("snf-net-tags") == ["nfdhcpd"]
    assert run(client, client.add_network_tags("snf-net-tags", ["a", "b:c"])) == "success"
    assert client.get_network_tags("snf-net-tags") == ["nfdhcpd", "a", "b:c"]
    assert run(client, client.delete_network_tags("snf-net-tags", ["a"])) == "success"
    assert client.get_network("snf-net-tags")["tags"] == ["nfdhcpd", "b:c"]
    job = client.delete_network_tags("snf-net-tags", ["absent"])
    assert run(client, job) == "error" and op_error(client, job)[1][1] == "not_found"
    with pytest.raises(GanetiNotFound):
        client.get_network_tags("snf-net-nope")
    job = client.add_network_tags("snf-net-nope", ["a"])
    assert run(client, job) == "error" and op_error(client, job)[1][1] == "unknown_entity"
    assert run(client, client.delete_network("snf-net-tags")) == "success"


def test_dry_run_changes_nothing(sim):
    with sim.client(dry_run=True) as dry:
        job = create(dry, "snf-dry")
        assert dry.wait_for_job(job, TIMEOUT) == "success"
        assert dry.get_job(job)["ops"][0]["dry_run"] is True
        with pytest.raises(GanetiNotFound):
            dry.get_instance("snf-dry")


def test_cancel(sim, client):
    put = raw(sim, "PUT", "/sim/config", json={"job_duration": 2.0})
    assert put.status_code == 200
    try:
        job = client.shutdown_instance("snf-dup")
        assert client.cancel_job(job) == [True, "Job %d canceled" % job]
        assert run(client, job) == "canceled"
        assert client.get_instance("snf-dup")["admin_state"] == "up"
        assert client.cancel_job(job)[0] is False
    finally:
        assert raw(sim, "PUT", "/sim/config", json={"job_duration": 0.05}).status_code == 200


def test_dependencies(client):
    failed = create(client, "snf-dup")  # exists already: fails
    after_failure = client.startup_instance("snf-dup")
    body = {"depends": [[failed, ["success"]]]}
    dependent = client.transport.request("PUT", "/instances/snf-dup/shutdown", body=body)
    assert run(client, failed) == "error"
    assert run(client, dependent) == "error"
    assert "finished with status 'error'" in op_error(client, dependent)[1][0]
    assert run(client, after_failure) == "success"
    either = client.transport.request("PUT", "/instances/snf-dup/startup",
                                      body={"depends": [[failed, ["success", "error"]]]})
    assert run(client, either) == "success"
    unknown = client.transport.request("PUT", "/instances/snf-dup/startup",
                                       body={"depends": [[99999, ["success"]]]})
    assert run(client, unknown) == "error" and "not found" in op_error(client, unknown)[1][0]


def test_ops_on_one_instance_take_turns(sim, client):
    assert raw(sim, "PUT", "/sim/config", json={"job_duration": 0.3}).status_code == 200
    try:
        first = client.reboot_instance("snf-dup")
        second = client.shutdown_instance("snf-dup")
        tags = client.add_instance_tags("snf-dup", ["turns"])
        for job in (first, second, tags):
            assert run(client, job) == "success"
    finally:
        assert raw(sim, "PUT", "/sim/config", json={"job_duration": 0.05}).status_code == 200
    first_op, second_op = sim.job_file(first)["ops"][0], sim.job_file(second)["ops"][0]
    assert second_op["exec_timestamp"] >= first_op["end_timestamp"]
    assert sim.job_file(tags)["ops"][0]["exec_timestamp"] >= second_op["end_timestamp"]
    assert client.get_instance("snf-dup")["admin_state"] == "down"
    assert run(client, client.startup_instance("snf-dup")) == "success"


def test_authentication(sim):
    assert raw(sim, "GET", "/2/info", auth=None).status_code == 401
    bad = raw(sim, "GET", "/2/info", auth=("writer", "wrong"))
    assert bad.status_code == 401 and bad.headers["WWW-Authenticate"].startswith("Basic")
    assert set(bad.json()) == {"code", "message", "explain"} and bad.json()["code"] == 401
    assert raw(sim, "GET", "/2/info", auth=READER).status_code == 200
    denied = raw(sim, "PUT", "/2/instances/snf-dup/shutdown", auth=READER, json={})
    assert denied.status_code == 403 and denied.json()["code"] == 403
    assert raw(sim, "PUT", "/sim/config", auth=READER, json={"job_duration": 1}).status_code == 403
    with sim.client(user=READER) as reader:
        assert reader.get_instance("snf-dup")["name"] == "snf-dup"
        with pytest.raises(GanetiApiError) as err:
            reader.startup_instance("snf-dup")
        assert err.value.code == 403


@pytest.mark.parametrize("method,path,body,status,words", [
    ("POST", "/2/instances", {"name": "x", "disk_template": "diskless", "os": "noop"}, 400, "version"),
    ("POST", "/2/instances", {**V1, "name": "x", "disk_template": "diskless", "os": "noop",
                              "bogus": 1}, 400, "bogus"),
    ("POST", "/2/instances", {**V1, "disk_template": "diskless", "os": "noop"}, 400, "'name'"),
    ("POST", "/2/instances", {**V1, "name": "x", "disk_template": "diskless", "os": "noop",
                              "disks": [{"size": "big"}]}, 400, "disk size"),
    ("POST", "/2/instances", "not json", 400, "JSON"),
    ("PUT", "/2/instances/x/shutdown", {"timeout": "soon"}, 400, "timeout"),
    ("POST", "/2/instances/x/reboot?type=sideways", None, 400, "reboot type"),
    ("PUT", "/2/networks/n/connect", {"group_name": "default", "network_mode": "tunnel",
                                      "network_link": "l"}, 400, "network_mode"),
    ("PUT", "/2/instances/x/modify", {"nics": [["explode", 0, {}]]}, 400, "action"),
    ("GET", "/2/instances/nope", None, 404, "not known"),
    ("GET", "/2/nosuchthing", None, 404, "not found"),
    ("PATCH", "/2/instances", {}, 405, "unsupported"),
    ("DELETE", "/2/info", None, 405, "unsupported"),
    ("PUT", "/sim/config", {"job_duration": -1}, 400, "job_duration"),
    ("PUT", "/sim/config", {"fail_rules": [{"opcode": "NOPE"}]}, 400, "opcode"),
])
def test_bad_requests(sim, method, path, body, status, words):
    kwargs = {"data": body} if isinstance(body, str) else {"json": body}
    answer = raw(sim, method, path, **kwargs)
    assert answer.status_code == status, answer.text
    error = answer.json()
    assert set(error) == {"code", "message", "explain"} and error["code"] == status
    # Ganeti HTML-escapes error messages; so does the simulator
    assert words.lower() in html.unescape(json.dumps(error)).lower()
    assert "'" not in error["message"]
    assert raw(sim, "GET", "/sim/config").json()["job_duration"] == 0.05  # nothing half-applied
