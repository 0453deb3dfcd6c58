"""Concurrent creates cannot pass the VM limit nor share an IP (row locks:
PostgreSQL, MySQL/MariaDB)."""

import threading

import pytest
from django.db import connection, connections
from django.utils import timezone
from logic_helpers import make_backend, make_public_network
from synnefo.db.models import Flavor, Image, User, VirtualMachine
from synnefo.logic import errors, servers

pytestmark = [
    pytest.mark.rowlocks,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not connection.features.has_select_for_update,
                       reason="SQLite serialises writers and ignores SELECT FOR UPDATE; "
                              "run with SYNNEFO_SETTINGS_DIR=ci/settings/postgres or mariadb"),
]


def _run_threads(count, target):
    barrier = threading.Barrier(count)
    results = []
    lock = threading.Lock()

    def worker(i):
        try:
            barrier.wait()
            outcome = target(i)
        except Exception as exc:  # noqa: BLE001 - recorded for the assertions
            outcome = exc
        finally:
            connections.close_all()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_concurrent_creates_respect_limit_and_ips(rapi, settings):
    settings.MAX_VMS_PER_USER = 3
    User.objects.create(uniq="alice")
    flavor = Flavor.objects.create(cpu=1, ram=128, disk=1, disk_template="plain")
    Image.objects.create(id="img", name="i", location="pithos://a/c/i", public=True)
    backend = make_backend(updated=timezone.now(), mfree=10 ** 6, mtotal=10 ** 6, dfree=10 ** 8,
                           dtotal=10 ** 8, ctotal=64)
    make_public_network(backend, subnet="192.0.2.0/24", gateway="192.0.2.1")

    results = _run_threads(8, lambda i: servers.create("alice", "vm%d" % i, flavor.id, "img"))
    created = [r for r in results if isinstance(r, tuple)]
    refused = [r for r in results if isinstance(r, errors.OverLimit)]
    assert len(created) == 3, results
    assert len(refused) == 5, results
    assert VirtualMachine.objects.filter(userid="alice", deleted=False).count() == 3
    ips = [c[2]["nics"][0]["ip"] for c in rapi.calls if c[0] == "create_instance"]
    assert len(ips) == len(set(ips)) == 3


def test_concurrent_creates_of_different_users_get_distinct_ips(rapi, settings):
    flavor = Flavor.objects.create(cpu=1, ram=128, disk=1, disk_template="plain")
    Image.objects.create(id="img", name="i", location="pithos://a/c/i", public=True)
    backend = make_backend(updated=timezone.now(), mfree=10 ** 6, mtotal=10 ** 6, dfree=10 ** 8,
                           dtotal=10 ** 8, ctotal=64)
    make_public_network(backend, subnet="192.0.2.0/24", gateway="192.0.2.1")
    results = _run_threads(6, lambda i: servers.create("user%d" % i, "vm", flavor.id, "img"))
    assert all(isinstance(r, tuple) for r in results), results
    ips = [c[2]["nics"][0]["ip"] for c in rapi.calls if c[0] == "create_instance"]
    assert sorted(ips) == ["192.0.2.%d" % i for i in range(2, 8)]
    backend.refresh_from_db()
    assert backend.pinst_cnt == 6
