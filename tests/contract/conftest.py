"""The contract suite's two targets: the bundled simulator and a real Ganeti.

Every test takes ``target`` and runs once per target, so what the logic layer,
eventd and the hook rely on is checked against the simulator and against
Debian's Ganeti 3.0 with the same assertions. The real target needs a cluster
brought up by ``ci/real-ganeti.sh up`` (``make test-ganeti`` does it); without
one its tests are skipped and say so.
"""

import os
import secrets
from dataclasses import dataclass, field

import pytest
from synnefo.rapi import GanetiRapiClient
from synnefo.tools.ganeti_sim.testing import READER, WRITER, SimProcess
from synnefo.tools.real_ganeti import cluster_for_tests

TARGETS = ["simulator", "ganeti"]
# Seen in a hook's environment only where the hook inherits the test's (the simulator's do).
os.environ["SNF_CONTRACT_MARKER"] = "1"
SIM_NODE = "node1.contract.test"
SIM_CLUSTER = "cluster.contract.test"


@dataclass
class Target:
    """One Ganeti to test against and what the tests need to know of it."""

    name: str
    host: str
    port: int
    fingerprint: str
    writer: tuple
    reader: tuple
    cluster_name: str
    node: str
    os: str
    queue_dir: str
    hooks_dir: str
    bridge: str
    # instance/network names of this run start with it: runs never meet on a shared cluster
    prefix: str = field(default_factory=lambda: "c%s-" % secrets.token_hex(3))
    clients: list = field(default_factory=list)

    def client(self, user=None, **kwargs):
        user = user or self.writer
        client = GanetiRapiClient(self.host, self.port, user[0], user[1],
                                  fingerprint=self.fingerprint, **kwargs)
        self.clients.append(client)
        return client

    def close(self):
        for client in self.clients:
            client.close()


@pytest.fixture(scope="module", params=TARGETS)
def target(request, tmp_path_factory):
    if request.param == "simulator":
        base = tmp_path_factory.mktemp("contract-sim")
        hooks = base / "hooks"
        hooks.mkdir()
        with SimProcess(base / "state", "--job-duration", "0.1", "--node-name", SIM_NODE,
                        "--cluster-name", SIM_CLUSTER, "--hooks-dir", hooks) as sim:
            t = Target("simulator", "127.0.0.1", sim.info["port"], sim.info["fingerprint"], WRITER,
                       READER, SIM_CLUSTER, SIM_NODE, "snf-image+default", sim.queue_dir, str(hooks),
                       bridge="br-contract")
            yield t
            t.close()
        return
    cluster, why = cluster_for_tests()
    if cluster is None:
        pytest.skip(why)
    t = Target("ganeti", cluster["cluster_name"], cluster["port"], cluster["fingerprint"],
               (cluster["user"], cluster["password"]),
               (cluster["read_user"], cluster["read_password"]),
               cluster["cluster_name"], cluster["node"], cluster["os"], cluster["queue_dir"],
               cluster["hooks_dir"], bridge=cluster["bridge"])
    yield t
    t.close()


@pytest.fixture(scope="module")
def client(target):
    return target.client()


@pytest.fixture
def instances(target, client):
    """Names of instances a test creates: deleted afterwards, even after a failure."""
    made = []
    yield made
    for name in made:
        if name in client.get_instances():
            client.wait_for_job(client.delete_instance(name), 120)
