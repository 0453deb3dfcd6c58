"""snf-manage backend-*, pool-*, network-* commands."""

import json

import pytest
from django.core.management import load_command_class
from django.db import connections
from logic_helpers import make_backend
from synnefo.db.models import (
    Backend,
    BackendNetwork,
    BridgePoolTable,
    MacPrefixPoolTable,
    Network,
    VirtualMachine,
)
from synnefo.rapi import GanetiApiError


@pytest.fixture
def run(db, monkeypatch, capsys):
    monkeypatch.setattr(connections, "close_all", lambda: None)

    def run(*argv):
        name = argv[0]
        command = load_command_class("synnefo.logic", name)
        code = 0
        try:
            command.run_from_argv(["snf-manage"] + list(argv))
        except SystemExit as exc:
            code = exc.code
        out, err = capsys.readouterr()
        return code, out, err
    return run


def assert_one_line_error(result):
    code, out, err = result
    assert code != 0
    assert len(err.strip().splitlines()) == 1, err
    return err


# --- backend-add --------------------------------------------------------------

ADD = ["backend-add", "--clustername", "cluster1.example.org", "--user", "u", "--pass", "p"]


def test_backend_add_checks_and_creates(run, rapi):
    code, out, err = run(*ADD)
    assert code == 0, err
    backend = Backend.objects.get()
    assert (backend.clustername, backend.index, backend.drained, backend.port) == \
        ("cluster1.example.org", 0, True, 5080)
    assert backend.password == "p" and backend.password_encrypted.startswith("fernet:")
    assert backend.mtotal == 16000  # resources fetched
    assert rapi.names()[:2] == ["get_info", "modify_cluster"]
    assert "drained" in out


def test_backend_add_undrained_second_index_and_networks(run, rapi, world):
    Backend.objects.all().delete()
    make_backend("other", index=0)
    Network.objects.create(name="priv", subnet="10.0.0.0/24", userid="alice", mac_prefix="aa:00:1",
                           link="br0")
    code, out, err = run(*ADD, "--undrained", "--no-verify")
    assert code == 0, err
    backend = Backend.objects.get(clustername="cluster1.example.org")
    assert backend.index == 1 and not backend.drained and not backend.ssl_verify
    bnet = BackendNetwork.objects.get(backend=backend)
    assert bnet.mac_prefix == "aa:00:11"
    assert "created" in out
    assert "create_network" in rapi.names() and "wait_for_job" in rapi.names()


@pytest.mark.parametrize("argv", [
    ["backend-add", "--user", "u", "--pass", "p"],                         # no clustername
    ADD + ["--port", "abc"],
    ADD + ["--port", "70000"],
    ADD + ["--no-verify", "--fingerprint", "ab"],
    ADD + ["--drained", "--undrained"],
])
def test_backend_add_bad_args(run, rapi, argv):
    assert_one_line_error(run(*argv))
    assert not Backend.objects.exists()


def test_backend_add_check_failures(run, rapi):
    rapi.info = {"name": "another.example.org"}
    assert "mismatch" in assert_one_line_error(run(*ADD))
    rapi.info = {"name": "cluster1.example.org"}
    rapi.fail["modify_cluster"] = GanetiApiError("forbidden", 403)
    assert "write access" in assert_one_line_error(run(*ADD))
    assert not Backend.objects.exists()
    # a 400 on the empty write probe still proves write access
    rapi.fail["modify_cluster"] = GanetiApiError("bad body", 400)
    assert run(*ADD)[0] == 0


def test_backend_add_no_check_and_duplicate(run, rapi):
    rapi.fail["get_info"] = GanetiApiError("down", None)
    rapi.fail["get_nodes"] = GanetiApiError("down", None)
    code, out, err = run(*ADD, "--no-check")
    assert code == 0 and "Warning" in err
    assert_one_line_error(run(*ADD, "--no-check"))
    assert Backend.objects.count() == 1


def test_backend_add_against_real_client_http_error(run):
    # nothing listens on this port: a connection error becomes one stderr line
    err = assert_one_line_error(run("backend-add", "--clustername", "127.0.0.1", "--port", "9",
                                    "--user", "u", "--pass", "p"))
    assert "127.0.0.1" in err
    assert not Backend.objects.exists()


# --- backend-list / modify / remove / update-status ------------------------------

def test_backend_list(run, world):
    code, out, err = run("backend-list", "--output", "json")
    rows = json.loads(out)
    assert rows[0]["clustername"] == "cluster1.example.org" and rows[0]["vms"] == 0
    code, out, err = run("backend-list", "-c")
    assert out.startswith("%d|cluster1.example.org|5080|u|" % world["backend"].id)


def test_backend_modify_only_given(run, rapi, world):
    backend = world["backend"]
    Backend.objects.filter(pk=backend.pk).update(drained=True, offline=True)
    code, out, err = run("backend-modify", str(backend.id), "--port", "5081")
    assert code == 0, err
    backend.refresh_from_db()
    assert backend.port == 5081 and backend.drained and backend.offline  # flags untouched
    assert rapi.names()[:2] == ["get_info", "modify_cluster"]  # credentials re-checked
    rapi.calls.clear()
    code, out, err = run("backend-modify", str(backend.id), "--undrained", "--online")
    backend.refresh_from_db()
    assert not backend.drained and not backend.offline and backend.port == 5081
    assert rapi.calls == []  # no credential change -> no check
    old_hash = backend.hash
    assert run("backend-modify", str(backend.id), "--pass", "new")[0] == 0
    backend.refresh_from_db()
    assert backend.password == "new" and backend.hash != old_hash


def test_backend_modify_errors(run, rapi, world):
    backend = world["backend"]
    assert_one_line_error(run("backend-modify", "999", "--drained"))
    assert_one_line_error(run("backend-modify", str(backend.id)))
    rapi.fail["modify_cluster"] = GanetiApiError("forbidden", 401)
    assert_one_line_error(run("backend-modify", str(backend.id), "--user", "x"))
    backend.refresh_from_db()
    assert backend.username == "u"


def test_backend_remove(run, world):
    backend = world["backend"]
    vm = VirtualMachine.objects.create(name="v", userid="alice", backend=backend, flavor=world["flavor"],
                                       imageid="img1")
    assert "non-deleted" in assert_one_line_error(run("backend-remove", str(backend.id)))
    VirtualMachine.objects.filter(pk=vm.pk).update(deleted=True, operstate="DESTROYED")
    code, out, err = run("backend-remove", str(backend.id))
    assert code == 0 and "snf-net-%d" % world["network"].id in out
    assert not Backend.objects.exists()
    assert VirtualMachine.objects.get(pk=vm.pk).backend is None


def test_backend_update_status(run, rapi, world):
    code, out, err = run("backend-update-status")
    assert code == 0 and rapi.calls == []  # fresh
    code, out, err = run("backend-update-status", "--older-than", "0")
    assert code == 0 and rapi.names() == ["get_nodes"]
    assert_one_line_error(run("backend-update-status", "--backend-id", "999"))
    assert_one_line_error(run("backend-update-status", "--older-than", "x"))


# --- pools ------------------------------------------------------------------------

def test_pool_commands(run):
    code, out, err = run("pool-create", "--type", "bridge", "--size", "20", "--base", "prv")
    assert code == 0, err
    row = BridgePoolTable.objects.get()
    assert_one_line_error(run("pool-create", "--type", "bridge", "--size", "20", "--base", "prv"))
    assert_one_line_error(run("pool-create", "--type", "vlan", "--size", "2"))
    assert_one_line_error(run("pool-create", "--type", "mac-prefix", "--size", "x"))
    assert_one_line_error(run("pool-create", "--type", "mac-prefix", "--size", "10", "--base", "zz"))
    assert BridgePoolTable.objects.count() == 1 and not MacPrefixPoolTable.objects.exists()
    assert run("pool-create", "--type", "mac-prefix", "--size", "65536", "--base", "aa:00:0")[0] == 0

    code, out, err = run("pool-list", "--output", "json")
    rows = json.loads(out)
    assert {r["type"]: r["available"] for r in rows}["bridge"] == 20
    assert run("pool-modify", str(row.id), "--type", "bridge", "--add-reserved", "prv1,prv2")[0] == 0
    code, out, err = run("pool-show", str(row.id), "--type", "bridge")
    assert "XX" + "." * 18 in out
    assert_one_line_error(run("pool-modify", str(row.id), "--type", "bridge", "--add-reserved", "br9"))
    assert_one_line_error(run("pool-modify", str(row.id), "--type", "bridge"))
    assert run("pool-modify", str(row.id), "--type", "bridge", "--remove-reserved", "prv1")[0] == 0
    code, out, err = run("pool-list", "--type", "bridge", "-c")
    assert out.strip() == "%d|bridge|20|prv||19|1" % row.id
    assert_one_line_error(run("pool-remove", "77", "--type", "bridge"))
    assert run("pool-remove", str(row.id), "--type", "bridge")[0] == 0
    assert not BridgePoolTable.objects.exists()


# --- networks ------------------------------------------------------------------------

def test_network_create_public_and_list(run, rapi, world):
    backend = world["backend"]
    code, out, err = run("network-create", "--name", "pub2", "--subnet", "203.0.113.0/24",
                         "--gateway", "203.0.113.1", "--public", "--backend-id", str(backend.id),
                         "--type", "PUBLIC_ROUTED")
    assert code == 0, err
    net = Network.objects.get(name="pub2")
    assert net.public and net.link == "snf_public" and net.mac_prefix == "aa:00:0"
    bnets = BackendNetwork.objects.filter(network=net)
    assert list(bnets.values_list("backend_id", flat=True)) == [backend.id]
    body = rapi.last("create_network")[2]
    assert "network_type" not in body and body["conflicts_check"] is True
    assert body["tags"] == ["ip-less-routed"]
    code, out, err = run("network-list", "--public", "--output", "json")
    assert [r["name"] for r in json.loads(out)] == ["public", "pub2"]
    code, out, err = run("network-list", "--filter-by", "name=pub2", "-c")
    assert out.startswith("%d|pub2|PUBLIC_ROUTED|" % net.id)
    assert_one_line_error(run("network-list", "--filter-by", "bogus=1"))


@pytest.mark.parametrize("extra", [
    ["--public"],                                          # no backend
    ["--backend-id", "1"],                                 # backend without --public
    ["--owner", "alice", "--subnet", "garbage"],
    ["--owner", "alice", "--type", "PRIVATE_MAC_FILTERED", "--mac-prefix", "aa:00:5"],
    ["--owner", "alice", "--type", "PRIVATE_PHYSICAL_VLAN", "--link", "br7"],
    ["--owner", "alice", "--type", "NOPE"],
    [],                                                    # private without owner
])
def test_network_create_bad_args(run, rapi, world, extra):
    argv = ["network-create", "--name", "n", "--subnet", "10.0.0.0/24"] + extra
    if "--subnet" in extra:
        argv = ["network-create", "--name", "n"] + extra
    assert_one_line_error(run(*argv))
    assert Network.objects.count() == 1  # only the fixture's public network


def test_network_create_private_and_remove(run, rapi, world):
    MacPrefixPoolTable.objects.create(size=16, base="aa:00:0")
    code, out, err = run("network-create", "--name", "priv", "--subnet", "10.0.0.0/24",
                         "--owner", "alice", "--dhcp")
    assert code == 0, err
    net = Network.objects.get(name="priv")
    assert net.mac_prefix == "aa:00:1" and net.userid == "alice" and net.dhcp
    code, out, err = run("network-remove", str(net.id))
    assert code == 0, err
    assert Network.objects.get(pk=net.pk).action == "DESTROY"
    assert_one_line_error(run("network-remove", "999"))


# --- servers ---------------------------------------------------------------------------

def test_server_create_list_show(run, rapi, world, settings):
    settings.MAX_VMS_PER_USER = 0  # the admin command ignores the limit
    backend = world["backend"]
    code, out, err = run("server-create", "--name", "adm", "--user-id", "alice", "--image-id", "img1",
                         "--flavor-id", str(world["flavor"].id), "--password", "Passw0rdXy",
                         "--backend-id", str(backend.id))
    assert code == 0, err
    vm = VirtualMachine.objects.get()
    assert rapi.last("create_instance")[2]["osparams"]["img_passwd"] == "Passw0rdXy"
    assert "Created server %d" % vm.id in out
    code, out, err = run("server-list", "--output", "json")
    rows = json.loads(out)
    assert rows[0]["state"] == "BUILD(0%)" and rows[0]["image"] == "Debian" and rows[0]["task"] == "BUILD"
    code, out, err = run("server-show", str(vm.id))
    assert "img1 (Debian)" in out
    assert_one_line_error(run("server-show", "999"))
    assert_one_line_error(run("server-create", "--name", "x", "--user-id", "alice", "--image-id", "nope",
                              "--flavor-id", str(world["flavor"].id)))
    assert_one_line_error(run("server-create", "--name", "x", "--user-id", "alice", "--image-id", "img1",
                              "--flavor-id", "abc"))
    assert VirtualMachine.objects.count() == 1


def test_network_modify_and_inspect(run, rapi, world):
    net = world["network"]
    code, out, err = run("network-modify", str(net.id), "--name", "pub", "--dhcp", "yes")
    assert code == 0, err
    net.refresh_from_db()
    assert net.name == "pub" and net.dhcp
    code, out, err = run("network-modify", str(net.id), "--add-reserved-ips", "192.0.2.3,192.0.2.4")
    assert code == 0, err
    assert rapi.last("modify_network") == ("modify_network", ("snf-net-%d" % net.id,),
                                           {"add_reserved_ips": ["192.0.2.3", "192.0.2.4"]})
    assert_one_line_error(run("network-modify", str(net.id), "--add-reserved-ips", "10.0.0.1"))
    assert_one_line_error(run("network-modify", str(net.id)))
    assert_one_line_error(run("network-modify", str(net.id), "--gateway", "garbage"))
    assert_one_line_error(run("network-modify", str(net.id), "--state", "BOGUS"))
    code, out, err = run("network-inspect", str(net.id))
    assert code == 0, err
    assert "XX.....X" in out and '"map": "X..X"' in out
    assert "Pending NICs" not in out
    from synnefo.db.models import PendingNic
    vm = VirtualMachine.objects.create(name="v", userid="alice", backend=world["backend"],
                                       flavor=world["flavor"], imageid="img1")
    PendingNic.objects.create(machine=vm, network=net, kind="CREATE", ipv4="192.0.2.5")
    code, out, err = run("network-inspect", str(net.id))
    assert code == 0, err
    assert "server %d: CREATE, address 192.0.2.5, job unknown" % vm.id in out


def test_backend_add_warns_without_create_feature(run, rapi):
    rapi.get_features = lambda: []
    code, out, err = run(*ADD)
    assert code == 0 and "instance-create-reqv1" in err


def test_server_modify(run, world):
    vm = VirtualMachine.objects.create(name="v", userid="alice", backend=world["backend"],
                                       flavor=world["flavor"], imageid="img1", operstate="STARTED")
    assert run("server-modify", str(vm.id), "--set-suspended", "--name", "n2")[0] == 0
    vm.refresh_from_db()
    assert vm.suspended and vm.name == "n2" and vm.operstate == "STARTED"
    assert_one_line_error(run("server-modify", str(vm.id)))
    assert_one_line_error(run("server-modify", str(vm.id), "--state", "DESTROYED"))
    assert_one_line_error(run("server-modify", str(vm.id), "--set-suspended", "--set-unsuspended"))
    assert run("server-modify", str(vm.id), "--set-deleted")[0] == 0
    vm.refresh_from_db()
    assert vm.deleted and vm.operstate == "DESTROYED"
    assert run("server-modify", str(vm.id), "--set-undeleted", "--state", "STOPPED")[0] == 0
