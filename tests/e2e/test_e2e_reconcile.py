"""Drift made behind Cyclades' back, found and repaired by the reconcile commands,
over real processes (issue 10, item 7).

The update path is cut for real: eventd is stopped and the Ganeti hooks are
taken away, so the messages of what is done to Ganeti meanwhile never reach
the dispatcher. Then Ganeti is changed through its RAPI: an instance removed,
one shut down, one started, an orphan created with our prefix, a NIC removed,
a network removed from the backend. ``reconcile-servers`` and
``reconcile-networks`` must report each one, and ``--fix-all`` must bring the
DB and the API back to what Ganeti has.
"""

import json

import pytest
from synnefo.tools.quickstart import _wait_for as until

pytestmark = pytest.mark.slow

JOB_TIMEOUT = 120


def succeeds(rapi, job_id):
    status = rapi.wait_for_job(job_id, JOB_TIMEOUT)
    assert status == "success", rapi.get_job(job_id).get("opresult")
    return job_id


def manage_json(deployment, *args):
    proc = deployment.manage(*args, "--output", "json", check=False)
    try:
        rows = json.loads(proc.stdout or "null")
    except ValueError:
        raise AssertionError(f"snf-manage {' '.join(args)}: {proc.stdout!r} {proc.stderr!r}")
    return proc.returncode, rows


def kinds(rows):
    return {(r["kind"], r["object"]) for r in rows}


def hooks_dir(deployment):
    return deployment.cluster["hooks_dir"] if deployment.real else deployment.hooks_dir


def cut_update_path(deployment):
    eventd = deployment.process("eventd")
    eventd.terminate()
    eventd.wait(30)
    deployment.remove_hooks(hooks_dir(deployment))


def restore_update_path(deployment):
    deployment.write_hooks(hooks_dir(deployment))
    deployment.restart("eventd")


def orphan_body(deployment, name):
    cluster = deployment.cluster
    return {"mode": "create", "name": name, "os": cluster.get("os", "snf-image+default"),
            "disk_template": "diskless", "disks": [],
            "nics": [{"mode": "bridged", "link": cluster.get("bridge", "br0")}],
            "beparams": {"memory": 128, "vcpus": 1}, "hvparams": {}, "pnode": deployment.node,
            "ip_check": False, "name_check": False}


def make_network(deployment, api):
    link = deployment.cluster.get("bridge", "br0")
    out = deployment.manage("network-create", "--name", "e2e-drift", "--subnet", "10.77.0.0/29",
                            "--type", "CUSTOM_BRIDGED", "--link", link, "--owner",
                            "demo@example.org").stdout
    nets = json.loads(deployment.manage("network-list", "--output", "json").stdout)
    net_id = max(n["id"] for n in nets if n["name"] == "e2e-drift")
    until(lambda: api.get_network(net_id)["status"] == "ACTIVE", 60,
          f"network {net_id} ACTIVE ({out.strip()})")
    return net_id


def test_drift_behind_our_back_is_found_and_fixed(deployment, api, rapi, make_server):
    prefix = deployment.prefix_id
    names = ["removed", "shut", "started", "nic"]
    ids = {}
    for name in names:
        ids[name] = make_server(f"e2e-drift-{name}")["id"]
    for name in names:
        api.wait_server(ids[name], "ACTIVE", timeout=120)
    api.shutdown(ids["started"])
    api.wait_server(ids["started"], "STOPPED", timeout=60)
    net_id = make_network(deployment, api)
    removed_ip = api.get_server(ids["removed"])["attachments"]["values"][0]["ipv4"]

    code, rows = manage_json(deployment, "reconcile-servers", "--all")
    assert code == 0 and rows == [], rows  # in sync before the drift

    cut_update_path(deployment)
    restored = False
    try:
        inst = {name: f"{prefix}{ids[name]}" for name in names}
        orphan = f"{prefix}987654"
        net_name = f"{prefix}net-{net_id}"
        succeeds(rapi, rapi.delete_instance(inst["removed"]))
        succeeds(rapi, rapi.shutdown_instance(inst["shut"]))
        succeeds(rapi, rapi.startup_instance(inst["started"]))
        succeeds(rapi, rapi.create_instance(**orphan_body(deployment, orphan)))
        # (its only NIC: Ganeti's policy wants one unless told to ignore it)
        succeeds(rapi, rapi.modify_instance(inst["nic"], nics=[["remove", 0, {}]], ignore_ipolicy=True))
        for group in rapi.get_groups():
            succeeds(rapi, rapi.disconnect_network(net_name, group))
        succeeds(rapi, rapi.delete_network(net_name))

        # Nothing reached Cyclades: the API still shows the old world.
        assert api.get_server(ids["shut"])["status"] == "ACTIVE"
        assert api.get_server(ids["nic"])["attachments"]["values"]

        code, rows = manage_json(deployment, "reconcile-servers", "--all")
        assert code == 1, rows
        assert kinds(rows) >= {("stale", f"server {ids['removed']}"),
                               ("unsynced-state", f"server {ids['shut']}"),
                               ("unsynced-state", f"server {ids['started']}"),
                               ("unsynced-nics", f"server {ids['nic']}"),
                               ("orphan", f"instance {orphan}")}, rows
        assert {r["result"] for r in rows} == {"reported"}
        code, rows = manage_json(deployment, "reconcile-networks")
        assert code == 1 and ("missing", f"network {net_id}") in kinds(rows), rows
        # The seeds' name does the same.
        code, rows = manage_json(deployment, "reconcile", "--all")
        assert code == 1 and ("stale", f"server {ids['removed']}") in kinds(rows)

        code, rows = manage_json(deployment, "reconcile-servers", "--all", "--fix-all")
        assert code == 1, rows  # the orphan is only reported
        assert [r for r in rows if r["result"] != "fixed"] == \
            [r for r in rows if r["kind"] == "orphan"], rows
        code, rows = manage_json(deployment, "reconcile-servers", "--all", "--fix-orphans")
        assert code == 0 and kinds(rows) == {("orphan", f"instance {orphan}")}, rows
        code, rows = manage_json(deployment, "reconcile-networks", "--fix-all")
        assert code == 0, rows

        # The DB and the API tell the truth again, without any message.
        until(lambda: api.get_server(ids["removed"])["status"] == "DELETED", 5, "removed server DELETED")
        assert api.get_server(ids["shut"])["status"] == "STOPPED"
        assert api.get_server(ids["started"])["status"] == "ACTIVE"
        assert api.get_server(ids["nic"]).get("attachments", {}).get("values", []) == []
        diags = api.server_diagnostics(ids["shut"])
        assert any("Reconciliation" in d["message"] for d in diags), diags
        code, rows = manage_json(deployment, "reconcile-servers", "--all")
        assert code == 0 and rows == [], rows
        # Ganeti: the orphan goes, the network comes back on the backend.
        until(lambda: orphan not in rapi.get_instances(), JOB_TIMEOUT, "orphan removed")
        until(lambda: net_name in rapi.get_networks() and
              rapi.get_network(net_name).get("group_list"), JOB_TIMEOUT, "network re-created")
        # The removed server's address is free again: the pools agree with the NICs.
        code, rows = manage_json(deployment, "reconcile-pools")
        assert code == 0, rows
        assert removed_ip not in [a["ipv4"] for s in api.list_servers(detail=True)
                                  for a in s.get("attachments", {}).get("values", [])]

        restore_update_path(deployment)
        restored = True
        code, rows = until(lambda: (lambda r: r if r[0] == 0 else None)(
            manage_json(deployment, "reconcile-networks")), 60, "networks in sync")
        assert rows == []
    finally:
        if not restored:
            restore_update_path(deployment)
        deployment.check_alive()
        for sid in ids.values():
            if api.get_server(sid)["status"] != "DELETED":
                api.delete_server(sid)


def test_staggered_run_checks_its_share(deployment, api, make_server):
    """Without --all a run checks ceil(servers / RECONCILIATION_MIN x interval)."""
    sid = make_server("e2e-stagger")["id"]
    api.wait_server(sid, "ACTIVE", timeout=120)
    proc = deployment.manage("reconcile-servers", "--interval", "30", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    total = int(proc.stdout.split(" server(s) checked")[0].split()[-1])
    proc = deployment.manage("reconcile-servers", "--interval", "1", check=False)
    share = int(proc.stdout.split(" server(s) checked")[0].split()[-1])
    assert total >= 1 and share == -(-total // 30), (total, share)
    api.delete_server(sid)
