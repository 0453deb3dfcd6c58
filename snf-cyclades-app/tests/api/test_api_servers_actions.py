"""Server actions, metadata, addresses, stats and diagnostics (spec 02-api §4.5-§4.9)."""

import json
import xml.etree.ElementTree as ET

import pytest
from api_helpers import fault_of, rapi_error
from django.test import override_settings
from synnefo.db.models import (
    Network,
    NetworkInterface,
    VirtualMachine,
    VirtualMachineDiagnostic,
    VirtualMachineMetadata,
)

NS = "{http://docs.openstack.org/compute/api/v1.1}"


@pytest.fixture
def vm(api_world):
    return VirtualMachine.objects.create(name="vm", userid="alice", backend=api_world["backend"],
                                         imageid="img1", flavor=api_world["flavor"], operstate="STARTED")


def action(api_world, vm, body, **kwargs):
    return api_world["api"].post("/servers/%d/action" % vm.id, body, **kwargs)


# --- actions ------------------------------------------------------------------------------

@pytest.mark.parametrize("body,call,args,task", [
    ({"reboot": {"type": "HARD"}}, "reboot_instance", {"type": "hard"}, "REBOOT"),
    ({"reboot": {"type": "SOFT"}}, "reboot_instance", {"type": "soft"}, "REBOOT"),
    ({"shutdown": {}}, "shutdown_instance", {}, "STOP"),
])
def test_actions_submit_jobs(api_world, vm, body, call, args, task):
    response = action(api_world, vm, body)
    assert response.status_code == 202 and response.content == b""
    name, call_args, call_kwargs = api_world["rapi"].last(call)
    assert call_args == ("snf-%d" % vm.id,) and call_kwargs == args
    vm.refresh_from_db()
    assert vm.task == task
    server = json.loads(api_world["api"].get("/servers/%d" % vm.id).content)["server"]
    assert server["SNF:task_state"] == task


def test_start_a_stopped_server(api_world, vm):
    VirtualMachine.objects.filter(pk=vm.id).update(operstate="STOPPED")
    assert action(api_world, vm, {"start": {}}).status_code == 202
    assert api_world["rapi"].last("startup_instance")[1] == ("snf-%d" % vm.id,)


def test_start_on_build_server_is_build_in_progress(api_world, vm):
    VirtualMachine.objects.filter(pk=vm.id).update(operstate="BUILD")
    fault_of(action(api_world, vm, {"start": {}}), "buildInProgress", 409)
    fault_of(action(api_world, vm, {"reboot": {"type": "SOFT"}}), "buildInProgress", 409)
    assert "startup_instance" not in api_world["rapi"].names()


@pytest.mark.parametrize("body,message", [
    ({}, "Malformed request"),
    ({"start": {}, "shutdown": {}}, "Malformed request"),
    ({"start": []}, "Invalid argument"),
    ({"reboot": "HARD"}, "Invalid argument"),
    ({"reboot": {"type": "GENTLE"}}, "Malformed Request."),
    ({"reboot": {}}, "Malformed Request."),
    ({"shutdown": {"force": True}}, "Malformed request"),
    ({"console": {"type": "spice"}}, 'Type can only be "vnc", "vnc-ws" or "vnc-wss".'),
    ({"firewallProfile": {"profile": "OPEN"}}, "Unsupported firewall profile"),
    ({"explode": {}}, "Unknown action"),
])
def test_bad_actions(api_world, vm, body, message):
    assert fault_of(action(api_world, vm, body), "badRequest", 400) == message
    vm.refresh_from_db()
    assert vm.task is None and vm.action is None


@pytest.mark.parametrize("name", ["changePassword", "rebuild", "resize", "confirmResize", "revertResize"])
def test_unsupported_actions(api_world, vm, name):
    message = fault_of(action(api_world, vm, {name: {}}), "serviceUnavailable", 503)
    assert message == "Action %s not supported" % name
    vm.refresh_from_db()
    assert vm.action is None


def test_action_on_deleted_or_suspended_server(api_world, vm):
    VirtualMachine.objects.filter(pk=vm.id).update(suspended=True)
    fault_of(action(api_world, vm, {"shutdown": {}}), "forbidden", 403)
    VirtualMachine.objects.filter(pk=vm.id).update(suspended=False, deleted=True, operstate="DESTROYED")
    fault_of(action(api_world, vm, {"shutdown": {}}), "badRequest", 400)


def test_action_rapi_failure(api_world, vm):
    api_world["rapi"].fail["shutdown_instance"] = rapi_error("node down")
    fault_of(action(api_world, vm, {"shutdown": {}}), "serviceUnavailable", 503)
    vm.refresh_from_db()
    assert vm.task is None and vm.operstate == "STARTED"


def test_action_body_must_be_json(api_world, vm):
    response = action(api_world, vm, None, raw="reboot", content_type="text/plain")
    assert fault_of(response, "badRequest", 400) == "Unsupported Content-Type."


def test_console(api_world, vm, settings):
    settings.CONSOLE_BACKEND = "direct"
    response = action(api_world, vm, {"console": {"type": "vnc"}})
    assert response.status_code == 200
    console = json.loads(response.content)["console"]
    assert (console["type"], console["host"], console["port"]) == ("vnc", "node1.example.org", 11000)
    assert len(console["password"]) == 10
    xml = ET.fromstring(action(api_world, vm, {"console": {"type": "vnc"}}, HTTP_ACCEPT="application/xml")
                        .content)
    assert xml.tag == NS + "console" and xml.get("port") == "11000"
    VirtualMachine.objects.filter(pk=vm.id).update(operstate="STOPPED")
    assert fault_of(action(api_world, vm, {"console": {"type": "vnc"}}), "badRequest", 400) == \
        "Server not in ACTIVE state."


def test_console_without_a_proxy_answering(api_world, vm, settings):
    import socket
    with socket.create_server(("127.0.0.1", 0)) as sock:
        dead = sock.getsockname()[1]
    settings.CONSOLE_BACKEND = "vncauthproxy"
    settings.CYCLADES_VNCAUTHPROXY_OPTS = [{"server_address": "127.0.0.1", "server_port": dead,
                                            "auth_user": "cyclades", "auth_password": "x"}]
    message = fault_of(action(api_world, vm, {"console": {"type": "vnc"}}), "serviceUnavailable", 503)
    assert message.startswith("No console proxy answers (127.0.0.1:%d: " % dead), message


def test_firewall_profile(api_world, vm):
    response = action(api_world, vm, {"firewallProfile": {"profile": "PROTECTED"}})
    assert response.status_code == 202
    rapi = api_world["rapi"]
    assert "add_instance_tags" in rapi.names() and "modify_instance" in rapi.names()
    vm.refresh_from_db()
    assert vm.task == "FIREWALL"


# --- metadata -------------------------------------------------------------------------------

def test_metadata_crud(api_world, vm):
    api = api_world["api"]
    base = "/servers/%d/meta" % vm.id
    assert json.loads(api.get(base).content) == {"metadata": {"values": {}}}
    response = api.post(base, {"metadata": {"OS": "debian", "role": "web"}})
    assert response.status_code == 201
    assert json.loads(response.content) == {"metadata": {"OS": "debian", "role": "web"}}
    response = api.post(base, {"metadata": {"role": "db"}})
    assert json.loads(response.content) == {"metadata": {"OS": "debian", "role": "db"}}
    assert json.loads(api.get(base + "/OS").content) == {"meta": {"OS": "debian"}}
    response = api.put(base + "/OS", {"meta": {"OS": "ubuntu"}})
    assert response.status_code == 201 and json.loads(response.content) == {"meta": {"OS": "ubuntu"}}
    assert api.put(base + "/new key", {"meta": {"new key": "v"}}).status_code == 201
    assert api.delete(base + "/role").status_code == 204
    assert json.loads(api.get(base + ".json").content) == {
        "metadata": {"values": {"OS": "ubuntu", "new key": "v"}}}
    xml = ET.fromstring(api.get(base + "/OS.xml").content)
    assert (xml.tag, xml.get("key"), xml.text) == (NS + "meta", "OS", "ubuntu")


def test_metadata_writes_bump_updated(api_world, vm):
    before = VirtualMachine.objects.get(pk=vm.id).updated
    api_world["api"].put("/servers/%d/meta/OS" % vm.id, {"meta": {"OS": "x"}})
    assert VirtualMachine.objects.get(pk=vm.id).updated > before


def test_metadata_faults(api_world, vm):
    api = api_world["api"]
    base = "/servers/%d/meta" % vm.id
    assert fault_of(api.get(base + "/nope"), "itemNotFound", 404) == "Metadata key not found."
    assert fault_of(api.delete(base + "/nope"), "itemNotFound", 404) == "Metadata key not found."
    fault_of(api.post(base, {"metadata": ["x"]}), "badRequest", 400)
    fault_of(api.post(base, {"metadata": {"k": 5}}), "badRequest", 400)
    fault_of(api.post(base, {"metadata": {"k" * 51: "v"}}), "badRequest", 400)
    fault_of(api.post(base, {"metadata": {"k": "v" * 501}}), "badRequest", 400)
    fault_of(api.put(base + "/OS", {"meta": {"os": "x"}}), "badRequest", 400)
    fault_of(api.put(base + "/OS", {"meta": {"OS": "x", "more": "y"}}), "badRequest", 400)
    fault_of(api.put(base + "/OS", {"OS": "x"}), "badRequest", 400)
    fault_of(api.post(base, {"metadata": {"k%d" % i: "v" for i in range(11)}}), "badRequest", 400)
    assert not VirtualMachineMetadata.objects.exists()
    VirtualMachine.objects.filter(pk=vm.id).update(suspended=True)
    fault_of(api.put(base + "/OS", {"meta": {"OS": "x"}}), "forbidden", 403)


# --- addresses ------------------------------------------------------------------------------

def test_addresses(api_world, vm):
    public = api_world["public"]
    NetworkInterface.objects.create(machine=vm, network=public, index=0, mac="aa:00:00:00:00:01",
                                    ipv4="192.0.2.2")
    api = api_world["api"]
    values = json.loads(api.get("/servers/%d/ips" % vm.id).content)["addresses"]["values"]
    assert [(v["id"], v["ipv4"]) for v in values] == [("nic-%d-0" % vm.id, "192.0.2.2")]
    nic = json.loads(api.get("/servers/%d/ips/%d" % (vm.id, public.id)).content)["network"]
    assert nic["network_id"] == str(public.id) and nic["mac_address"] == "aa:00:00:00:00:01"
    xml = ET.fromstring(api.get("/servers/%d/ips.xml" % vm.id).content)
    assert xml.tag == NS + "addresses" and xml[0].get("ipv4") == "192.0.2.2"
    assert fault_of(api.get("/servers/%d/ips/424242" % vm.id), "itemNotFound", 404) == "Network not found."
    bobs = Network.objects.create(name="bobnet", userid="bob", mac_prefix="aa:00:1", link="l1")
    assert fault_of(api.get("/servers/%d/ips/%d" % (vm.id, bobs.id)), "itemNotFound", 404) == \
        "Network not found."
    own = Network.objects.create(name="mine", userid="alice", mac_prefix="aa:00:2", link="l2")
    assert fault_of(api.get("/servers/%d/ips/%d" % (vm.id, own.id)), "itemNotFound", 404) == \
        "Server not connected to this network."


# --- stats and diagnostics -----------------------------------------------------------------

@override_settings(CPU_BAR_GRAPH_URL="http://stats/%s/cpu-bar.png", STATS_REFRESH_PERIOD=30)
def test_stats(api_world, vm):
    stats = json.loads(api_world["api"].get("/servers/%d/stats" % vm.id).content)["stats"]
    assert stats["serverRef"] == vm.id and stats["refresh"] == 30
    assert stats["cpuBar"] == "http://stats/snf-%d/cpu-bar.png" % vm.id
    assert set(stats) == {"serverRef", "refresh", "cpuBar", "cpuTimeSeries", "netBar", "netTimeSeries"}
    xml = ET.fromstring(api_world["api"].get("/servers/%d/stats.xml" % vm.id).content)
    assert xml.tag == NS + "stats" and xml.get("refresh") == "30"


def test_diagnostics(api_world, vm):
    api = api_world["api"]
    assert json.loads(api.get("/servers/%d/diagnostics" % vm.id).content) == []
    VirtualMachineDiagnostic.objects.create(machine=vm, level="INFO", source="image", message="first")
    VirtualMachineDiagnostic.objects.create(machine=vm, level="ERROR", source="image", message="second",
                                            details="trace")
    response = api.get("/servers/%d/diagnostics.xml" % vm.id)
    assert response["Content-Type"].startswith("application/json")
    body = json.loads(response.content)
    assert [(d["message"], d["level"], d["details"]) for d in body] == [
        ("second", "ERROR", "trace"), ("first", "INFO", None)]


# --- XML of every read endpoint --------------------------------------------------------------

def test_every_read_endpoint_in_xml(api_world, vm):
    VirtualMachineMetadata.objects.create(vm=vm, meta_key="OS", meta_value="debian")
    NetworkInterface.objects.create(machine=vm, network=api_world["public"], index=0,
                                    mac="aa:00:00:00:00:01", ipv4="192.0.2.2")
    api = api_world["api"]
    base = "/servers/%d" % vm.id
    expected = {
        "/servers": "servers", "/servers/detail": "servers", base: "server", base + "/meta": "metadata",
        base + "/meta/OS": "meta", base + "/ips": "addresses",
        base + "/ips/%d" % api_world["public"].id: "network", base + "/stats": "stats",
    }
    for path, root in expected.items():
        for response in (api.get(path + ".xml"), api.get(path, HTTP_ACCEPT="application/xml")):
            assert response.status_code == 200, (path, response.content)
            assert response["Content-Type"] == "application/xml; charset=UTF-8"
            assert ET.fromstring(response.content).tag == NS + root, path
    metadata = ET.fromstring(api.get(base + "/meta.xml").content)
    assert [(m.get("key"), m.text) for m in metadata] == [("OS", "debian")]
    response = api.post(base + "/meta.xml", {"metadata": {"role": "web"}})
    assert response.status_code == 201
    assert {m.get("key") for m in ET.fromstring(response.content)} == {"OS", "role"}


def test_fault_in_xml_for_an_action(api_world, vm):
    response = action(api_world, vm, {"explode": {}}, HTTP_ACCEPT="application/xml")
    root = ET.fromstring(response.content)
    assert response.status_code == 400 and root.tag == NS + "badRequest" and root.get("code") == "400"
    assert root.find(NS + "message").text == "Unknown action"


def test_building_server_progress_and_flavor_as_string(api_world):
    building = VirtualMachine.objects.create(name="b", userid="alice", backend=api_world["backend"],
                                             imageid="img1", flavor=api_world["flavor"], operstate="BUILD",
                                             buildpercentage=40)
    server = json.loads(api_world["api"].get("/servers/%d" % building.id).content)["server"]
    assert (server["status"], server["progress"]) == ("BUILD", 40)
    body = {"server": {"name": "s", "imageRef": "img1", "flavorRef": str(api_world["flavor"].id)}}
    assert api_world["api"].post("/servers", body).status_code == 202


# --- pending tasks: shown at once, queued, or refused naming the pending one ---------------

def server_of(api_world, vm):
    return json.loads(api_world["api"].get("/servers/%d" % vm.id).content)["server"]


def test_status_shows_the_accepted_action_at_once(api_world, vm):
    assert action(api_world, vm, {"reboot": {"type": "SOFT"}}).status_code == 202
    server = server_of(api_world, vm)
    assert (server["status"], server["SNF:task_state"]) == ("REBOOT", "REBOOT")
    assert action(api_world, vm, {"shutdown": {}}).status_code == 202  # queued behind it
    server = server_of(api_world, vm)
    assert (server["status"], server["SNF:task_state"]) == ("ACTIVE", "STOP")


def test_actions_that_can_follow_the_pending_one_are_queued(api_world, vm):
    assert action(api_world, vm, {"firewallProfile": {"profile": "ENABLED"}}).status_code == 202
    assert action(api_world, vm, {"reboot": {"type": "SOFT"}}).status_code == 202
    assert action(api_world, vm, {"reboot": {"type": "HARD"}}).status_code == 202
    assert api_world["rapi"].names().count("reboot_instance") == 2
    assert server_of(api_world, vm)["status"] == "REBOOT"


def test_contradicting_action_is_refused_naming_the_pending_task(api_world, vm):
    assert action(api_world, vm, {"shutdown": {}}).status_code == 202
    message = fault_of(action(api_world, vm, {"start": {}}), "badRequest", 400)
    assert "pending 'STOP' task" in message
    assert "startup_instance" not in api_world["rapi"].names()


def test_rename_and_metadata_writes_on_a_deleted_server_are_refused(api_world, vm):
    VirtualMachine.objects.filter(pk=vm.id).update(deleted=True, operstate="DESTROYED")
    api = api_world["api"]
    base = "/servers/%d" % vm.id
    for response in (api.put(base, {"server": {"name": "new"}}),
                     api.post(base + "/meta", {"metadata": {"k": "v"}}),
                     api.put(base + "/meta/k", {"meta": {"k": "v"}}),
                     api.delete(base + "/meta/k")):
        assert fault_of(response, "badRequest", 400) == "Server has been deleted."
    vm.refresh_from_db()
    assert vm.name == "vm" and not VirtualMachineMetadata.objects.filter(vm=vm).exists()
