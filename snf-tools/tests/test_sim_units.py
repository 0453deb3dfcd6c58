"""snf-ganeti-sim's pure parts, in process: opcode building, the executor on
a cluster object, failure rules, runtime settings, hook environments."""

import pytest
from synnefo.tools.ganeti_sim import hooks, opcodes
from synnefo.tools.ganeti_sim.cluster import Cluster
from synnefo.tools.ganeti_sim.errors import OpError, RapiError
from synnefo.tools.ganeti_sim.executor import operation_for
from synnefo.tools.ganeti_sim.failures import FailRule
from synnefo.tools.ganeti_sim.runtime import RuntimeConfig

# a version-1 create body (Ganeti 3.0 wants the mode)
V1 = {"__version__": 1, "mode": "create"}


@pytest.fixture()
def cluster(tmp_path):
    return Cluster("c.test", "n1.test", str(tmp_path), node_memory=1024)


def execute(cluster, op):
    lines = []
    operation = operation_for(cluster, op, lines.append)
    operation.check()
    return operation.apply(), lines


def create_op(name, **extra):
    body = {**V1, "name": name, "os": "snf-image+default", "disk_template": "diskless"}
    body.update(extra)
    return opcodes.instance_create(body, {})


def test_create_defaults_and_dry_run_flag():
    op = opcodes.instance_create({**V1, "name": "snf-1", "os": "noop", "disk_template": "plain",
                                  "disks": [{"size": 1024}], "beparams": {"memory": 512}}, {"dry-run": "1"})
    assert op["OP_ID"] == "OP_INSTANCE_CREATE" and list(op)[-1] == "OP_ID"
    assert op["beparams"] == {"maxmem": 512, "minmem": 512} and op["start"] is True
    assert op["dry_run"] is True and op["depends"] is None and op["os_type"] == "noop"


@pytest.mark.parametrize("body,words", [
    ({**V1, "name": "x", "disk_template": "diskless", "os": "noop", "beparams": {"memory": 0}},
     "positive"),
    ({**V1, "name": "x", "disk_template": "diskless", "os": "noop", "nics": [{"ip": 5}]},
     "string"),
    ({**V1, "name": "x", "disk_template": "diskless", "os": "noop", "start": "yes"}, "boolean"),
    ({**V1, "name": "x", "disk_template": "diskless", "os": "noop", "depends": [[-1, []]]},
     "relative"),
    ({**V1, "name": "x", "disk_template": "diskless"}, "'os'"),
    ([], "JSON object"),
])
def test_create_bad_bodies(body, words):
    with pytest.raises(RapiError) as err:
        opcodes.instance_create(body, {})
    assert err.value.status == 400 and words in err.value.message


def test_nic_modification_forms():
    op = opcodes.instance_set_params("x", {"nics": [["add", {"network": "n"}], ["add", -1, {}],
                                                    ["remove", 0, {}], [0, {"ip": "1.2.3.4"}]]}, {})
    assert op["nics"] == [["add", -1, {"network": "n"}], ["add", -1, {}], ["remove", 0, {}],
                          ["modify", 0, {"ip": "1.2.3.4"}]]


def test_memory_and_state(cluster):
    execute(cluster, create_op("snf-1", beparams={"memory": 768}))
    assert cluster.instances["snf-1"]["oper_state"] is True
    execute(cluster, create_op("snf-2", beparams={"memory": 512}, start=False))
    start = operation_for(cluster, opcodes.instance_startup("snf-2", None, {}), lambda _: None)
    with pytest.raises(OpError) as err:
        start.check()
    assert err.value.result()[0] == "OpPrereqError" and err.value.result()[1][1] == "insufficient_resources"
    execute(cluster, opcodes.instance_shutdown("snf-1", None, {}))
    start.check()
    start.apply()
    view = cluster.instance_view(cluster.instances["snf-2"])
    assert (view["status"], view["oper_ram"]) == ("running", 512)
    assert cluster.node_view()["mfree"] == 512


def test_network_pool_and_map(cluster):
    execute(cluster, opcodes.network_add({"network_name": "net", "network": "10.1.0.0/29",
                                          "gateway": "10.1.0.1", "mac_prefix": "AA:00:05"}, {}))
    execute(cluster, opcodes.network_connect("net", {"group_name": "default", "network_mode": "routed",
                                                     "network_link": "rt"}, {}))
    for index in range(5):  # 8 addresses - network, broadcast, gateway = 5 free
        _, lines = execute(cluster, create_op("snf-%d" % index, nics=[{"ip": "pool", "network": "net"}],
                                              start=False))
        assert lines[0] == " - INFO: Chose IP 10.1.0.%d from network net" % (index + 2)
    view = cluster.network_view(cluster.networks["net"])
    assert view["map"] == "XXXXXXXX" and view["free_count"] == 0 and view["reserved_count"] == 8
    assert view["group_list"] == [["default", "routed", "rt", ""]]
    inst = cluster.instance_view(cluster.instances["snf-0"])
    assert inst["nic.ips"] == ["10.1.0.2"] and inst["nic.macs"][0].startswith("aa:00:05:")
    assert inst["nic.modes"] == ["routed"] and inst["nic.bridges"] == [None]
    with pytest.raises(OpError) as err:
        execute(cluster, create_op("snf-9", nics=[{"ip": "pool", "network": "net"}], start=False))
    assert "no free address" in err.value.result()[1][0]


def test_cluster_state_round_trip(cluster, tmp_path):
    execute(cluster, create_op("snf-1", tags=["a"]))
    cluster.allocate_job_id()
    again = Cluster("c.test", "n1.test", str(tmp_path))
    assert again.load() is True
    assert again.instances == cluster.instances and again.next_job_id == cluster.next_job_id == 2
    assert again.uuid == cluster.uuid


def test_fail_rules_and_runtime_config():
    rule = FailRule.parse("op_instance_create:snf-*")
    assert rule.matches({"OP_ID": "OP_INSTANCE_CREATE", "instance_name": "snf-3"})
    assert not rule.matches({"OP_ID": "OP_INSTANCE_CREATE", "instance_name": "other"})
    assert not rule.matches({"OP_ID": "OP_INSTANCE_REMOVE", "instance_name": "snf-3"})
    config = RuntimeConfig(0.5, [rule])
    with pytest.raises(ValueError):
        config.update({"job_duration": 0.1, "fail_rules": [{"opcode": "OP_X", "glob": "y"}]})
    assert config.to_dict()["job_duration"] == 0.5 and len(config.fail_rules) == 1
    config.update({"fail_rules": [{"opcode": "OP_NETWORK_ADD"}]})
    assert config.failure_for({"OP_ID": "OP_NETWORK_ADD", "network_name": "n"}).message.startswith("Injected")
    assert config.failure_for({"OP_ID": "OP_INSTANCE_CREATE", "instance_name": "snf-3"}) is None


def test_hook_environment_shape(cluster):
    execute(cluster, create_op("snf-1", nics=[{"mode": "bridged", "link": "br7", "name": "eth0"}],
                               tags=["t1", "t2"]))
    op = opcodes.instance_reboot("snf-1", None, {"type": "soft"})
    inst_vars = hooks.instance_env(cluster, cluster.instances["snf-1"])
    env = hooks.build_env(cluster, op, "instance-reboot", "/var/lib/ganeti", inst_vars, inst_vars)
    assert env["GANETI_INSTANCE_NIC0_BRIDGE"] == "br7" and env["GANETI_INSTANCE_NIC0_NAME"] == "eth0"
    assert env["GANETI_INSTANCE_TAGS"] == "t1 t2" and env["GANETI_REBOOT_TYPE"] == "soft"
    assert env["GANETI_POST_INSTANCE_NIC0_MAC"] == env["GANETI_INSTANCE_NIC0_MAC"]
    assert env["GANETI_DATA_DIR"] == "/var/lib/ganeti" and env["GANETI_INSTANCE_BE_auto_balance"] == "True"
    assert all(key.startswith("GANETI_") and isinstance(value, str) for key, value in env.items())


def test_rapi_answers_are_not_held_by_nagle():
    """The RAPI server sets TCP_NODELAY on each connection it accepts: an
    answer is written as a head then a body, and with Nagle's algorithm the
    body waited for the client's delayed ACK (about 40 ms a request)."""
    import socket

    from synnefo.tools.ganeti_sim.server import RapiServer

    class PlainContext:
        def wrap_socket(self, sock, **kwargs):
            return sock

    server = RapiServer(("127.0.0.1", 0), PlainContext(), None, None, None, {}, 1)
    try:
        with socket.create_connection(server.server_address, timeout=5):
            accepted, _ = server.get_request()
            try:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            finally:
                accepted.close()
    finally:
        server.server_close()
