"""GET /api/v1.1/limits: the caller's limits and usage (the web UI shows them before a create)."""

import json
import xml.etree.ElementTree as ET

from api_helpers import ApiClient, make_user
from django.test import override_settings
from synnefo.api.openapi import LIMIT_NAMES
from synnefo.db.models import Network, VirtualMachine


def absolute(client):
    response = client.get("/limits")
    assert response.status_code == 200, response.content
    body = json.loads(response.content)
    assert body["limits"]["rate"] == {"values": []}
    return body["limits"]["absolute"]


@override_settings(MAX_VMS_PER_USER=3, MAX_NETWORKS_PER_USER=5, MAX_VM_METADATA=10)
def test_limits_count_the_callers_live_objects_only(api_world):
    alice, bob = api_world["alice"], api_world["bob"]
    limits = absolute(api_world["api"])
    assert set(limits) == set(LIMIT_NAMES)
    assert limits["maxTotalInstances"] == 3 and limits["totalInstancesUsed"] == 0
    assert limits["SNF:maxTotalPrivateNetworks"] == 5 and limits["SNF:totalPrivateNetworksUsed"] == 0
    assert limits["maxServerMeta"] == 10
    flavor = api_world["flavor"]
    VirtualMachine.objects.create(name="a", userid=alice.uniq, flavor=flavor, imageid="i")
    VirtualMachine.objects.create(name="gone", userid=alice.uniq, flavor=flavor, imageid="i",
                                  deleted=True, operstate="DESTROYED")
    VirtualMachine.objects.create(name="b", userid=bob.uniq, flavor=flavor, imageid="i")
    Network.objects.create(name="lan", userid=alice.uniq, subnet="192.168.1.0/24")
    limits = absolute(api_world["api"])
    assert limits["totalInstancesUsed"] == 1 and limits["SNF:totalPrivateNetworksUsed"] == 1


def test_a_users_own_limit_wins(api_world):
    user = api_world["alice"]
    user.max_vms = 7
    user.save()
    assert absolute(api_world["api"])["maxTotalInstances"] == 7


def test_limits_need_a_token_and_get(db):
    assert ApiClient("nope").get("/limits").status_code == 401
    _, client = make_user("carol")
    response = client.post("/limits", {})
    assert response.status_code == 400
    assert json.loads(response.content)["badRequest"]["message"] == "Method not allowed."


def test_limits_in_xml(api_world):
    response = api_world["api"].get("/limits.xml")
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    assert root.tag.endswith("limits")
    found = [child for child in root if child.tag.endswith("absolute")]
    assert found and found[0].get("maxTotalInstances") is not None
