"""Version documents (spec 02-api §3): JSON and XML, token required."""

import json
import xml.etree.ElementTree as ET

import pytest
from django.test import Client
from synnefo.db.models import User
from synnefo.logic.users import issue_token


def local(tag):
    return tag.rsplit("}", 1)[-1]


@pytest.fixture
def get(db):
    token = issue_token(User.objects.create(uniq="alice"), 0)
    client = Client()

    def get(path, **extra):
        return client.get(path, HTTP_X_AUTH_TOKEN=token, **extra)

    return get


def test_versions_list(get, settings):
    settings.API_ROOT_URL = "https://cloud.example.org/api"
    for path in ("/api/", "/api/.json"):
        response = get(path)
        assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
        assert json.loads(response.content) == {"versions": {"values": [{
            "id": "v1.1", "status": "CURRENT", "updated": "2011-04-01",
            "links": [{"rel": "self", "href": "https://cloud.example.org/api/v1.1/"}]}]}}
        assert "max-age=0" in response["Cache-Control"]


def test_version_details(get):
    response = get("/api/v1.1/")
    assert response.status_code == 200
    version = json.loads(response.content)["version"]
    assert version["id"] == "v1.1" and version["status"] == "CURRENT"
    assert [link["rel"] for link in version["links"]] == ["self", "describedby", "describedby"]
    assert version["media-types"] == [
        {"base": "application/xml", "type": "application/vnd.openstack.compute-v1.1+xml"},
        {"base": "application/json", "type": "application/vnd.openstack.compute-v1.1+json"}]
    assert json.loads(get("/api/v1.1").content) == {"version": version}
    assert json.loads(get("/api/v1.1/.json").content) == {"version": version}


def test_xml(get):
    for response in (get("/api/.xml"), get("/api/", HTTP_ACCEPT="application/xml")):
        assert response.status_code == 200 and response["Content-Type"].startswith("application/xml")
        root = ET.fromstring(response.content)
        assert local(root.tag) == "versions"
        children = [(local(c.tag), c.get("id"), c.get("status")) for c in root]
        assert children == [("version", "v1.1", "CURRENT")]
    root = ET.fromstring(get("/api/v1.1/.xml").content)
    assert local(root.tag) == "version" and root.get("id") == "v1.1"
    assert "application/vnd.openstack.compute-v1.1+json" in ET.tostring(root, encoding="unicode")


@pytest.mark.parametrize("path", ["/api/", "/api/v1.1/", "/api/.xml"])
def test_token_required(db, path):
    response = Client().get(path)
    assert response.status_code == 401
    if not path.endswith(".xml"):
        assert json.loads(response.content)["unauthorized"]["code"] == 401


def test_wrong_method(get, db):
    token = issue_token(User.objects.get(uniq="alice"), 0)
    response = Client().post("/api/v1.1/", "{}", content_type="application/json", HTTP_X_AUTH_TOKEN=token)
    assert response.status_code == 400
    assert json.loads(response.content)["badRequest"]["message"] == "Method not allowed."


def test_openapi_document_is_public(db):
    response = Client().get("/api/v1.1/openapi.json")
    assert response.status_code == 200
    document = json.loads(response.content)
    assert document["openapi"].startswith("3.0")
    assert document["components"]["securitySchemes"]["token"] == {
        "type": "apiKey", "in": "header", "name": "X-Auth-Token"}
    for path in ("/v1.1/servers", "/v1.1/servers/{server_id}/action", "/v1.1/flavors/{flavor_id}",
                 "/v1.1/images/{image_id}/meta/{key}", "/v1.1/networks/{network_id}/action"):
        assert path in document["paths"]
    for operations in document["paths"].values():
        for operation in operations.values():
            assert "default" in operation["responses"]
