"""Bitmap pools (spec 04 §4): unit tests."""

import base64

import pytest
from django.db import transaction
from synnefo.db.models import BridgePoolTable, IPPoolTable, MacPrefixPoolTable, Network
from synnefo.logic import pools
from synnefo.logic.pools import BridgePool, IPPool, MacPrefixPool, PoolExhausted, PoolNotConfigured


@pytest.fixture
def atomic(db):
    with transaction.atomic():
        yield


def test_bridge_pool_values_and_padding(atomic):
    BridgePoolTable.objects.create(size=20, base="prv")
    pool = BridgePool.locked()
    assert pool.length == 24
    assert [pool.get() for _ in range(3)] == ["prv1", "prv2", "prv3"]
    assert pool.count_available() == 17
    assert pool.count_reserved() == 0  # padding is not counted
    assert pool.reserved[20:] == [False] * 4  # but stays reserved
    pool.put("prv2")
    assert pool.get() == "prv2"
    pool.save()
    again = BridgePool.locked()
    assert again.to_map() == "XXX" + "." * 17
    for _ in range(17):
        again.get()
    with pytest.raises(PoolExhausted):
        again.get()
    with pytest.raises(pools.InvalidValue):
        again.put("br5")
    with pytest.raises(pools.InvalidValue):
        again.put("prv21")


def test_pool_not_configured(atomic):
    with pytest.raises(PoolNotConfigured):
        BridgePool.locked()


def test_external_reservations(atomic):
    BridgePoolTable.objects.create(size=8, base="b")
    pool = BridgePool.locked()
    pool.reserve("b1", external=True)
    assert pool.is_reserved("b1") and not pool.is_available("b1")
    assert pool.get() == "b2"
    pool.reserve("b3")  # e.g. reported in use by Ganeti
    assert pool.get() == "b4"
    pool.release_external("b1")
    assert pool.get() == "b1"
    assert pool.count_reserved() == 0


def test_serialisation_is_big_endian_base64(atomic):
    BridgePoolTable.objects.create(size=16, base="b")
    pool = BridgePool.locked()
    pool.get()  # index 0 allocated
    pool.save()
    row = BridgePoolTable.objects.get()
    assert base64.b64decode(row.available_map) == b"\x7f\xff"
    assert base64.b64decode(row.reserved_map) == b"\xff\xff"


def test_mac_prefix_pool(atomic):
    MacPrefixPoolTable.objects.create(size=65536, base="aa:00:0")
    pool = MacPrefixPool.locked()
    assert pool.value_of(1) == "aa:00:1"
    assert pool.value_of(16) == "aa:01:0"
    assert not pool.is_available("aa:00:0")  # the base: public / non-filtered networks
    assert pool.get() == "aa:00:1"
    # 0xab is multicast; 0xac (1010 1100) is not locally administered
    assert not pool.is_available("ab:00:0")
    assert not pool.is_available("ac:00:0")
    assert pool.is_available("ae:00:0")
    assert pools.valid_mac_prefix("aa:00:0") and not pools.valid_mac_prefix("ab:00:0")


def test_ip_pool(db):
    net = Network.objects.create(name="n", subnet="192.168.0.0/29", gateway="192.168.0.1",
                                 mac_prefix="aa:00:0", userid="u")
    with transaction.atomic():
        pool = IPPool.for_network(net)
        assert pool.size == 8
        assert pool.to_map() == "XX.....X"
        assert pool.get() == "192.168.0.2"
        assert pool.count_reserved() == 3
        pool.save()
    with transaction.atomic():
        pool = IPPool.for_network(net)
        assert pool.to_map() == "XXX....X"
        assert IPPoolTable.objects.count() == 1
        pool.put("192.168.0.2")
        assert pool.is_available("192.168.0.2")
        with pytest.raises(pools.InvalidValue):
            pool.reserve("10.0.0.1")
