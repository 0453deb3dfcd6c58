"""What the API accepts and answers agrees with docs/api.rst and the OpenAPI
document: body types, unknown paths, oversized and deeply nested bodies, XML
metadata that looks like a fault."""

import json
import logging
import xml.etree.ElementTree as ET

import pytest
from api_helpers import fault_of
from django.test import override_settings
from synnefo.db.models import VirtualMachine, VirtualMachineMetadata

NS = "{http://docs.openstack.org/compute/api/v1.1}"


def create(api_world, **server):
    body = {"name": "web", "imageRef": api_world["image"].id, "flavorRef": api_world["flavor"].id}
    body.update(server)
    return api_world["api"].post("/servers", {"server": body})


def test_image_ref_of_another_type_is_a_type_error(api_world):
    for image_ref in (12, 1.5, True, None, {"id": "img1"}):
        assert fault_of(create(api_world, imageRef=image_ref), "badRequest", 400) == \
            "Malformed request"
    assert "create_instance" not in api_world["rapi"].names()


def test_flavor_ref_as_digits_and_unknown_keys_are_accepted_as_documented(api_world):
    response = create(api_world, flavorRef=str(api_world["flavor"].id), min_count=1,
                      key_name="mine")
    assert response.status_code == 202, response.content
    for flavor_ref in ("1.0", "-1", " 1", "１", -1, 1.0):
        assert fault_of(create(api_world, flavorRef=flavor_ref), "badRequest", 400) == \
            "Malformed request"


@pytest.mark.parametrize("path", [
    "/nothing", "/ui/nothing", "/admin/nothing", "/%ff", "/static/x.css", "/api/v1.1/%ff%fe",
    "/api/v1.1/servers/1/%00",
    "/api/v1.1/\u00e9t\u00e9", "/api/v1.1/images/%C2%BB%0A%12", "/api/v1.1/servers%0a",
    "/api/v1.1/%0a", "/api/v1.1/flavors/1%0A",
])
def test_every_unknown_path_is_an_api_fault(api_world, path):
    client, token = api_world["api"].client, api_world["api"].token
    response = client.get(path, HTTP_X_AUTH_TOKEN=token)
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    assert fault_of(response, "badRequest", 400) == "Not found."
    response = client.get(path, HTTP_X_AUTH_TOKEN=token, HTTP_ACCEPT="application/xml")
    assert response["Content-Type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    assert root.tag == NS + "badRequest" and root.find(NS + "message").text == "Not found."


def test_body_over_the_size_limit_is_a_413_fault_without_traceback(api_world, caplog):
    caplog.set_level(logging.WARNING)
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000):
        response = api_world["api"].post("/servers", raw=json.dumps({"server": {"name": "x" * 2000}}))
    assert fault_of(response, "overLimit", 413) == "Request body larger than 1000 bytes."
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


def test_json_nested_too_deep_is_a_400_fault_without_traceback(api_world, caplog):
    caplog.set_level(logging.WARNING)
    deep = "[" * 100000 + "]" * 100000
    response = api_world["api"].post("/servers", raw='{"server": %s}' % deep)
    assert fault_of(response, "badRequest", 400) == "Invalid JSON data."
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


def test_xml_keeps_metadata_that_looks_like_a_fault(api_world):
    vm = VirtualMachine.objects.create(name="vm", userid="alice", backend=api_world["backend"],
                                       imageid="img1", flavor=api_world["flavor"], operstate="STARTED")
    items = {"code": "7", "message": "hello", "details": "none"}
    for key, value in items.items():
        VirtualMachineMetadata.objects.create(vm=vm, meta_key=key, meta_value=value)
    for path in ("/servers/%d/meta" % vm.id, "/servers/%d" % vm.id):
        response = api_world["api"].get(path, HTTP_ACCEPT="application/xml")
        assert response.status_code == 200
        root = ET.fromstring(response.content)
        metadata = root if root.tag == NS + "metadata" else root.find(NS + "metadata")
        assert {m.get("key"): m.text for m in metadata.findall(NS + "meta")} == items
