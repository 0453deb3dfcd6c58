"""Where the simulator knowingly differs from Ganeti 3.0: each documented
difference (docs/simulator.rst, "What it does not model") pinned by a test
that shows both sides. Nothing the logic layer relies on may be in here."""

import os

import pytest
import requests
from synnefo.rapi import GanetiApiError

pytestmark = pytest.mark.slow

JOB_TIMEOUT = 120


def body(target, name, **extra):
    nic = {"mode": "bridged", "link": target.bridge}
    result = {"mode": "create", "name": name, "os": target.os, "disk_template": "diskless", "disks": [],
              "nics": [nic], "beparams": {"memory": 128, "vcpus": 1}, "hvparams": {},
              "pnode": target.node, "ip_check": False, "name_check": False}
    result.update(extra)
    return result


def outcome(client, job_id):
    status = client.wait_for_job(job_id, JOB_TIMEOUT)
    return status, client.get_job(job_id)["opresult"][0]


def test_iallocator_without_pnode(target, client, instances):
    """Ganeti's default iallocator refuses a one-node cluster (N+1); the
    simulator puts the instance on its only node. The logic passes ``pnode``
    through GANETI_CREATEINSTANCE_KWARGS where that matters."""
    name = target.prefix + "ialloc"
    instances.append(name)
    request = body(target, name)
    del request["pnode"]
    status, result = outcome(client, client.create_instance(**request))
    if target.name == "ganeti":
        assert status == "error" and "FailN1" in str(result)
    else:
        assert status == "success"


def test_bridges_are_checked_only_by_ganeti(target, client, instances):
    name = target.prefix + "nobridge"
    instances.append(name)
    request = body(target, name, nics=[{"mode": "bridged", "link": "br-missing"}])
    status, result = outcome(client, client.create_instance(**request))
    if target.name == "ganeti":
        assert status == "error" and "br-missing" in str(result)
    else:
        assert status == "success"


def test_pre_hooks_run_only_on_ganeti(target, client, instances):
    """A failing pre hook aborts a Ganeti job (HooksAbort); the simulator runs post hooks only."""
    name = target.prefix + "prehook"
    instances.append(name)
    assert outcome(client, client.create_instance(**body(target, name)))[0] == "success"
    assert outcome(client, client.shutdown_instance(name))[0] == "success"
    directory = os.path.join(target.hooks_dir, "instance-start-pre.d")
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "snf-contract-refuse")
    with open(path, "w") as handle:
        handle.write("#!/bin/sh\nexit 1\n")
    os.chmod(path, 0o755)
    try:
        status, result = outcome(client, client.startup_instance(name))
    finally:
        os.unlink(path)
    if target.name == "ganeti":
        assert status == "error" and result[0] == "HooksAbort"
    else:
        assert status == "success"


def test_hook_environment(target, client, instances, tmp_path):
    """Ganeti gives hooks a clean environment; the simulator passes its own on
    (minus GANETI_*), which is why snf-quickstart's hook wrapper names the
    settings directory itself."""
    name = target.prefix + "hookenv"
    instances.append(name)
    marker = "SNF_CONTRACT_MARKER"
    directory = os.path.join(target.hooks_dir, "instance-add-post.d")
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "snf-contract-env")
    dump = tmp_path / "env"
    with open(path, "w") as handle:
        handle.write(f"#!/bin/sh\n[ \"$GANETI_INSTANCE_NAME\" = {name} ] && env > {dump}\nexit 0\n")
    os.chmod(path, 0o755)
    try:
        assert outcome(client, client.create_instance(**body(target, name)))[0] == "success"
    finally:
        os.unlink(path)
    env = dump.read_text()
    assert f"GANETI_INSTANCE_NAME={name}" in env
    # the simulator was started by the test process, whose environment has the marker (conftest)
    assert (f"{marker}=1" in env) is (target.name == "simulator")


def test_relative_job_dependencies(target, client):
    """Ganeti takes a relative dependency (-1: the previous job of the same
    submission); the simulator refuses it with a 400 (Cyclades never uses one)."""
    try:
        job = client.modify_cluster(depends=[[-1, ["success"]]])
    except GanetiApiError as exc:
        assert target.name == "simulator" and exc.code == 400
    else:
        assert target.name == "ganeti"
        client.wait_for_job(job, JOB_TIMEOUT)


def test_console_kind(target, client, instances):
    """Ganeti's fake hypervisor has no console (``msg``); the simulator answers
    like KVM (``vnc``) so that the console API can be exercised."""
    name = target.prefix + "console"
    instances.append(name)
    assert outcome(client, client.create_instance(**body(target, name)))[0] == "success"
    console = client.get_instance_console(name)
    assert console["kind"] == ("msg" if target.name == "ganeti" else "vnc")


def test_os_list_answers_the_same_shape(target):
    """``/2/os`` runs an OS diagnose job on Ganeti; the simulator answers from
    ``--os``. The answers have the same shape."""
    answer = requests.get("https://%s:%s/2/os" % (target.host, target.port), auth=target.writer,
                          verify=False, timeout=60)
    assert answer.status_code == 200
    assert target.os in answer.json()
