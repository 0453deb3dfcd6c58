import pytest
from synnefo.messaging import names


def test_prefix_of():
    assert names.prefix_of("snf-42") == "snf"
    assert names.prefix_of("snf-net-7") == "snf"
    assert names.prefix_of("snf-") == "snf"


@pytest.mark.parametrize("bad", ["snf", "", "-snf", None, 42])
def test_prefix_of_rejects_names_without_prefix(bad):
    with pytest.raises(ValueError):
        names.prefix_of(bad)


def test_instance_and_network_names_round_trip():
    assert names.instance_name("snf-", 42) == "snf-42"
    assert names.vm_id_of("snf-", "snf-42") == 42
    assert names.network_name("snf-", 7) == "snf-net-7"
    assert names.network_id_of("snf-", "snf-net-7") == 7


@pytest.mark.parametrize("name", ["snf-net-7", "other-42", "snf-", "snf-4x", "snf--4", "snf-+4",
                                  "snf-٣", None, 42])
def test_vm_id_of_foreign_names(name):
    assert names.vm_id_of("snf-", name) is None


@pytest.mark.parametrize("name", ["snf-42", "snf-net-", "snf-net-x", "other-net-7", None])
def test_network_id_of_foreign_names(name):
    assert names.network_id_of("snf-", name) is None


@pytest.mark.parametrize("bad", [-1, True, "3", 1.0])
def test_names_reject_bad_ids(bad):
    with pytest.raises(ValueError):
        names.instance_name("snf-", bad)
    with pytest.raises(ValueError):
        names.network_name("snf-", bad)


def test_routing_keys_queues_and_dead_letters():
    assert names.routing_key("snf", "op") == "ganeti.snf.event.op"
    assert names.queue_name("snf", "progress") == "snf-events-progress"
    assert names.dead_letter("ganeti") == "ganeti-dl"
    assert names.dead_letter(names.queue_name("snf", "op")) == "snf-events-op-dl"
    assert names.QUEUE_KINDS == ("op", "network", "net", "progress")
    with pytest.raises(ValueError):
        names.routing_key("snf", "ops")
    with pytest.raises(ValueError):
        names.queue_name("snf", "")
