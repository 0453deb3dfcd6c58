"""Private networks and the firewall through the API, over real processes
(issue 10 items 6 and 7): on the embedded default (simulator) and on the real
Ganeti stack, a user creates a network, sees it ACTIVE, connects a server and
sees the NIC, disconnects it and sees it go, deletes the network; the
firewall profile is always the one last asked for; and on the simulator's
failure injection, failed creates and connects give every address back."""

import json
import re
import time

import pytest
from synnefo.tools.client import ItemNotFound, NetworkInUse, server_nics
from synnefo.tools.client import wait_for as poll

FIREWALL_TAGS = {"ENABLED": "synnefo:network:0:protected", "DISABLED": "synnefo:network:0:unprotected",
                 "PROTECTED": "synnefo:network:0:limited"}


def wait_for(what, predicate, timeout=60):
    """``predicate()``'s first true value (the client's poll: WaitTimeout after ``timeout``)."""
    return poll(predicate, bool, what=what, timeout=timeout, interval=0.1)


def network(api, net_id):
    try:
        return api.get_network(net_id)
    except ItemNotFound:
        return None


def create_network(api, name, cidr, **extra):
    # the client checks the 202
    net = api.create_network(name, cidr=cidr, network_type=extra.pop("type", None), **extra)
    api.wait_network(net["id"], "ACTIVE", timeout=60)
    return net["id"]


def nics(api, server_id):
    return server_nics(api.get_server(server_id))


def nics_on(api, server_id, net_id):
    return [n for n in nics(api, server_id) if n["network_id"] == str(net_id)]


def connect(api, net_id, server_id):
    api.connect(net_id, server_id)   # raises unless 202


def delete_network(api, net_id):
    api.delete_network(net_id)       # raises unless 204
    wait_for(f"network {net_id} gone",
             lambda: (network(api, net_id) or {"status": "DELETED"})["status"] == "DELETED")


@pytest.fixture
def server(api, make_server):
    server = make_server("e2e-net")
    api.wait_server(server["id"], "ACTIVE", timeout=120)
    yield server["id"]
    api.delete_server(server["id"])


@pytest.mark.parametrize("net_type", ["PRIVATE_MAC_FILTERED", "PRIVATE_PHYSICAL_VLAN"])
def test_private_network_lifecycle(api, server, net_type):
    net_id = create_network(api, f"e2e-{net_type.lower()}", "10.42.0.0/29", type=net_type)
    started = time.monotonic()
    connect(api, net_id, server)
    # a delete while the connect is pending is refused, not accepted then failed
    with pytest.raises(NetworkInUse) as refused:
        api.delete_network(net_id)
    assert refused.value.code == 421
    [nic] = wait_for("the new NIC", lambda: nics_on(api, server, net_id), timeout=30)
    api.wait_server(server, "ACTIVE", timeout=60)
    assert nic["ipv4"] == "10.42.0.1" and nic["id"] == f"nic-{server}-1"
    assert time.monotonic() - started < 30
    attachments = network(api, net_id)["attachments"]["values"]
    assert attachments == [nic["id"]]
    api.disconnect(net_id, nic["id"])   # raises unless 202
    wait_for("the NIC to go", lambda: not nics_on(api, server, net_id), timeout=30)
    api.wait_server(server, "ACTIVE", timeout=60)
    assert len(nics(api, server)) == 1  # the public NIC stays
    delete_network(api, net_id)


def test_firewall_profile_is_the_last_asked_for(api, server, rapi, deployment):
    instance = f"{deployment.prefix_id}{server}"
    for profile in ["ENABLED", "DISABLED", "DISABLED", "PROTECTED", "ENABLED", "PROTECTED"]:
        api.set_firewall_profile(server, profile)
        api.wait_server(server, "ACTIVE", timeout=60)
        tags = [t for t in rapi.get_instance_tags(instance) if t.startswith("synnefo:network:")]
        assert tags == [FIREWALL_TAGS[profile]]
        wait_for(f"profile {profile}", lambda p=profile: nics(api, server)[0].get("firewallProfile") == p,
                 timeout=30)


def pool_map(deployment, net_id):
    out = deployment.manage("network-inspect", str(net_id)).stdout
    return re.findall(r"^\s*\d+ ([.X]+)$", out, re.M), out


def test_failed_creates_and_connects_give_every_address_back(api, deployment, server, make_server):
    if deployment.stack == "real_ganeti":
        pytest.skip("failure injection is the simulator's")
    public_id = nics(api, server)[0]["network_id"]
    public_before, _ = pool_map(deployment, public_id)
    net_id = create_network(api, "e2e-leaks", "10.43.0.0/29")
    try:
        deployment.inject_failures("OP_INSTANCE_CREATE", "OP_INSTANCE_SET_PARAMS")
        failed = [make_server(f"e2e-fails-{i}")["id"] for i in range(3)]
        for sid in failed:
            api.wait_server(sid, "ERROR", timeout=60)
        for _ in range(7):  # more connects than the /29 has addresses
            connect(api, net_id, server)
            api.wait_server(server, "ACTIVE", timeout=60)
            latest = api.get_server(server)["diagnostics"][0]
            assert "e2e: injected OP_INSTANCE_SET_PARAMS failure" in latest["message"], latest
            assert not nics_on(api, server, net_id)
    finally:
        deployment.inject_failures()
    assert pool_map(deployment, public_id)[0] == public_before
    connect(api, net_id, server)
    [nic] = wait_for("the NIC", lambda: nics_on(api, server, net_id), timeout=30)
    assert nic["ipv4"] == "10.43.0.1"  # the lowest address: none was lost
    api.wait_server(server, "ACTIVE", timeout=60)
    api.disconnect(net_id, nic["id"])
    wait_for("the NIC to go", lambda: not nics_on(api, server, net_id), timeout=30)
    api.wait_server(server, "ACTIVE", timeout=60)
    delete_network(api, net_id)
    for sid in failed:
        api.delete_server(sid)


def reconcile(deployment, command, *args):
    return {(f["kind"], f["object"]): f for f in json.loads(
        deployment.manage(command, *args, "--output", "json", check=False).stdout or "[]")}


def test_nic_of_a_failed_connect_kept_by_ganeti_does_not_hold_a_deleted_network(api, deployment, server,
                                                                                 rapi):
    """A connect whose job Ganeti reports failed after adding the NIC (its
    master died mid-job): the user sees the failure and no NIC, so deleting
    the network is accepted; Ganeti refuses it while the NIC is there, and
    reconciliation removes the NIC, then the network."""
    if deployment.stack == "real_ganeti":
        pytest.skip("failure injection is the simulator's")
    instance = f"{deployment.prefix_id}{server}"
    net_id = create_network(api, "e2e-ghost", "10.45.0.0/29")
    ganeti_name = f"{deployment.prefix_id}net-{net_id}"
    deployment.inject_failures("OP_INSTANCE_SET_PARAMS", after_change=True)
    try:
        connect(api, net_id, server)
        api.wait_server(server, "ACTIVE", timeout=60)
    finally:
        deployment.inject_failures()
    assert "injected OP_INSTANCE_SET_PARAMS failure" in api.get_server(server)["diagnostics"][0]["message"]
    assert not nics_on(api, server, net_id)
    assert ganeti_name in rapi.get_instance(instance)["nic.networks.names"]  # Ganeti kept it

    api.delete_network(net_id)  # 204: no NIC is known on it
    found = wait_for("the delete to fail in Ganeti", lambda: reconcile(
        deployment, "reconcile-networks").get(("undestroyed", f"network {net_id}")), timeout=30)
    assert f"used there by server {server}" in found["details"], found
    assert not reconcile(deployment, "reconcile-servers", "--all", "--fix-all")  # the NIC is not adopted
    assert not nics_on(api, server, net_id)
    fixed = reconcile(deployment, "reconcile-networks", "--fix-all")[("undestroyed", f"network {net_id}")]
    assert fixed["result"] == "fixed", fixed
    wait_for(f"network {net_id} gone",
             lambda: (network(api, net_id) or {"status": "DELETED"})["status"] == "DELETED", timeout=30)
    assert ganeti_name not in rapi.get_instance(instance)["nic.networks.names"]
    assert ganeti_name not in rapi.get_networks()
    api.wait_server(server, "ACTIVE", timeout=60)
    assert [n["network_id"] for n in nics(api, server)] == [nics(api, server)[0]["network_id"]]


def test_connect_ganeti_refuses_shows_its_reason_and_gives_the_address_back(api, deployment, server):
    """On real Ganeti: a network whose bridge is missing on the node (an
    operator's network with a link nobody made); on the simulator, which does
    not check bridges, the same refusal injected."""
    out = deployment.manage("network-create", "--name", "e2e-nobridge", "--subnet", "10.44.0.0/29",
                            "--owner", "demo@example.org", "--type", "CUSTOM_BRIDGED",
                            "--link", "snfnobridge", "--dhcp").stdout
    net_id = int(re.search(r"Created network (\d+)", out).group(1))
    wait_for(f"network {net_id} ACTIVE", lambda: (network(api, net_id) or {}).get("status") == "ACTIVE")
    if deployment.stack != "real_ganeti":
        deployment.inject_failures("OP_INSTANCE_SET_PARAMS")
    try:
        for _ in range(2):
            connect(api, net_id, server)
            api.wait_server(server, "ACTIVE", timeout=60)
            latest = api.get_server(server)["diagnostics"][0]
            assert latest["level"] == "ERROR"
            if deployment.stack == "real_ganeti":
                assert "Missing bridges" in latest["message"] and "snfnobridge" in latest["message"], latest
            assert not nics_on(api, server, net_id)
    finally:
        if deployment.stack != "real_ganeti":
            deployment.inject_failures()
    free, text = pool_map(deployment, net_id)
    assert "".join(free)[1] == ".", text  # 10.44.0.1 is free again
    delete_network(api, net_id)


def test_network_ganeti_would_not_create_is_error_and_deletable(api, deployment):
    if deployment.stack == "real_ganeti":
        pytest.skip("failure injection is the simulator's")
    deployment.inject_failures("OP_NETWORK_ADD")
    try:
        net_id = api.create_network("e2e-error", cidr="10.45.0.0/29")["id"]   # raises unless 202
        api.wait_network(net_id, "ERROR", timeout=60)
    finally:
        deployment.inject_failures()
    delete_network(api, net_id)
