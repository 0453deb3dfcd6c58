"""Images API (spec 02-api §6): list/detail/changes-since, get, delete (owner
only), metadata = image properties, owner scoping, JSON and XML."""

import datetime
import json
import xml.etree.ElementTree as ET

import pytest
from django.test import Client
from django.utils import timezone
from synnefo.db.models import Image, User
from synnefo.logic.users import issue_token

API = "/api/v1.1"


def local(tag):
    return tag.rsplit("}", 1)[-1]


class TokenClient:
    def __init__(self, uniq):
        self.token = issue_token(User.objects.create(uniq=uniq), 0)
        self.client = Client()

    def get(self, path, **extra):
        return self.client.get(API + path, HTTP_X_AUTH_TOKEN=self.token, **extra)

    def send(self, method, path, body=None, content_type="application/json"):
        data = json.dumps(body) if body is not None else ""
        return getattr(self.client, method)(API + path, data, content_type=content_type,
                                            HTTP_X_AUTH_TOKEN=self.token)


@pytest.fixture
def api(db):
    return TokenClient("alice")


@pytest.fixture
def images(db):
    public = Image.objects.create(id="debian", name="Debian", location="pithos://sys/images/debian",
                                  public=True, properties={"OS": "debian", "osfamily": "linux",
                                                           "root_partition": 1})
    own = Image.objects.create(id="alice-img", name="Mine", location="pithos://alice/images/mine",
                               owner="alice", status="saving")
    others = Image.objects.create(id="bob-img", name="Bob's", location="pithos://bob/images/b", owner="bob")
    gone = Image.objects.create(id="old", name="Old", location="pithos://sys/images/old", public=True,
                                deleted=timezone.now(), status="deleted")
    return {"public": public, "own": own, "others": others, "gone": gone}


def fault(response, name, code):
    assert response.status_code == code, response.content
    body = json.loads(response.content)
    assert list(body) == [name] and body[name]["code"] == code
    return body[name]["message"]


def test_list_visible_images(api, images):
    for path in ("/images", "/images/", "/images.json"):
        response = api.get(path)
        assert response.status_code == 200
        assert json.loads(response.content) == {"images": {"values": [
            {"id": "alice-img", "name": "Mine"}, {"id": "debian", "name": "Debian"}]}}


def test_detail(api, images):
    values = json.loads(api.get("/images/detail").content)["images"]["values"]
    mine, debian = values
    assert debian["status"] == "ACTIVE" and debian["progress"] == 100
    assert debian["metadata"] == {"values": {"OS": "debian", "osfamily": "linux", "root_partition": "1"}}
    assert mine["progress"] == 0 and "metadata" not in mine
    assert datetime.datetime.fromisoformat(debian["created"]).utcoffset() == datetime.timedelta(0)
    assert json.loads(api.get("/images/debian").content) == {"image": debian}


def test_owner_scoping(api, images):
    assert fault(api.get("/images/bob-img"), "itemNotFound", 404) == "Image not found."
    fault(api.get("/images/old"), "itemNotFound", 404)
    fault(api.get("/images/nope"), "itemNotFound", 404)
    fault(api.send("delete", "/images/bob-img"), "itemNotFound", 404)
    fault(api.get("/images/bob-img/meta"), "itemNotFound", 404)
    fault(api.send("post", "/images/bob-img/meta", {"metadata": {"a": "b"}}), "itemNotFound", 404)


def test_xml(api, images):
    response = api.get("/images/detail.xml")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    assert local(root.tag) == "images"
    assert [(local(c.tag), c.get("id")) for c in root] == [("image", "alice-img"), ("image", "debian")]
    element = ET.fromstring(api.get("/images/debian", HTTP_ACCEPT="application/xml").content)
    assert local(element.tag) == "image" and element.get("name") == "Debian"
    meta = ET.fromstring(api.get("/images/debian/meta.xml").content)
    assert local(meta.tag) == "metadata"


def test_changes_since(api, images):
    since = timezone.now() - datetime.timedelta(seconds=2)
    Image.objects.filter(pk="alice-img").update(updated=since - datetime.timedelta(minutes=5))
    values = json.loads(api.get("/images", data={"changes-since": since.isoformat()}).content)
    assert values == {"images": {"values": [{"id": "debian", "name": "Debian"}]}}
    Image.objects.update(updated=since - datetime.timedelta(minutes=5))
    response = api.get("/images/detail", data={"changes-since": since.isoformat()})
    assert response.status_code == 304 and response.content == b""
    fault(api.get("/images", data={"changes-since": "2999-01-01T00:00:00Z"}), "badRequest", 400)
    fault(api.get("/images", data={"changes-since": "garbage"}), "badRequest", 400)


def test_create_not_supported(api, images):
    response = api.send("post", "/images", {"image": {"name": "x"}})
    assert fault(response, "serviceUnavailable", 503) == "Not supported."


def test_delete_own_image(api, images):
    response = api.send("delete", "/images/alice-img")
    assert response.status_code == 204 and response.content == b""
    image = Image.objects.get(pk="alice-img")
    assert image.deleted is not None and image.status == "deleted"
    fault(api.get("/images/alice-img"), "itemNotFound", 404)
    fault(api.send("delete", "/images/alice-img"), "itemNotFound", 404)


def test_delete_public_image_of_someone_else(api, images):
    fault(api.send("delete", "/images/debian"), "forbidden", 403)
    assert Image.objects.get(pk="debian").deleted is None


def test_metadata_read(api, images):
    response = api.get("/images/debian/meta")
    assert json.loads(response.content) == {"metadata": {"values": {
        "OS": "debian", "osfamily": "linux", "root_partition": "1"}}}
    assert json.loads(api.get("/images/debian/meta/OS").content) == {"meta": {"OS": "debian"}}
    assert fault(api.get("/images/debian/meta/nope"), "itemNotFound", 404) == "Metadata key not found."


def test_metadata_write(api, images):
    response = api.send("post", "/images/alice-img/meta", {"metadata": {"OS": "arch", "users": "root"}})
    assert response.status_code == 201
    assert json.loads(response.content) == {"metadata": {"OS": "arch", "users": "root"}}
    response = api.send("put", "/images/alice-img/meta/OS", {"meta": {"OS": "gentoo"}})
    assert response.status_code == 201 and json.loads(response.content) == {"meta": {"OS": "gentoo"}}
    assert Image.objects.get(pk="alice-img").properties == {"OS": "gentoo", "users": "root"}
    assert api.send("delete", "/images/alice-img/meta/users").status_code == 204
    assert api.send("delete", "/images/alice-img/meta/never-there").status_code == 204
    assert Image.objects.get(pk="alice-img").properties == {"OS": "gentoo"}


@pytest.mark.parametrize("method, path, body", [
    ("post", "/images/alice-img/meta", {"metadata": ["OS"]}),
    ("post", "/images/alice-img/meta", {"meta": {"OS": "x"}}),
    ("post", "/images/alice-img/meta", {"metadata": {"OS": 5}}),
    ("post", "/images/alice-img/meta", {"metadata": {"k" * 51: "v"}}),
    ("post", "/images/alice-img/meta", {"metadata": {"k": "v" * 501}}),
    ("put", "/images/alice-img/meta/OS", {"meta": {"os": "x"}}),
    ("put", "/images/alice-img/meta/OS", {"meta": {"OS": "x", "b": "y"}}),
    ("put", "/images/alice-img/meta/OS", {"meta": "x"}),
    ("put", "/images/alice-img/meta/OS", {"metadata": {"OS": "x"}}),
])
def test_metadata_bad_requests(api, images, method, path, body):
    fault(api.send(method, path, body), "badRequest", 400)
    assert Image.objects.get(pk="alice-img").properties == {}


def test_metadata_needs_json(api, images):
    response = api.send("post", "/images/alice-img/meta", {"metadata": {}}, content_type="text/plain")
    fault(response, "badRequest", 400)


def test_metadata_write_on_public_image_of_someone_else(api, images):
    fault(api.send("post", "/images/debian/meta", {"metadata": {"a": "b"}}), "forbidden", 403)
    fault(api.send("put", "/images/debian/meta/a", {"meta": {"a": "b"}}), "forbidden", 403)
    fault(api.send("delete", "/images/debian/meta/OS"), "forbidden", 403)
    assert Image.objects.get(pk="debian").properties["OS"] == "debian"


def test_needs_token_and_method(api, images):
    fault(Client().get(API + "/images"), "unauthorized", 401)
    fault(api.send("put", "/images/debian", {}), "badRequest", 400)
