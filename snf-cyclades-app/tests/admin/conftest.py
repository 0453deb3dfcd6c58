"""Fixtures of the admin web tests: users with tokens, a backend, servers with
NICs, and a recording stand-in for the RAPI client."""

import itertools

import pytest
from django.test import Client
from django.utils import timezone
from synnefo.db.models import Backend, Flavor, Network, NetworkInterface, User, VirtualMachine
from synnefo.logic import users


class RecordingRapi:
    """Answers the calls the admin pages make, with a new job id each time."""

    def __init__(self):
        self.calls = []
        self._jobs = itertools.count(100)

    def get_info(self):
        return {"software_version": "3.0.2"}

    def _job(self, name, *args, **kwargs):
        self.calls.append((name, args))
        return next(self._jobs)

    def shutdown_instance(self, name, timeout=None):
        return self._job("shutdown", name)

    def startup_instance(self, name):
        return self._job("startup", name)

    def reboot_instance(self, name, type="soft"):  # noqa: A002
        return self._job("reboot", name)

    def delete_instance(self, name):
        return self._job("delete", name)


@pytest.fixture
def rapi(monkeypatch):
    fake = RecordingRapi()
    import synnefo.logic.backends as backends_mod
    import synnefo.logic.servers as servers_mod
    monkeypatch.setattr(backends_mod, "get_rapi_client", lambda backend: fake)
    monkeypatch.setattr(servers_mod, "get_rapi_client", lambda backend: fake)
    return fake


@pytest.fixture
def world(db, rapi):
    staff = User.objects.create(uniq="ops", staff=True)
    alice = User.objects.create(uniq="alice")
    backend = Backend.objects.create(clustername="ganeti1.example.org", index=1, updated=timezone.now(),
                                     mfree=4000, mtotal=16000, dfree=500000, dtotal=1000000,
                                     pinst_cnt=2, ctotal=8)
    flavor = Flavor.objects.create(cpu=1, ram=1024, disk=20, disk_template="drbd")
    network = Network.objects.create(name="public", subnet="192.0.2.0/24", public=True,
                                     type="PUBLIC_ROUTED", mac_prefix="aa:00:00", state="ACTIVE")
    web = VirtualMachine.objects.create(name="web1", userid="alice", backend=backend, flavor=flavor,
                                        imageid="img1", operstate="STARTED")
    NetworkInterface.objects.create(machine=web, network=network, index=0, mac="aa:00:00:12:34:56",
                                    ipv4="192.0.2.10")
    db1 = VirtualMachine.objects.create(name="db1", userid="bob", backend=backend, flavor=flavor,
                                        imageid="img1", operstate="STOPPED")
    return {"staff": staff, "alice": alice, "backend": backend, "web": web, "db1": db1,
            "staff_token": users.issue_token(staff), "alice_token": users.issue_token(alice),
            "rapi": rapi}


@pytest.fixture
def staff_client(world):
    client = Client()
    response = client.post("/admin/login", {"token": world["staff_token"]})
    assert response.status_code == 302
    return client
