"""Helpers of the API tests: users with tokens, a flavor, an image, a backend
with a public network, a token-sending test client and the fake RAPI client
of the logic tests (``tests/logic/logic_helpers.py``, reused, not copied).

Use the fixtures through ``tests/api/conftest.py``: ``api_rapi`` (the fake
RAPI installed), ``api_world`` (alice and bob with clients, flavor, image,
backend, public network).
"""

import json
import os
import sys

from django.test import Client
from django.utils import timezone
from synnefo.db.models import Flavor, Image, MacPrefixPoolTable, User
from synnefo.logic import backends as backends_mod
from synnefo.logic.errors import ServiceUnavailable
from synnefo.logic.users import issue_token

LOGIC_TESTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "logic")
if LOGIC_TESTS not in sys.path:
    sys.path.insert(0, LOGIC_TESTS)

from logic_helpers import FakeRapi, make_backend, make_public_network, rapi_error  # noqa: E402

API = "/api/v1.1"

__all__ = ["API", "ApiClient", "FakeRapi", "install_fake_rapi", "make_backend", "make_flavor",
           "make_image", "make_public_network", "make_user", "make_world", "fault_of", "rapi_error"]


class ApiClient:
    """Django's test ``Client`` sending one user's X-Auth-Token; paths are
    relative to /api/v1.1 unless they start with /api/."""

    def __init__(self, token):
        self.client = Client()
        self.token = token

    def url(self, path):
        return path if path.startswith("/api/") or path == "/api" else API + path

    def request(self, method, path, body=None, content_type="application/json", raw=None, **extra):
        if self.token is not None:
            extra.setdefault("HTTP_X_AUTH_TOKEN", self.token)
        data = raw if raw is not None else (json.dumps(body) if body is not None else "")
        return getattr(self.client, method.lower())(self.url(path), data=data,
                                                    content_type=content_type, **extra)

    def get(self, path, **extra):
        if self.token is not None:
            extra.setdefault("HTTP_X_AUTH_TOKEN", self.token)
        return self.client.get(self.url(path), **extra)

    def post(self, path, body=None, **kwargs):
        return self.request("post", path, body, **kwargs)

    def put(self, path, body=None, **kwargs):
        return self.request("put", path, body, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("delete", path, **kwargs)


def install_fake_rapi(monkeypatch, fake=None):
    """Make every logic module reach ``fake`` (a new FakeRapi by default)
    instead of a Ganeti cluster; an offline backend stays unreachable."""
    fake = fake or FakeRapi()

    def get_client(backend):
        if backend is None or backend.offline:
            raise ServiceUnavailable("Backend offline.")
        return fake

    monkeypatch.setattr(backends_mod, "get_rapi_client", get_client)
    monkeypatch.setattr(backends_mod, "make_client", lambda *a, **k: fake, raising=False)
    from synnefo.logic import networks as networks_mod
    from synnefo.logic import servers as servers_mod
    monkeypatch.setattr(servers_mod, "get_rapi_client", get_client)
    monkeypatch.setattr(networks_mod, "get_rapi_client", get_client, raising=False)
    return fake


def make_user(uniq, **fields):
    """A user and an ``ApiClient`` holding a fresh non-expiring token."""
    user = User.objects.create(uniq=uniq, **fields)
    return user, ApiClient(issue_token(user, 0))


def make_flavor(cpu=1, ram=1024, disk=20, disk_template="drbd", **fields):
    return Flavor.objects.create(cpu=cpu, ram=ram, disk=disk, disk_template=disk_template, **fields)


def make_image(image_id="img1", owner=None, public=True, **fields):
    fields.setdefault("name", "Debian")
    fields.setdefault("location", "pithos://a/c/%s" % image_id)
    fields.setdefault("properties", {"osfamily": "linux", "root_partition": "1"})
    return Image.objects.create(id=image_id, owner=owner, public=public, **fields)


def make_world():
    """alice and bob (with clients), a flavor, a public image, a backend with
    fresh stats and a public /29 network."""
    MacPrefixPoolTable.objects.get_or_create(defaults={"size": 256, "base": "aa:00:0"})
    backend = make_backend(updated=timezone.now(), mfree=8000, mtotal=16000, dfree=500000,
                           dtotal=1000000, pinst_cnt=2, ctotal=8)
    public = make_public_network(backend)
    alice, alice_api = make_user("alice")
    bob, bob_api = make_user("bob")
    return {"backend": backend, "public": public, "flavor": make_flavor(), "image": make_image(),
            "alice": alice, "api": alice_api, "bob": bob, "bob_api": bob_api}


def fault_of(response, name, code):
    """Assert ``response`` is the JSON fault ``name``/``code``; return its message."""
    assert response.status_code == code, response.content
    body = json.loads(response.content)
    assert list(body) == [name], body
    assert body[name]["code"] == code
    assert set(body[name]) == {"code", "message", "details"}
    return body[name]["message"]
