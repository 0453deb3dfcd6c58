"""Post hooks and the progress-monitor feed of snf-ganeti-sim."""

import json
import os
import stat

import pytest
from synnefo.tools.ganeti_sim.testing import SimProcess

pytestmark = pytest.mark.slow

HOOK_PATHS = ("instance-add", "instance-modify", "instance-reboot", "instance-start", "instance-stop",
              "network-connect")


def script(path, text):
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture()
def setup(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    hooks = tmp_path / "hooks"
    for hook_path in HOOK_PATHS:
        d = hooks / ("%s-post.d" % hook_path)
        d.mkdir(parents=True)
        # Each run dumps its environment to OUT/<hooks path>.<pid>.env
        script(d / "10-dump", '#!/bin/sh\nenv > "%s/$GANETI_HOOKS_PATH.$$.env"\n' % out)
        script(d / "ignored.sh", '#!/bin/sh\ntouch "%s/dotted-hook-ran"\n' % out)  # dots: not a hook
    script(hooks / "instance-start-post.d" / "20-fail", "#!/bin/sh\necho refusing >&2\nexit 3\n")
    monitor = script(tmp_path / "monitor", '#!/bin/sh\ncat > "%s/progress-$1.json"\n' % out)
    with SimProcess(tmp_path / "sim", "--job-duration", "0.05", "--hooks-dir", hooks, "--progress-monitor",
                    monitor, "--node-name", "node1.sim.test", "--cluster-name", "cluster.sim.test") as sim:
        yield sim, out


def envs(out, hook_path):
    result = []
    for name in sorted(os.listdir(out)):
        if name.startswith(hook_path + ".") and name.endswith(".env"):
            with open(out / name) as handle:
                result.append(dict(line.rstrip("\n").split("=", 1) for line in handle if "=" in line))
    return result


def test_hooks_get_a_ganeti_environment(setup):
    sim, out = setup
    client = sim.client()
    run = lambda job: client.wait_for_job(job, 10)  # noqa: E731
    assert run(client.create_network(network_name="snf-net-7", network="192.0.2.0/24",
                                     gateway="192.0.2.1", network6="2001:db8:7::/64", tags=["nfdhcpd"]))
    assert run(client.connect_network("snf-net-7", "default", "routed", "rt7")) == "success"
    job = client.create_instance(name="snf-9", os="snf-image+default", disk_template="diskless",
                                 nics=[{"ip": "pool", "network": "snf-net-7"},
                                       {"mode": "bridged", "link": "br9", "mac": "aa:00:00:00:00:09"}],
                                 tags=["synnefo:network:0:protected"], beparams={"memory": 256})
    assert run(job) == "success"

    [add] = envs(out, "instance-add")
    assert add["GANETI_HOOKS_PHASE"] == "post" and add["GANETI_HOOKS_VERSION"] == "2"
    assert add["GANETI_OP_CODE"] == "OP_INSTANCE_CREATE" and add["GANETI_OBJECT_TYPE"] == "INSTANCE"
    assert add["GANETI_MASTER"] == "node1.sim.test" and add["GANETI_CLUSTER"] == "cluster.sim.test"
    assert add["GANETI_INSTANCE_NAME"] == add["GANETI_POST_INSTANCE_NAME"] == "snf-9"
    assert add["GANETI_INSTANCE_NIC_COUNT"] == "2" and add["GANETI_INSTANCE_STATUS"] == "True"
    assert add["GANETI_INSTANCE_NIC0_IP"] == "192.0.2.2" and add["GANETI_INSTANCE_NIC0_MODE"] == "routed"
    assert add["GANETI_INSTANCE_NIC0_LINK"] == "rt7" and "GANETI_INSTANCE_NIC0_BRIDGE" not in add
    assert add["GANETI_INSTANCE_NIC0_NETWORK_NAME"] == "snf-net-7"
    assert add["GANETI_INSTANCE_NIC0_NETWORK_SUBNET6"] == "2001:db8:7::/64"
    assert add["GANETI_INSTANCE_NIC1_MAC"] == "aa:00:00:00:00:09"
    assert add["GANETI_INSTANCE_NIC1_BRIDGE"] == "br9" and add["GANETI_INSTANCE_NIC1_IP"] == ""
    assert add["GANETI_INSTANCE_TAGS"] == "synnefo:network:0:protected"
    assert add["GANETI_INSTANCE_MEMORY"] == "256" and add["GANETI_ADD_MODE"] == "create"
    assert add["GANETI_HOOKS_PATH"] == "instance-add" and add["GANETI_OP_TARGET"] == "snf-9"
    assert not (out / "dotted-hook-ran").exists()

    assert run(client.shutdown_instance("snf-9", timeout=30)) == "success"
    [stop] = envs(out, "instance-stop")
    assert (stop["GANETI_INSTANCE_STATUS"], stop["GANETI_POST_INSTANCE_STATUS"]) == ("up", "down")
    assert stop["GANETI_TIMEOUT"] == "30" and stop["GANETI_OP_CODE"] == "OP_INSTANCE_SHUTDOWN"

    job = client.startup_instance("snf-9")
    assert run(job) == "success"  # a failing post hook is only a warning
    [start] = envs(out, "instance-start")
    assert start["GANETI_POST_INSTANCE_STATUS"] == "up"
    warnings = [entry[3] for entry in client.get_job(job)["oplog"][0]]
    assert any("instance-start-post.d/20-fail" in w and "exit status 3" in w for w in warnings)
    with open(sim.log_path) as handle:
        assert "instance-start-post.d/20-fail (OP_INSTANCE_STARTUP): exit status 3" in handle.read()

    assert run(client.reboot_instance("snf-9", type="hard")) == "success"
    [reboot] = envs(out, "instance-reboot")
    assert reboot["GANETI_REBOOT_TYPE"] == "hard" and reboot["GANETI_OP_CODE"] == "OP_INSTANCE_REBOOT"

    assert run(client.modify_instance("snf-9", nics=[["remove", 1, {}]])) == "success"
    [modify] = envs(out, "instance-modify")
    # like Ganeti 3.0: both phases describe the NICs after the change
    assert modify["GANETI_INSTANCE_NIC_COUNT"] == "1" and modify["GANETI_POST_INSTANCE_NIC_COUNT"] == "1"
    assert "GANETI_INSTANCE_NIC1_MAC" not in modify

    [connect] = envs(out, "network-connect")
    assert connect["GANETI_OBJECT_TYPE"] == "NETWORK" and connect["GANETI_GROUP_NETWORK_MODE"] == "routed"
    assert connect["GANETI_GROUP_NAME"] == "default" and connect["GANETI_NETWORK_NAME"] == "snf-net-7"
    client.close()


def test_progress_monitor_is_fed_during_create(setup):
    sim, out = setup
    client = sim.client()
    job = client.create_instance(name="snf-11", os="snf-image+default", disk_template="diskless")
    assert client.wait_for_job(job, 10) == "success"
    text = (out / "progress-snf-11.json").read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    copies = [line for line in lines if line["type"] == "image-copy-progress"]
    assert len(copies) >= 3 and copies[-1]["progress"] == 100.0
    assert all({"position", "total", "progress", "timestamp"} <= set(c) for c in copies)
    assert [c["progress"] for c in copies] == sorted(c["progress"] for c in copies)
    # Ganeti runs no OS create script with no_install, snf-image is the only OS that reports.
    for name, extra in (("snf-12", {"no_install": True}), ("snf-13", {"os": "noop+default"})):
        body = {"name": name, "os": "snf-image+default", "disk_template": "diskless"}
        body.update(extra)
        assert client.wait_for_job(client.create_instance(**body), 10) == "success"
        assert not (out / ("progress-%s.json" % name)).exists()
    client.close()
