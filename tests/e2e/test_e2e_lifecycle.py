"""Every VM lifecycle transition over real processes: API, simulator, eventd,
broker, two dispatchers (issue: the update path)."""

import json

import pytest
from synnefo.tools.quickstart import _wait_for as until

pytestmark = pytest.mark.slow


def test_create_reaches_active_with_progress(api, deployment, make_server):
    server = make_server("e2e-build")
    assert server["status"] == "BUILD"
    assert server["adminPass"]
    seen = []
    active = api.wait_server(server["id"], "ACTIVE", timeout=60,
                             progress=lambda s, _: seen.append((s["status"], s.get("progress"))))
    assert active["progress"] == 100
    nics = active["attachments"]["values"]
    assert nics and nics[0]["ipv4"], active
    if deployment.stack == "real_ganeti":
        return  # the do-nothing OS of ci/real-ganeti.sh reports no deployment progress
    build_progress = [p for status, p in seen if status == "BUILD"]
    assert any(0 < p < 100 for p in build_progress if p is not None) or \
        any(p == 100 for p in build_progress), f"no build progress seen: {seen}"


def test_shutdown_start_reboot_delete(api, make_server):
    # Each call raises unless the API answers its documented status (202, 204).
    server = make_server("e2e-cycle")
    sid = server["id"]
    api.wait_server(sid, "ACTIVE", timeout=60)

    api.shutdown(sid)
    api.wait_server(sid, "STOPPED", timeout=60)

    api.start(sid)
    api.wait_server(sid, "ACTIVE", timeout=60)

    api.reboot(sid, hard=True)
    api.wait_server(sid, "ACTIVE", timeout=60)

    api.delete_server(sid)
    api.wait_server(sid, "DELETED", timeout=60)
    listed = [s["id"] for s in api.list_servers()]
    assert sid not in listed


def test_failed_create_goes_to_error_with_reason(api, deployment, make_server, request):
    if deployment.stack == "real_ganeti":
        # Ganeti itself refuses: the flavor's disk template is not enabled on the cluster.
        server = make_server("e2e-fails", flavor=request.getfixturevalue("unusable_flavor"))
        failed = api.wait_server(server["id"], "ERROR", timeout=60)
        out = deployment.manage("server-show", str(failed["id"]), "--output", "json").stdout
        assert "OpPrereqError" in out and "not enabled" in out, out
        return
    deployment.inject_failures("OP_INSTANCE_CREATE")
    try:
        server = make_server("e2e-fails")
        failed = api.wait_server(server["id"], "ERROR", timeout=60)
    finally:
        deployment.inject_failures()
    out = deployment.manage("server-show", str(failed["id"]), "--output", "json").stdout
    assert "e2e: injected OP_INSTANCE_CREATE failure" in json.dumps(json.loads(out))


def test_delete_whose_removal_job_failed_is_done_by_reconciliation(api, deployment, make_server):
    """Ganeti's removal job fails (as when its master dies in the middle of
    it): the server stays, with the job's error shown, and reconcile-servers
    submits the accepted delete again."""
    if deployment.stack == "real_ganeti":
        pytest.skip("failure injection is the simulator's")
    server = make_server("e2e-undeleted")
    sid = server["id"]
    api.wait_server(sid, "ACTIVE", timeout=60)
    deployment.inject_failures("OP_INSTANCE_REMOVE")
    try:
        api.delete_server(sid)  # 204
        until(lambda: "injected OP_INSTANCE_REMOVE failure" in
              (api.get_server(sid)["diagnostics"] or [{}])[0].get("message", ""), 60, "the failed removal")
    finally:
        deployment.inject_failures()
    assert api.get_server(sid)["status"] == "ACTIVE"
    out = deployment.manage("reconcile-servers", "--server-id", str(sid), "--fix-all",
                            "--output", "json").stdout
    assert [(r["kind"], r["result"]) for r in json.loads(out)] == [("failed-delete", "fixed")], out
    api.wait_server(sid, "DELETED", timeout=60)
