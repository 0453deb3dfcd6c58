"""Flavors API (spec 02-api §5): list, detail, get (deleted flavors included), JSON and XML."""

import json
import xml.etree.ElementTree as ET

import pytest
from django.test import Client
from synnefo.db.models import Flavor, User
from synnefo.logic.users import issue_token

API = "/api/v1.1"


def local(tag):
    return tag.rsplit("}", 1)[-1]


@pytest.fixture
def get(db):
    token = issue_token(User.objects.create(uniq="alice"), 0)
    client = Client()

    def get(path, **extra):
        return client.get(API + path, HTTP_X_AUTH_TOKEN=token, **extra)

    return get


@pytest.fixture
def flavors(db):
    small = Flavor.objects.create(cpu=1, ram=1024, disk=20, disk_template="drbd")
    big = Flavor.objects.create(cpu=4, ram=4096, disk=80, disk_template="plain")
    gone = Flavor.objects.create(cpu=2, ram=2048, disk=40, disk_template="drbd", deleted=True)
    return small, big, gone


def fault(response, name, code):
    assert response.status_code == code, response.content
    body = json.loads(response.content)
    assert list(body) == [name] and body[name]["code"] == code
    return body[name]["message"]


def test_list(get, flavors):
    small, big, _ = flavors
    expected = [{"id": small.id, "name": "C1R1024D20"}, {"id": big.id, "name": "C4R4096D80"}]
    for path in ("/flavors", "/flavors/", "/flavors.json"):
        response = get(path)
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/json")
        assert json.loads(response.content) == {"flavors": {"values": expected}}


def test_detail(get, flavors):
    small, big, _ = flavors
    values = json.loads(get("/flavors/detail").content)["flavors"]["values"]
    assert values == [
        {"id": small.id, "name": "C1R1024D20", "ram": 1024, "disk": 20, "cpu": 1,
         "SNF:disk_template": "drbd"},
        {"id": big.id, "name": "C4R4096D80", "ram": 4096, "disk": 80, "cpu": 4,
         "SNF:disk_template": "plain"},
    ]


def test_get_including_deleted(get, flavors):
    small, _, gone = flavors
    assert json.loads(get("/flavors/%d" % small.id).content)["flavor"]["ram"] == 1024
    flavor = json.loads(get("/flavors/%d.json" % gone.id).content)["flavor"]
    assert flavor["id"] == gone.id and flavor["cpu"] == 2


@pytest.mark.parametrize("path", ["/flavors/4242", "/flavors/99999999999999999999999999"])
def test_get_unknown(get, flavors, path):
    assert fault(get(path), "itemNotFound", 404) == "Flavor not found."


def test_xml(get, flavors):
    small, big, _ = flavors
    response = get("/flavors/detail.xml")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    assert local(root.tag) == "flavors"
    assert [(local(c.tag), c.get("id")) for c in root] == [("flavor", str(small.id)), ("flavor", str(big.id))]
    assert root[0].get("ram") == "1024" and root[0].get("name") == "C1R1024D20"
    response = get("/flavors/%d" % small.id, HTTP_ACCEPT="application/xml")
    element = ET.fromstring(response.content)
    assert local(element.tag) == "flavor" and element.get("disk") == "20"


def test_needs_token_and_get(get, flavors):
    fault(Client().get(API + "/flavors"), "unauthorized", 401)
    fault(Client().post(API + "/flavors", "{}", content_type="application/json",
                        HTTP_X_AUTH_TOKEN="nope"), "unauthorized", 401)
    token = issue_token(User.objects.get(uniq="alice"), 0)
    response = Client().post(API + "/flavors", "{}", content_type="application/json",
                             HTTP_X_AUTH_TOKEN=token)
    assert fault(response, "badRequest", 400) == "Method not allowed."
    response = Client().get(API + "/flavors?X-Auth-Token=" + token)
    assert response.status_code == 200
