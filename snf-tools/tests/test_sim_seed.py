"""snf-ganeti-sim --seed-instances: many running instances at start."""

import argparse

import pytest
from synnefo.tools.ganeti_sim.cluster import Cluster
from synnefo.tools.ganeti_sim.server import parse_seed
from synnefo.tools.ganeti_sim.testing import SimProcess


def test_parse_seed():
    assert parse_seed("snf-:1:10") == ("snf-", 1, 10)
    assert parse_seed("a:b:0:3") == ("a:b", 0, 3)
    for bad in ("snf-:1", ":1:2", "snf-:x:2", "snf-:1:0", "snf-:-1:2"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_seed(bad)


def test_seed_adds_missing_running_instances(tmp_path):
    cluster = Cluster("c", "n", str(tmp_path))
    assert cluster.seed_instances("snf-", 5, 3) == 3
    assert cluster.seed_instances("snf-", 6, 3) == 1  # 6 and 7 are there already
    views = [cluster.instance_view(i) for i in cluster.instances.values()]
    assert sorted(v["name"] for v in views) == ["snf-5", "snf-6", "snf-7", "snf-8"]
    assert all(v["oper_state"] and v["status"] == "running" for v in views)
    assert len({v["nic.macs"][0] for v in views}) == 4


def test_seeded_simulator_lists_them(tmp_path):
    with SimProcess(tmp_path, "--seed-instances", "x-:1:300") as sim:
        client = sim.client()
        names = {i["name"] for i in client.get_instances(bulk=True)}
    assert names == {"x-%d" % i for i in range(1, 301)}
