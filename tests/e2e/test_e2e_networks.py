"""Private networks and the firewall through the API, over real processes
(issue 10 items 6 and 7): on the embedded default (simulator) and on the real
Ganeti stack, a user creates a network, sees it ACTIVE, connects a server and
sees the NIC, disconnects it and sees it go, deletes the network; the
firewall profile is always the one last asked for; and on the simulator's
failure injection, failed creates and connects give every address back."""

import re
import time

import pytest
import requests
from synnefo.tools.quickstart import _wait_for

FIREWALL_TAGS = {"ENABLED": "synnefo:network:0:protected", "DISABLED": "synnefo:network:0:unprotected",
                 "PROTECTED": "synnefo:network:0:limited"}


def wait_for(what, predicate, timeout=60):
    """``predicate()``'s first true value (quickstart's poll: QuickstartError after ``timeout``)."""
    return _wait_for(predicate, timeout, what)


def network(api, net_id):
    r = api.get(f"/networks/{net_id}")
    return r.json()["network"] if r.status_code == 200 else None


def create_network(api, name, cidr, **extra):
    r = api.post("/networks", {"network": {"name": name, "cidr": cidr, **extra}})
    assert r.status_code == 202, r.text
    net = r.json()["network"]
    wait_for(f"network {net['id']} ACTIVE", lambda: (network(api, net["id"]) or {}).get("status") == "ACTIVE")
    return net["id"]


def nics(api, server_id):
    return api.server(server_id).get("attachments", {}).get("values", [])


def nics_on(api, server_id, net_id):
    return [n for n in nics(api, server_id) if n["network_id"] == str(net_id)]


def connect(api, net_id, server_id):
    r = api.post(f"/networks/{net_id}/action", {"add": {"serverRef": server_id}})
    assert r.status_code == 202, r.text


def delete_network(api, net_id):
    r = api.delete(f"/networks/{net_id}")
    assert r.status_code == 204, r.text
    wait_for(f"network {net_id} gone",
             lambda: (network(api, net_id) or {"status": "DELETED"})["status"] == "DELETED")


@pytest.fixture
def server(api):
    server = api.create_server("e2e-net")
    api.wait_status(server["id"], "ACTIVE", timeout=120)
    yield server["id"]
    api.delete(f"/servers/{server['id']}")


@pytest.mark.parametrize("net_type", ["PRIVATE_MAC_FILTERED", "PRIVATE_PHYSICAL_VLAN"])
def test_private_network_lifecycle(api, server, net_type):
    net_id = create_network(api, f"e2e-{net_type.lower()}", "10.42.0.0/29", type=net_type)
    started = time.monotonic()
    connect(api, net_id, server)
    # a delete while the connect is pending is refused, not accepted then failed
    r = api.delete(f"/networks/{net_id}")
    assert r.status_code == 421, r.text
    [nic] = wait_for("the new NIC", lambda: nics_on(api, server, net_id), timeout=30)
    api.wait_status(server, "ACTIVE")
    assert nic["ipv4"] == "10.42.0.1" and nic["id"] == f"nic-{server}-1"
    assert time.monotonic() - started < 30
    attachments = network(api, net_id)["attachments"]["values"]
    assert attachments == [nic["id"]]
    r = api.post(f"/networks/{net_id}/action", {"remove": {"attachment": nic["id"]}})
    assert r.status_code == 202, r.text
    wait_for("the NIC to go", lambda: not nics_on(api, server, net_id), timeout=30)
    api.wait_status(server, "ACTIVE")
    assert len(nics(api, server)) == 1  # the public NIC stays
    delete_network(api, net_id)


def test_firewall_profile_is_the_last_asked_for(api, server, rapi, deployment):
    instance = f"{deployment.prefix_id}{server}"
    for profile in ["ENABLED", "DISABLED", "DISABLED", "PROTECTED", "ENABLED", "PROTECTED"]:
        api.action(server, {"firewallProfile": {"profile": profile}})
        api.wait_status(server, "ACTIVE")
        tags = [t for t in rapi.get_instance_tags(instance) if t.startswith("synnefo:network:")]
        assert tags == [FIREWALL_TAGS[profile]]
        wait_for(f"profile {profile}", lambda p=profile: nics(api, server)[0].get("firewallProfile") == p,
                 timeout=30)


def pool_map(deployment, net_id):
    out = deployment.manage("network-inspect", str(net_id)).stdout
    return re.findall(r"^\s*\d+ ([.X]+)$", out, re.M), out


def sim_fail(deployment, *opcodes):
    sim = deployment.sim
    rules = {"fail_rules": [{"opcode": op, "message": "e2e: injected %s failure" % op} for op in opcodes]}
    auth = (deployment.info["rapi_user"], deployment.info["rapi_password"])
    r = requests.put(sim["url"] + "/sim/config", json=rules, auth=auth, verify=sim["cert"], timeout=10)
    assert r.status_code == 200, r.text


def test_failed_creates_and_connects_give_every_address_back(api, deployment, server):
    if deployment.stack == "real_ganeti":
        pytest.skip("failure injection is the simulator's")
    public_id = nics(api, server)[0]["network_id"]
    public_before, _ = pool_map(deployment, public_id)
    net_id = create_network(api, "e2e-leaks", "10.43.0.0/29")
    try:
        sim_fail(deployment, "OP_INSTANCE_CREATE", "OP_INSTANCE_SET_PARAMS")
        failed = [api.create_server(f"e2e-fails-{i}")["id"] for i in range(3)]
        for sid in failed:
            api.wait_status(sid, "ERROR")
        for _ in range(7):  # more connects than the /29 has addresses
            connect(api, net_id, server)
            api.wait_status(server, "ACTIVE")
            latest = api.server(server)["diagnostics"][0]
            assert "e2e: injected OP_INSTANCE_SET_PARAMS failure" in latest["message"], latest
            assert not nics_on(api, server, net_id)
    finally:
        sim_fail(deployment)
    assert pool_map(deployment, public_id)[0] == public_before
    connect(api, net_id, server)
    [nic] = wait_for("the NIC", lambda: nics_on(api, server, net_id), timeout=30)
    assert nic["ipv4"] == "10.43.0.1"  # the lowest address: none was lost
    api.wait_status(server, "ACTIVE")
    api.post(f"/networks/{net_id}/action", {"remove": {"attachment": nic["id"]}})
    wait_for("the NIC to go", lambda: not nics_on(api, server, net_id), timeout=30)
    api.wait_status(server, "ACTIVE")
    delete_network(api, net_id)
    for sid in failed:
        api.delete(f"/servers/{sid}")


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
        sim_fail(deployment, "OP_INSTANCE_SET_PARAMS")
    try:
        for _ in range(2):
            connect(api, net_id, server)
            api.wait_status(server, "ACTIVE")
            latest = api.server(server)["diagnostics"][0]
            assert latest["level"] == "ERROR"
            if deployment.stack == "real_ganeti":
                assert "Missing bridges" in latest["message"] and "snfnobridge" in latest["message"], latest
            assert not nics_on(api, server, net_id)
    finally:
        if deployment.stack != "real_ganeti":
            sim_fail(deployment)
    free, text = pool_map(deployment, net_id)
    assert "".join(free)[1] == ".", text  # 10.44.0.1 is free again
    delete_network(api, net_id)
