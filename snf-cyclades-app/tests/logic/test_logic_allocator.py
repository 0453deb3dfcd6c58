"""The backend allocator (spec 04 §3)."""

import types

import pytest
from django.db import transaction
from django.utils import timezone
from logic_helpers import make_backend, make_public_network
from synnefo.db.models import Backend, Flavor
from synnefo.logic import allocators
from synnefo.logic.allocators import default_allocator
from synnefo.logic.pools import IPPool


def B(**kw):
    values = {"id": 1, "mfree": 0, "mtotal": 0, "dfree": 0, "dtotal": 0, "pinst_cnt": 0, "ctotal": 0}
    values.update(kw)
    return types.SimpleNamespace(**values)


VM = {"ram": 1024, "disk": 20480, "cpu": 1}


def test_score_prefers_less_loaded():
    busy = B(id=1, mfree=1000, mtotal=16000, dfree=100000, dtotal=1000000, pinst_cnt=10, ctotal=8)
    idle = B(id=2, mfree=15000, mtotal=16000, dfree=900000, dtotal=1000000, pinst_cnt=1, ctotal=8)
    assert default_allocator.allocate([busy, idle], VM) is idle
    assert default_allocator.score(idle) == pytest.approx(
        0.5 * (2 * 4 / 24) + 0.5 * ((1 - 15000 / 16000) + (1 - 0.9)))


def test_fit_preferred_over_score():
    # lower score but the VM does not fit (no memory)
    tight = B(id=1, mfree=500, mtotal=1000000, dfree=900000, dtotal=1000000, pinst_cnt=0, ctotal=64)
    roomy = B(id=2, mfree=8000, mtotal=16000, dfree=500000, dtotal=1000000, pinst_cnt=4, ctotal=8)
    assert default_allocator.score(tight) < default_allocator.score(roomy)
    assert default_allocator.allocate([tight, roomy], VM) is roomy


def test_zero_totals_do_not_divide_by_zero():
    never = B(id=1)
    known = B(id=2, mfree=8000, mtotal=16000, dfree=500000, dtotal=1000000, pinst_cnt=4, ctotal=8)
    assert default_allocator.allocate([never, known], VM) is known
    assert default_allocator.allocate([never, B(id=3)], VM) is never  # ties -> lowest id
    assert default_allocator.allocate([never], VM) is never


def test_vm_size_drbd_doubles_disk(db):
    assert allocators.vm_size(Flavor(cpu=2, ram=512, disk=10, disk_template="drbd")) == \
        {"ram": 512, "disk": 20480, "cpu": 2}
    assert allocators.vm_size(Flavor(cpu=2, ram=512, disk=10, disk_template="plain"))["disk"] == 10240


def _fresh(**kw):
    values = {"updated": timezone.now(), "mfree": 8000, "mtotal": 16000, "dfree": 500000,
              "dtotal": 1000000, "pinst_cnt": 2, "ctotal": 8}
    values.update(kw)
    return values


def test_allocate_excludes_drained_offline_and_no_public_ip(world, rapi):
    flavor = world["flavor"]
    first = world["backend"]
    drained = make_backend("drained", drained=True, **_fresh(pinst_cnt=0))
    offline = make_backend("offline", offline=True, **_fresh(pinst_cnt=0))
    no_net = make_backend("nonet", **_fresh(pinst_cnt=0))
    make_public_network(drained)
    make_public_network(offline)
    full = make_backend("full", **_fresh(pinst_cnt=0))
    net = make_public_network(full, subnet="198.51.100.0/29", gateway=None)
    with transaction.atomic():
        pool = IPPool.for_network(net)
        for _ in range(6):
            pool.get()
        pool.save()
    with transaction.atomic():
        assert allocators.allocate("alice", flavor) == first
    assert {b.id for b in allocators.candidates()} == {first.id}
    assert not {drained.id, offline.id, no_net.id, full.id} & {b.id for b in allocators.candidates()}


def test_allocate_charges_backend(world, rapi):
    with transaction.atomic():
        backend = allocators.allocate("alice", world["flavor"])
    backend = Backend.objects.get(pk=backend.pk)
    assert (backend.mfree, backend.dfree, backend.pinst_cnt) == (8000 - 1024, 500000 - 40960, 3)
    assert not rapi.calls  # stats fresh: no refresh


def test_allocate_never_asks_ganeti_even_with_stale_stats(world, rapi):
    """Stats are refreshed off the request path (backend_stats), never while
    a create holds the backend rows locked."""
    Backend.objects.update(updated=timezone.now() - timezone.timedelta(minutes=60))
    with transaction.atomic():
        assert allocators.allocate("alice", world["flavor"]) == world["backend"]
    assert rapi.calls == []


def test_stale_stats_are_refreshed_by_backend_stats(world, rapi):
    from synnefo.logic import backend_stats
    fresh = make_backend("fresh", **_fresh())
    Backend.objects.filter(pk=world["backend"].pk).update(
        updated=timezone.now() - timezone.timedelta(minutes=60), mtotal=0)
    rapi.nodes.append({"name": "node2", "vm_capable": True, "drained": True, "offline": False,
                       "cnodes": 1, "mfree": 99, "mtotal": 99, "dfree": 99, "dtotal": 99,
                       "pinst_cnt": 9, "ctotal": 9})
    stale = backend_stats.stale_backends()
    assert stale == [world["backend"]] and fresh not in stale
    assert backend_stats.refresh(stale) == {world["backend"]: None}
    assert rapi.names() == ["get_nodes"]
    backend = Backend.objects.get(pk=world["backend"].pk)
    assert (backend.mtotal, backend.dtotal, backend.ctotal) == (16000, 1000000, 8)
    assert backend.pinst_cnt == 2
    assert backend_stats.stale_backends() == []


def test_no_candidates(world, rapi):
    Backend.objects.update(drained=True)
    with transaction.atomic():
        assert allocators.allocate("alice", world["flavor"]) is None


def test_backend_per_user(world, rapi, settings):
    other = make_backend("other", drained=True)
    settings.BACKEND_PER_USER = {"alice": "other", "bob": other.id, "carol": "missing"}
    with transaction.atomic():
        assert allocators.allocate("alice", world["flavor"]) == other
        assert allocators.allocate("bob", world["flavor"]) == other
        assert allocators.allocate("carol", world["flavor"]) == world["backend"]


def test_pluggable_strategy(world, rapi, settings, monkeypatch):
    import sys
    module = types.ModuleType("my_strategy")
    picked = []

    def allocate(backends, vm):
        picked.append((list(backends), vm))
        return backends[-1]

    module.allocate = allocate
    monkeypatch.setitem(sys.modules, "my_strategy", module)
    settings.BACKEND_ALLOCATOR_MODULE = "my_strategy"
    second = make_backend("second", **_fresh())
    make_public_network(second, subnet="198.51.100.0/29")
    with transaction.atomic():
        assert allocators.allocate("alice", world["flavor"]) == second
    assert picked[0][1] == {"ram": 1024, "disk": 40960, "cpu": 1}
