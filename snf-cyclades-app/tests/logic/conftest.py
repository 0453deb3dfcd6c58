"""Fixtures of the logic tests: a fake RAPI client, a backend with a public network."""

import pytest
from logic_helpers import FakeRapi, make_backend, make_public_network
from synnefo.db.models import Flavor, Image, User
from synnefo.logic import backends as backends_mod


@pytest.fixture
def rapi(monkeypatch):
    fake = FakeRapi()

    def get_client(backend):
        if backend is None or backend.offline:
            from synnefo.logic.errors import ServiceUnavailable
            raise ServiceUnavailable("offline")
        return fake

    monkeypatch.setattr(backends_mod, "get_rapi_client", get_client)
    monkeypatch.setattr(backends_mod, "make_client", lambda *a, **k: fake)
    import synnefo.logic.servers as servers_mod
    monkeypatch.setattr(servers_mod, "get_rapi_client", get_client)
    try:
        import synnefo.logic.networks as networks_mod
        monkeypatch.setattr(networks_mod, "get_rapi_client", get_client, raising=False)
    except ImportError:
        pass
    return fake


@pytest.fixture
def world(db, rapi):
    """A user, a flavor, a public image, a backend with fresh stats and a public /29."""
    from django.utils import timezone
    user = User.objects.create(uniq="alice")
    flavor = Flavor.objects.create(cpu=1, ram=1024, disk=20, disk_template="drbd")
    image = Image.objects.create(id="img1", name="Debian", location="pithos://a/c/debian",
                                 public=True, properties={"osfamily": "linux", "root_partition": "1"})
    backend = make_backend(updated=timezone.now(), mfree=8000, mtotal=16000, dfree=500000,
                           dtotal=1000000, pinst_cnt=2, ctotal=8)
    network = make_public_network(backend)
    return {"user": user, "flavor": flavor, "image": image, "backend": backend, "network": network}
