"""Servers API (spec 02-api §4.2-§4.4): list/detail with changes-since, create
with its validation and limits, get, rename, delete, owner scoping, RAPI
failures, constant query count and concurrent creates."""

import datetime
import json
import threading
import xml.etree.ElementTree as ET

import pytest
from api_helpers import fault_of, make_user, rapi_error
from django.db import connection, connections
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from synnefo.db.models import (
    Image,
    NetworkInterface,
    User,
    VirtualMachine,
    VirtualMachineDiagnostic,
    VirtualMachineMetadata,
)

NS = "{http://docs.openstack.org/compute/api/v1.1}"


def create_body(world, **server):
    server.setdefault("name", "web")
    server.setdefault("imageRef", world["image"].id)
    server.setdefault("flavorRef", world["flavor"].id)
    return {"server": server}


def create(world, api=None, **server):
    return (api or world["api"]).post("/servers", create_body(world, **server))


def make_vm(world, userid="alice", **fields):
    fields.setdefault("operstate", "STARTED")
    return VirtualMachine.objects.create(name=fields.pop("name", "vm"), userid=userid,
                                         backend=world["backend"], imageid="img1",
                                         flavor=world["flavor"], **fields)


# --- create --------------------------------------------------------------------------------

def test_create_returns_build_server_with_password_once(api_world):
    response = create(api_world, metadata={"OS": "debian"})
    assert response.status_code == 202, response.content
    server = json.loads(response.content)["server"]
    password = server["adminPass"]
    assert len(password) == 10 and password.isalnum()
    assert server["status"] == "BUILD" and server["name"] == "web"
    assert server["flavorRef"] == api_world["flavor"].id and server["imageRef"] == "img1"
    assert server["metadata"] == {"values": {"OS": "debian"}}
    assert server["hostId"] == "" and server["suspended"] is False
    assert server["SNF:task_state"] == "BUILD"
    assert "create_instance" in api_world["rapi"].names()
    vm = VirtualMachine.objects.get(pk=server["id"])
    assert (vm.userid, vm.operstate, vm.action, vm.backendjobid) == ("alice", "BUILD", "CREATE", 100)
    again = json.loads(api_world["api"].get("/servers/%d" % vm.id).content)["server"]
    assert "adminPass" not in again


def test_create_in_xml(api_world):
    response = api_world["api"].post("/servers.xml", create_body(api_world))
    assert response.status_code == 202
    root = ET.fromstring(response.content)
    assert root.tag == NS + "server" and root.get("status") == "BUILD"
    assert len(root.get("adminPass")) == 10


@pytest.mark.parametrize("body", [
    {},
    {"server": []},
    {"server": {"name": "x", "imageRef": "img1"}},
    {"server": {"name": "x", "flavorRef": 1}},
    {"server": {"imageRef": "img1", "flavorRef": 1}},
    {"server": {"name": "x", "imageRef": "img1", "flavorRef": 1, "metadata": []}},
    {"server": {"name": "x", "imageRef": "img1", "flavorRef": 1, "personality": {}}},
    {"server": {"name": "x", "imageRef": ["img1"], "flavorRef": 1}},
    {"server": {"name": "x", "imageRef": "img1", "flavorRef": "one"}},
    {"server": {"name": "x", "imageRef": "img1", "flavorRef": True}},
])
def test_create_malformed(api_world, body):
    assert fault_of(api_world["api"].post("/servers", body), "badRequest", 400) == "Malformed request"
    assert not VirtualMachine.objects.exists()


def test_create_bad_json_and_content_type(api_world):
    api = api_world["api"]
    assert fault_of(api.post("/servers", raw="{no json"), "badRequest", 400) == "Invalid JSON data."
    response = api.post("/servers", raw=json.dumps(create_body(api_world)), content_type="text/plain")
    assert fault_of(response, "badRequest", 400) == "Unsupported Content-Type."
    assert fault_of(api.post("/servers", raw="[1]"), "badRequest", 400) == "Malformed request"


@pytest.mark.parametrize("name", ["", "x" * 256, 42, None])
def test_create_bad_name(api_world, name):
    fault_of(create(api_world, name=name), "badRequest", 400)
    assert not VirtualMachine.objects.exists()


def test_create_bad_metadata(api_world):
    fault_of(create(api_world, metadata={"k" * 51: "v"}), "badRequest", 400)
    fault_of(create(api_world, metadata={"k": "v" * 501}), "badRequest", 400)
    fault_of(create(api_world, metadata={"k": 1}), "badRequest", 400)
    too_many = {"k%d" % i: "v" for i in range(11)}
    fault_of(create(api_world, metadata=too_many), "badRequest", 400)
    assert not VirtualMachine.objects.exists()


def test_create_personality_limits(api_world):
    item = {"path": "/etc/motd", "contents": "aGVsbG8="}
    message = fault_of(create(api_world, personality=[item] * 6), "overLimit", 413)
    assert message == "Maximum number of personalities exceeded"
    big = {"path": "/x", "contents": "A" * 20000}
    assert fault_of(create(api_world, personality=[big]), "overLimit", 413) == \
        "Maximum size of personality exceeded"
    for bad in ({"path": "/x"}, {"contents": "aGVsbG8=", "color": "red"}, "text",
                {"path": "/x", "contents": "not base64!"}):
        assert fault_of(create(api_world, personality=[bad]), "badRequest", 400) == \
            "Malformed personality in request"
    assert create(api_world, personality=[item] * 5).status_code == 202


def test_create_unknown_flavor_or_image(api_world):
    assert fault_of(create(api_world, flavorRef=999), "itemNotFound", 404) == "Flavor not found."
    assert fault_of(create(api_world, flavorRef=10 ** 30), "itemNotFound", 404) == "Flavor not found."
    assert fault_of(create(api_world, flavorRef="7" * 40), "itemNotFound", 404) == "Flavor not found."
    assert fault_of(create(api_world, imageRef="x" * 300), "itemNotFound", 404) == "Image not found."
    assert fault_of(create(api_world, imageRef="nope"), "itemNotFound", 404) == "Image not found."
    Image.objects.create(id="bobs", name="private", location="pithos://b/c/o", owner="bob", public=False)
    assert fault_of(create(api_world, imageRef="bobs"), "itemNotFound", 404) == "Image not found."
    api_world["flavor"].deleted = True
    api_world["flavor"].save()
    fault_of(create(api_world), "itemNotFound", 404)
    assert not VirtualMachine.objects.exists()


def test_create_refused_by_ganeti_is_error_with_the_reason_and_releases_the_ip(api_world):
    """The POST answers before Ganeti is asked (synnefo.logic.create_submit):
    a refusal shows on the server as ERROR with Ganeti's reason, its address
    goes back to the pool, and the server counts until it is deleted."""
    rapi = api_world["rapi"]
    rapi.fail["create_instance"] = rapi_error("cluster on fire")
    response = create(api_world)
    assert response.status_code == 202
    server_id = json.loads(response.content)["server"]["id"]
    failed_nics = rapi.last("create_instance")[2]["nics"]
    shown = json.loads(api_world["api"].get("/servers/%d" % server_id).content)["server"]
    assert shown["status"] == "ERROR"
    vm = VirtualMachine.objects.get(pk=server_id)
    assert "cluster on fire" in vm.backendlogmsg and vm.task is None and not vm.deleted
    assert VirtualMachineDiagnostic.objects.filter(machine=vm, level="ERROR",
                                                   message__contains="cluster on fire").exists()
    assert not vm.pending_nics.exists() and not vm.nics.exists()
    del rapi.fail["create_instance"]
    assert create(api_world).status_code == 202
    # the failed create released its public IP: the next server gets the same one
    assert rapi.last("create_instance")[2]["nics"] == failed_nics


def test_create_without_backend_is_service_unavailable(api_world):
    api_world["backend"].offline = True
    api_world["backend"].save()
    assert fault_of(create(api_world), "serviceUnavailable", 503) == "No available backends"


@override_settings(MAX_VMS_PER_USER=2)
def test_server_limit_and_per_user_override(api_world):
    assert create(api_world).status_code == 202
    assert create(api_world).status_code == 202
    message = fault_of(create(api_world), "overLimit", 413)
    assert message == "Server count limit exceeded for your account."
    assert VirtualMachine.objects.filter(userid="alice").count() == 2
    User.objects.filter(uniq="alice").update(max_vms=3)
    assert create(api_world).status_code == 202
    fault_of(create(api_world), "overLimit", 413)
    # deleted servers do not count
    VirtualMachine.objects.filter(userid="alice").update(deleted=True, operstate="DESTROYED")
    assert create(api_world).status_code == 202


@override_settings(MAX_VMS_PER_USER=1, VMS_USER_QUOTA={"bob": 2})
def test_server_limit_settings_override(api_world):
    bob = api_world["bob_api"]
    assert create(api_world, api=bob).status_code == 202
    assert create(api_world, api=bob).status_code == 202
    fault_of(create(api_world, api=bob), "overLimit", 413)


@pytest.mark.django_db(transaction=True)
@override_settings(MAX_VMS_PER_USER=2)
def test_concurrent_creates_cannot_pass_the_limit(api_rapi):
    if not connection.features.has_select_for_update:
        pytest.skip("SQLite serialises writers and ignores SELECT FOR UPDATE; "
                    "run with SYNNEFO_SETTINGS_DIR=ci/settings/postgres or mariadb")
    from api_helpers import make_world
    world = make_world()
    barrier = threading.Barrier(6)
    statuses = []

    def worker():
        try:
            barrier.wait()
            statuses.append(create(world).status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(statuses) == [202, 202, 413, 413, 413, 413]
    assert VirtualMachine.objects.filter(userid="alice", deleted=False).count() == 2


# --- list / detail ---------------------------------------------------------------------------

def test_list_and_detail_only_own_live_servers(api_world):
    first = make_vm(api_world, name="one")
    second = make_vm(api_world, name="two", operstate="STOPPED")
    make_vm(api_world, name="gone", deleted=True, operstate="DESTROYED")
    make_vm(api_world, userid="bob", name="bobs")
    for path in ("/servers", "/servers/", "/servers.json"):
        listed = json.loads(api_world["api"].get(path).content)
        assert listed == {"servers": {"values": [{"id": first.id, "name": "one"},
                                                 {"id": second.id, "name": "two"}]}}
    detail = json.loads(api_world["api"].get("/servers/detail").content)["servers"]["values"]
    assert [(s["name"], s["status"], s["progress"]) for s in detail] == [
        ("one", "ACTIVE", 100), ("two", "STOPPED", 0)]
    assert "metadata" not in detail[0] and "attachments" not in detail[0]


def test_list_xml(api_world):
    vm = make_vm(api_world, name="one")
    response = api_world["api"].get("/servers/detail", HTTP_ACCEPT="application/xml")
    root = ET.fromstring(response.content)
    assert root.tag == NS + "servers"
    (server,) = root
    assert (server.get("id"), server.get("status")) == (str(vm.id), "ACTIVE")


def test_changes_since_reports_deleted_and_304(api_world):
    api = api_world["api"]
    since = (timezone.now() - datetime.timedelta(seconds=1)).isoformat()
    assert api.get("/servers", data={"changes-since": since}).status_code == 304
    vm = make_vm(api_world)
    gone = make_vm(api_world, name="gone", operstate="DESTROYED", deleted=True)
    response = api.get("/servers/detail", data={"changes-since": since})
    values = json.loads(response.content)["servers"]["values"]
    assert {(s["id"], s["status"]) for s in values} == {(vm.id, "ACTIVE"), (gone.id, "DELETED")}
    later = (timezone.now() + datetime.timedelta(seconds=1)).isoformat()
    assert fault_of(api.get("/servers", data={"changes-since": later}), "badRequest", 400) == \
        "changes-since value set in the future."
    fault_of(api.get("/servers", data={"changes-since": "garbage"}), "badRequest", 400)


def populate(world, count):
    for i in range(count):
        vm = make_vm(world, name="vm%d" % i)
        VirtualMachineMetadata.objects.create(vm=vm, meta_key="OS", meta_value="debian")
        NetworkInterface.objects.create(machine=vm, network=world["public"], index=0,
                                        mac="aa:00:00:00:%02x:%02x" % (i // 256, i % 256),
                                        ipv4="192.0.2.%d" % (i % 250 + 2))
        VirtualMachineDiagnostic.objects.create(machine=vm, level="INFO", source="image", message="ok")


def count_queries(api, path):
    with CaptureQueriesContext(connection) as queries:
        response = api.get(path)
    assert response.status_code == 200
    return len(queries), json.loads(response.content)


def test_list_query_count_is_constant(api_world):
    populate(api_world, 3)
    few, body = count_queries(api_world["api"], "/servers/detail")
    assert len(body["servers"]["values"]) == 3
    few_compact, _ = count_queries(api_world["api"], "/servers")
    populate_more = 27
    for i in range(populate_more):
        vm = make_vm(api_world, name="more%d" % i)
        VirtualMachineMetadata.objects.create(vm=vm, meta_key="OS", meta_value="debian")
        NetworkInterface.objects.create(machine=vm, network=api_world["public"], index=0,
                                        mac="aa:00:00:01:00:%02x" % i)
    many, body = count_queries(api_world["api"], "/servers/detail")
    assert len(body["servers"]["values"]) == 30
    assert body["servers"]["values"][0]["attachments"]["values"][0]["ipv4"] == "192.0.2.2"
    assert many == few
    assert count_queries(api_world["api"], "/servers")[0] == few_compact


# --- get / rename / delete -------------------------------------------------------------------

def test_detail_list_shows_each_servers_own_relations(api_world):
    first, second = make_vm(api_world, name="a"), make_vm(api_world, name="b")
    for vm, n in ((first, 3), (second, 2)):
        VirtualMachineMetadata.objects.create(vm=vm, meta_key="name", meta_value=vm.name)
        NetworkInterface.objects.create(machine=vm, network=api_world["public"], index=0,
                                        mac="aa:00:00:00:00:%02x" % vm.id)
        for i in range(n):
            VirtualMachineDiagnostic.objects.create(machine=vm, level="INFO", source="image",
                                                    message="%s-%d" % (vm.name, i))
    third = make_vm(api_world, name="c")  # nothing attached
    servers = json.loads(api_world["api"].get("/servers/detail").content)["servers"]["values"]
    by_name = {s["name"]: s for s in servers}
    assert by_name["a"]["metadata"] == {"values": {"name": "a"}}
    assert by_name["b"]["attachments"]["values"][0]["id"] == "nic-%d-0" % second.id
    assert [d["message"] for d in by_name["a"]["diagnostics"]] == ["a-2"]   # only the latest
    assert [d["message"] for d in by_name["b"]["diagnostics"]] == ["b-1"]
    assert by_name["c"]["id"] == third.id
    assert not {"metadata", "attachments", "diagnostics"} & set(by_name["c"])


def test_get_server_detail(api_world):
    vm = make_vm(api_world, task="STOP")
    VirtualMachineMetadata.objects.create(vm=vm, meta_key="OS", meta_value="debian")
    NetworkInterface.objects.create(machine=vm, network=api_world["public"], index=1,
                                    mac="aa:00:00:00:00:02", ipv4="192.0.2.3", firewall_profile="ENABLED")
    NetworkInterface.objects.create(machine=vm, network=api_world["public"], index=0,
                                    mac="aa:00:00:00:00:01", ipv6="2001:db8::1")
    VirtualMachineDiagnostic.objects.create(machine=vm, level="INFO", source="image", message="old")
    VirtualMachineDiagnostic.objects.create(machine=vm, level="ERROR", source="image", message="new")
    server = json.loads(api_world["api"].get("/servers/%d" % vm.id).content)["server"]
    net = str(api_world["public"].id)
    assert server["attachments"] == {"values": [
        {"id": "nic-%d-0" % vm.id, "network_id": net, "mac_address": "aa:00:00:00:00:01",
         "ipv4": None, "ipv6": "2001:db8::1"},
        {"id": "nic-%d-1" % vm.id, "network_id": net, "mac_address": "aa:00:00:00:00:02",
         "ipv4": "192.0.2.3", "ipv6": None, "firewallProfile": "ENABLED"}]}
    assert server["metadata"] == {"values": {"OS": "debian"}}
    assert server["SNF:task_state"] == "STOP"
    assert [d["message"] for d in server["diagnostics"]] == ["new"]
    assert server["created"].endswith("+00:00")
    xml = ET.fromstring(api_world["api"].get("/servers/%d.xml" % vm.id).content)
    assert xml.tag == NS + "server" and xml.find(NS + "metadata")[0].get("key") == "OS"


def test_get_deleted_server_reports_deleted(api_world):
    vm = make_vm(api_world, deleted=True, operstate="DESTROYED")
    assert json.loads(api_world["api"].get("/servers/%d" % vm.id).content)["server"]["status"] == "DELETED"


def test_another_users_server_is_not_found(api_world):
    vm = make_vm(api_world, userid="bob")
    api = api_world["api"]
    path = "/servers/%d" % vm.id
    assert fault_of(api.get(path), "itemNotFound", 404) == "Server not found."
    fault_of(api.put(path, {"server": {"name": "mine"}}), "itemNotFound", 404)
    fault_of(api.delete(path), "itemNotFound", 404)
    fault_of(api.post(path + "/action", {"start": {}}), "itemNotFound", 404)
    fault_of(api.get(path + "/meta"), "itemNotFound", 404)
    fault_of(api.get("/servers/99999999999999999999"), "itemNotFound", 404)
    assert VirtualMachine.objects.get(pk=vm.id).name == "vm"


def test_rename(api_world):
    vm = make_vm(api_world)
    api = api_world["api"]
    assert api.put("/servers/%d" % vm.id, {"server": {"name": "renamed"}}).status_code == 204
    assert VirtualMachine.objects.get(pk=vm.id).name == "renamed"
    fault_of(api.put("/servers/%d" % vm.id, {"server": {}}), "badRequest", 400)
    fault_of(api.put("/servers/%d" % vm.id, {"server": {"name": "x" * 256}}), "badRequest", 400)
    fault_of(api.put("/servers/%d" % vm.id, {"server": {"name": 5}}), "badRequest", 400)
    VirtualMachine.objects.filter(pk=vm.id).update(suspended=True)
    fault_of(api.put("/servers/%d" % vm.id, {"server": {"name": "again"}}), "forbidden", 403)
    assert VirtualMachine.objects.get(pk=vm.id).name == "renamed"


def test_delete(api_world):
    vm = make_vm(api_world)
    api = api_world["api"]
    response = api.delete("/servers/%d" % vm.id)
    assert response.status_code == 204 and response.content == b""
    assert api_world["rapi"].last("delete_instance")[1] == ("snf-%d" % vm.id,)
    assert VirtualMachine.objects.get(pk=vm.id).action == "DESTROY"
    gone = make_vm(api_world, deleted=True, operstate="DESTROYED")
    fault_of(api.delete("/servers/%d" % gone.id), "badRequest", 400)


def test_delete_rapi_failure(api_world):
    vm = make_vm(api_world)
    api_world["rapi"].fail["delete_instance"] = rapi_error("down")
    fault_of(api_world["api"].delete("/servers/%d" % vm.id), "serviceUnavailable", 503)
    vm.refresh_from_db()
    assert not vm.deleted and vm.task is None


def test_wrong_method_and_unknown_urls(api_world):
    api = api_world["api"]
    vm = make_vm(api_world)
    assert fault_of(api.delete("/servers"), "badRequest", 400) == "Method not allowed."
    assert fault_of(api.post("/servers/detail", {}), "badRequest", 400) == "Method not allowed."
    assert fault_of(api.get("/servers/%d/action" % vm.id), "badRequest", 400) == "Method not allowed."
    assert fault_of(api.get("/servers/abc"), "badRequest", 400) == "Not found."
    assert fault_of(api.get("/servers/%d/nothing" % vm.id), "badRequest", 400) == "Not found."


def test_requires_token(api_world):
    anonymous = make_user("carol")[1]
    anonymous.token = None
    assert fault_of(anonymous.get("/servers"), "unauthorized", 401) == "No user found."


def test_delete_is_allowed_while_building_and_other_actions_wait_for_tasks(api_world):
    building = make_vm(api_world, operstate="BUILD", task="BUILD")
    assert api_world["api"].delete("/servers/%d" % building.id).status_code == 204
    busy = make_vm(api_world, task="STOP")
    response = api_world["api"].post("/servers/%d/action" % busy.id, {"reboot": {"type": "SOFT"}})
    assert "pending 'STOP' task" in fault_of(response, "badRequest", 400)
