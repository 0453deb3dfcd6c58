"""Network delete asks Ganeti with no lock held: the DESTROY mark is
committed first; when every backend refuses, the mark is taken back."""

import pytest
from django.db import connection
from synnefo.db.models import MacPrefixPoolTable, Network
from synnefo.logic import backends as backends_mod
from synnefo.logic import errors, networks


@pytest.fixture
def net(world, rapi):
    MacPrefixPoolTable.objects.create(size=256, base="aa:00:0")
    network = networks.create("alice", "net", "10.0.0.0/29")
    rapi.calls.clear()
    return network


def test_delete_asks_ganeti_outside_the_transaction(net, rapi, monkeypatch):
    depth = len(connection.atomic_blocks)  # the test's own transaction
    seen = []
    original = backends_mod.delete_network_on_backend

    def delete_network_on_backend(network, backend):
        seen.append((len(connection.atomic_blocks) > depth,
                     Network.objects.get(pk=network.pk).action))
        return original(network, backend)

    monkeypatch.setattr(backends_mod, "delete_network_on_backend", delete_network_on_backend)
    networks.delete("alice", net.id)
    assert seen == [(False, "DESTROY")]
    assert "delete_network" in rapi.names()


def test_delete_refused_by_every_backend_takes_the_mark_back(net, rapi):
    rapi.fail["get_groups"] = errors.ServiceUnavailable("down")
    with pytest.raises(errors.ServiceUnavailable):
        networks.delete("alice", net.id)
    net.refresh_from_db()
    assert net.action == "CREATE" and not net.deleted
