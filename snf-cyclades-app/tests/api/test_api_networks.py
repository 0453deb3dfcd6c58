"""Networks API (spec 02-api §7): list/detail/changes-since, create with limits,
get, rename, delete, add/remove actions, owner scoping, and concurrent creates."""

import datetime
import json
import os
import sys
import threading
import xml.etree.ElementTree as ET

import pytest
from django.db import connection, connections
from django.test import Client
from django.utils import timezone
from synnefo.db.models import (
    BackendNetwork,
    Flavor,
    MacPrefixPoolTable,
    Network,
    NetworkInterface,
    User,
    VirtualMachine,
)
from synnefo.logic import backends as backends_mod
from synnefo.logic import servers as servers_mod
from synnefo.logic.users import issue_token

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "logic"))
from logic_helpers import FakeRapi, make_backend, make_public_network  # noqa: E402

API = "/api/v1.1"


class TokenClient:
    """Django's test client sending one user's token."""

    def __init__(self, token):
        self.client = Client()
        self.token = token

    def get(self, path, **extra):
        return self.client.get(API + path, HTTP_X_AUTH_TOKEN=self.token, **extra)

    def send(self, method, path, body=None, content_type="application/json"):
        data = json.dumps(body) if body is not None else ""
        return getattr(self.client, method)(API + path, data, content_type=content_type,
                                            HTTP_X_AUTH_TOKEN=self.token)


@pytest.fixture
def rapi(monkeypatch):
    fake = FakeRapi()
    monkeypatch.setattr(backends_mod, "get_rapi_client", lambda backend: fake)
    monkeypatch.setattr(servers_mod, "get_rapi_client", lambda backend: fake)
    return fake


def make_user(uniq, **fields):
    user = User.objects.create(uniq=uniq, **fields)
    return user, TokenClient(issue_token(user, 0))


@pytest.fixture
def world(db, rapi):
    MacPrefixPoolTable.objects.create(size=256, base="aa:00:0")
    backend = make_backend(updated=timezone.now(), mfree=8000, mtotal=16000, dfree=500000,
                           dtotal=1000000, pinst_cnt=2, ctotal=8)
    public = make_public_network(backend)
    flavor = Flavor.objects.create(cpu=1, ram=1024, disk=20, disk_template="drbd")
    alice, alice_api = make_user("alice")
    bob, bob_api = make_user("bob")
    return {"backend": backend, "public": public, "flavor": flavor, "alice": alice, "api": alice_api,
            "bob": bob, "bob_api": bob_api}


def fault(response, name, code):
    assert response.status_code == code, response.content
    body = json.loads(response.content)
    assert list(body) == [name], body
    assert body[name]["code"] == code
    return body[name]["message"]


def create(api, **network):
    network.setdefault("name", "net")
    return api.send("post", "/networks", {"network": network})


def make_vm(world, userid="alice", **fields):
    return VirtualMachine.objects.create(name="vm", userid=userid, backend=world["backend"],
                                         flavor=world["flavor"], imageid="img1", operstate="STARTED",
                                         **fields)


def activate(network_id):
    Network.objects.filter(pk=network_id).update(state="ACTIVE")
    BackendNetwork.objects.filter(network_id=network_id).update(operstate="ACTIVE")


def local(tag):
    return tag.rsplit("}", 1)[-1]


# --- create -----------------------------------------------------------------------------------

def test_create_private_network(world, rapi):
    response = create(world["api"], name="lan", cidr="10.1.0.0/24", gateway="10.1.0.1", dhcp=False)
    assert response.status_code == 202, response.content
    network = json.loads(response.content)["network"]
    assert network["name"] == "lan" and network["cidr"] == "10.1.0.0/24"
    assert network["gateway"] == "10.1.0.1" and network["dhcp"] is False
    assert network["public"] is False and network["type"] == "PRIVATE_MAC_FILTERED"
    assert network["status"] == "PENDING" and network["attachments"] == {"values": []}
    assert network["cidr6"] is None and network["gateway6"] is None
    row = Network.objects.get(pk=int(network["id"]))
    assert row.userid == "alice" and row.action == "CREATE"
    assert "create_network" in rapi.names()


def test_create_defaults(world):
    network = json.loads(create(world["api"]).content)["network"]
    assert network["cidr"] == "192.168.1.0/24" and network["dhcp"] is True


@pytest.mark.parametrize("body, name, code", [
    ({"name": "n", "public": True}, "forbidden", 403),
    ({"name": "n", "type": "NO_SUCH_TYPE"}, "badRequest", 400),
    ({"name": "n", "type": "CUSTOM_ROUTED"}, "forbidden", 403),
    ({"name": "n", "cidr": "10.0.0.0/16"}, "overLimit", 413),
    ({"name": "n", "cidr": "10.0.0.0/30"}, "overLimit", 413),
    ({"name": "n", "cidr": "not-a-cidr"}, "badRequest", 400),
    ({"name": "n", "cidr": 17}, "badRequest", 400),
    ({"name": "n", "gateway": "10.9.9.9"}, "badRequest", 400),
    ({"name": "n", "dhcp": "yes"}, "badRequest", 400),
    ({"name": "n", "colour": "red"}, "badRequest", 400),
    ({"name": ""}, "badRequest", 400),
    ({"name": "x" * 129}, "badRequest", 400),
    ({"name": "a\x00b"}, "badRequest", 400),
    ({"cidr": "10.0.0.0/24"}, "badRequest", 400),
])
def test_create_faults(world, body, name, code):
    fault(world["api"].send("post", "/networks", {"network": body}), name, code)
    assert not Network.objects.filter(public=False).exists()


def test_create_public_message(world):
    response = create(world["api"], public=True)
    assert fault(response, "forbidden", 403) == "Can not create a public network."


@pytest.mark.parametrize("body", [{"nework": {"name": "n"}}, {"network": "n"}, {"network": ["n"]}])
def test_create_malformed(world, body):
    fault(world["api"].send("post", "/networks", body), "badRequest", 400)


def test_create_needs_json(world):
    response = world["api"].send("post", "/networks", {"network": {"name": "n"}}, content_type="text/plain")
    fault(response, "badRequest", 400)
    response = world["api"].client.post(API + "/networks", "{not json", content_type="application/json",
                                        HTTP_X_AUTH_TOKEN=world["api"].token)
    fault(response, "badRequest", 400)


def test_create_limit_from_settings(world, settings):
    settings.MAX_NETWORKS_PER_USER = 2
    assert create(world["api"]).status_code == 202
    assert create(world["api"]).status_code == 202
    message = fault(create(world["api"]), "overLimit", 413)
    assert message == "Network count limit exceeded for your account."
    assert create(world["bob_api"]).status_code == 202  # limits are per user


def test_create_limit_per_user_override(world, settings):
    settings.MAX_NETWORKS_PER_USER = 5
    settings.NETWORKS_USER_QUOTA = {"alice": 1}
    assert create(world["api"]).status_code == 202
    fault(create(world["api"]), "overLimit", 413)
    # the user's own override (snf-manage user-modify) wins over the settings
    User.objects.filter(uniq="alice").update(max_networks=2)
    assert create(world["api"]).status_code == 202
    fault(create(world["api"]), "overLimit", 413)


def test_deleted_networks_do_not_count(world, settings):
    settings.MAX_NETWORKS_PER_USER = 1
    network_id = json.loads(create(world["api"]).content)["network"]["id"]
    Network.objects.filter(pk=network_id).update(deleted=True, state="DELETED")
    assert create(world["api"]).status_code == 202


# --- list / get --------------------------------------------------------------------------------

def test_list_own_and_public(world):
    mine = json.loads(create(world["api"], name="mine").content)["network"]["id"]
    create(world["bob_api"], name="bobs")
    response = world["api"].get("/networks")
    assert response.status_code == 200
    values = json.loads(response.content)["networks"]["values"]
    assert values == [{"id": str(world["public"].id), "name": "public"}, {"id": mine, "name": "mine"}]
    for path in ("/networks/", "/networks.json"):
        assert json.loads(world["api"].get(path).content)["networks"]["values"] == values


def test_detail_lists_only_own_attachments(world):
    vm = make_vm(world)
    bobs_vm = make_vm(world, userid="bob")
    NetworkInterface.objects.create(machine=vm, network=world["public"], index=0, mac="aa:00:00:00:00:01")
    NetworkInterface.objects.create(machine=bobs_vm, network=world["public"], index=0,
                                    mac="aa:00:00:00:00:02")
    values = json.loads(world["api"].get("/networks/detail").content)["networks"]["values"]
    assert [v["attachments"] for v in values] == [{"values": ["nic-%d-0" % vm.id]}]
    assert values[0]["public"] is True and values[0]["status"] == "ACTIVE"
    single = json.loads(world["api"].get("/networks/%d" % world["public"].id).content)["network"]
    assert single == values[0]


def test_list_and_get_xml(world):
    response = world["api"].get("/networks.xml")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    assert local(root.tag) == "networks"
    assert [local(child.tag) for child in root] == ["network"]
    assert [child.get("id") for child in root] == [str(world["public"].id)]
    response = world["api"].get("/networks/%d.xml" % world["public"].id)
    assert response.status_code == 200
    assert local(ET.fromstring(response.content).tag) == "network"
    response = world["api"].get("/networks/detail", HTTP_ACCEPT="application/xml")
    assert local(ET.fromstring(response.content).tag) == "networks"


def test_owner_scoping(world):
    bobs = json.loads(create(world["bob_api"], name="bobs").content)["network"]["id"]
    api = world["api"]
    assert fault(api.get("/networks/%s" % bobs), "itemNotFound", 404) == "Network not found."
    fault(api.send("put", "/networks/%s" % bobs, {"network": {"name": "mine"}}), "itemNotFound", 404)
    fault(api.send("delete", "/networks/%s" % bobs), "itemNotFound", 404)
    vm = make_vm(world)
    fault(api.send("post", "/networks/%s/action" % bobs, {"add": {"serverRef": vm.id}}), "itemNotFound", 404)
    assert Network.objects.get(pk=bobs).name == "bobs"


@pytest.mark.parametrize("path", ["/networks/abc", "/networks/99999999999999999999999", "/networks/4242"])
def test_get_unknown(world, path):
    fault(world["api"].get(path), "itemNotFound", 404)


def test_needs_token(world):
    response = Client().get(API + "/networks")
    fault(response, "unauthorized", 401)
    response = Client().get(API + "/networks", HTTP_X_AUTH_TOKEN="wrong")
    fault(response, "unauthorized", 401)


def test_wrong_method(world):
    fault(world["api"].send("put", "/networks", {}), "badRequest", 400)
    fault(world["api"].send("post", "/networks/detail", {}), "badRequest", 400)
    fault(world["api"].get("/networks/1/action"), "badRequest", 400)


# --- changes-since --------------------------------------------------------------------------------

def test_changes_since(world):
    api = world["api"]
    since = (timezone.now() - datetime.timedelta(seconds=5)).isoformat()
    net_id = json.loads(create(api, name="new").content)["network"]["id"]
    Network.objects.filter(pk=world["public"].pk).update(updated=timezone.now() - datetime.timedelta(hours=1))
    response = api.get("/networks", data={"changes-since": since})
    assert [v["id"] for v in json.loads(response.content)["networks"]["values"]] == [net_id]
    # deleted networks are reported to pollers, hidden otherwise
    Network.objects.filter(pk=net_id).update(deleted=True, state="DELETED", updated=timezone.now())
    response = api.get("/networks/detail", data={"changes-since": since})
    assert [v["status"] for v in json.loads(response.content)["networks"]["values"]] == ["DELETED"]
    assert [v["id"] for v in json.loads(api.get("/networks").content)["networks"]["values"]] \
        == [str(world["public"].id)]
    later = (timezone.now() + datetime.timedelta(microseconds=1)).isoformat()
    Network.objects.filter(pk=net_id).update(updated=timezone.now() - datetime.timedelta(minutes=1))
    response = api.get("/networks", data={"changes-since": later.replace("+00:00", "Z")})
    assert response.status_code in (304, 400)  # 400 only if the clock moved past "later" meanwhile
    past = (timezone.now() - datetime.timedelta(seconds=1)).isoformat()
    response = api.get("/networks", data={"changes-since": past})
    assert response.status_code == 304 and response.content == b""


@pytest.mark.parametrize("value", ["yesterday", "2024-01-01T00:00:00", "2999-01-01T00:00:00+00:00",
                                   "2000-01-01T00:00:00+00:00"])
def test_changes_since_invalid(world, value):
    fault(world["api"].get("/networks/detail", data={"changes-since": value}), "badRequest", 400)


# --- rename / delete ------------------------------------------------------------------------------

def test_rename(world):
    net_id = json.loads(create(world["api"], name="old").content)["network"]["id"]
    response = world["api"].send("put", "/networks/%s" % net_id, {"network": {"name": "new"}})
    assert response.status_code == 204 and response.content == b""
    assert Network.objects.get(pk=net_id).name == "new"
    for body in ({"network": {}}, {"name": "x"}, {"network": {"name": ""}}, {"network": {"name": 5}}):
        fault(world["api"].send("put", "/networks/%s" % net_id, body), "badRequest", 400)
    response = world["api"].send("put", "/networks/%d" % world["public"].id, {"network": {"name": "x"}})
    assert fault(response, "forbidden", 403) == "Can not rename the public network."


def test_delete(world, rapi):
    net_id = json.loads(create(world["api"]).content)["network"]["id"]
    response = world["api"].send("delete", "/networks/%s" % net_id)
    assert response.status_code == 204, response.content
    assert Network.objects.get(pk=net_id).action == "DESTROY"
    assert "delete_network" in rapi.names()
    fault(world["api"].send("delete", "/networks/%d" % world["public"].id), "forbidden", 403)


def test_delete_in_use_and_deleted(world):
    net_id = json.loads(create(world["api"]).content)["network"]["id"]
    NetworkInterface.objects.create(machine=make_vm(world), network_id=net_id, index=1,
                                    mac="aa:00:00:00:00:09")
    message = fault(world["api"].send("delete", "/networks/%s" % net_id), "networkInUse", 421)
    assert message == "Machines are connected to network."
    NetworkInterface.objects.all().delete()
    BackendNetwork.objects.filter(network_id=net_id).delete()  # nothing in Ganeti: deleted at once
    assert world["api"].send("delete", "/networks/%s" % net_id).status_code == 204
    assert Network.objects.get(pk=net_id).deleted
    fault(world["api"].send("delete", "/networks/%s" % net_id), "badRequest", 400)
    fault(world["api"].send("put", "/networks/%s" % net_id, {"network": {"name": "n"}}), "badRequest", 400)


# --- actions ----------------------------------------------------------------------------------------

def test_add_and_remove(world, rapi):
    api = world["api"]
    net_id = json.loads(create(api, cidr="10.0.0.0/29").content)["network"]["id"]
    vm = make_vm(world)
    path = "/networks/%s/action" % net_id
    assert fault(api.send("post", path, {"add": {"serverRef": vm.id}}), "buildInProgress", 409)
    activate(net_id)
    response = api.send("post", path, {"add": {"serverRef": vm.id}})
    assert response.status_code == 202, response.content
    name, args, body = rapi.last("modify_instance")
    assert body["nics"] == [["add", {"ip": "10.0.0.1", "network": "snf-net-%s" % net_id}]]
    VirtualMachine.objects.filter(pk=vm.pk).update(task=None)
    NetworkInterface.objects.create(machine=vm, network_id=net_id, index=1, mac="aa:00:00:00:00:07")
    response = api.send("post", path, {"remove": {"attachment": "nic-%d-1" % vm.id}})
    assert response.status_code == 202, response.content
    assert rapi.last("modify_instance")[2]["nics"] == [["remove", 1, {}]]
    assert NetworkInterface.objects.get(machine=vm, index=1).dirty


@pytest.mark.parametrize("body, name, code", [
    ({}, "badRequest", 400),
    ({"add": {"serverRef": 1}, "remove": {"attachment": "nic-1-1"}}, "badRequest", 400),
    ({"add": "1"}, "badRequest", 400),
    ({"add": {}}, "badRequest", 400),
    ({"add": {"serverRef": "abc"}}, "badRequest", 400),
    ({"add": {"serverRef": 10 ** 30}}, "badRequest", 400),
    ({"add": {"serverRef": True}}, "badRequest", 400),
    ({"add": {"serverRef": 4242}}, "itemNotFound", 404),
    ({"remove": {"attachment": "eth0"}}, "badRequest", 400),
    ({"remove": {"attachment": "nic-%d-0" % 10 ** 30}}, "badRequest", 400),
    ({"remove": {}}, "badRequest", 400),
    ({"remove": {"attachment": "nic-4242-1"}}, "itemNotFound", 404),
    ({"rename": {}}, "badRequest", 400),
])
def test_action_faults(world, body, name, code):
    net_id = json.loads(create(world["api"]).content)["network"]["id"]
    activate(net_id)
    fault(world["api"].send("post", "/networks/%s/action" % net_id, body), name, code)


def test_action_on_public_network(world):
    vm = make_vm(world)
    response = world["api"].send("post", "/networks/%d/action" % world["public"].id,
                                 {"add": {"serverRef": vm.id}})
    assert fault(response, "forbidden", 403) == "Can not modify the public network."


# --- concurrency (row locks: PostgreSQL, MySQL/MariaDB) ------------------------------------------------

@pytest.mark.rowlocks
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not connection.features.has_select_for_update,
                    reason="SQLite serialises writers and ignores SELECT FOR UPDATE; "
                           "run with SYNNEFO_SETTINGS_DIR=ci/settings/postgres or mariadb")
def test_concurrent_creates_respect_the_limit(rapi, settings):
    settings.MAX_NETWORKS_PER_USER = 3
    MacPrefixPoolTable.objects.create(size=256, base="aa:00:0")
    make_backend(updated=timezone.now())
    _, api = make_user("alice")
    count = 8
    barrier = threading.Barrier(count)
    statuses = []
    lock = threading.Lock()

    def worker(i):
        try:
            barrier.wait()
            status = create(api, name="net%d" % i).status_code
        except Exception as exc:  # noqa: BLE001 - recorded for the assertions
            status = exc
        finally:
            connections.close_all()
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(statuses, key=str) == [202] * 3 + [413] * 5, statuses
    assert Network.objects.filter(userid="alice", deleted=False).count() == 3
    prefixes = list(Network.objects.filter(userid="alice").values_list("mac_prefix", flat=True))
    assert len(set(prefixes)) == 3
