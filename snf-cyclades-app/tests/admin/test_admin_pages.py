"""What the admin pages show and what their actions do, through the logic layer
(a recording RAPI stand-in, an in-memory broker), with the audit entries they leave."""

import os
import sys

import pytest
from django.conf import settings
from django.db import transaction
from synnefo.admin.models import AuditEntry
from synnefo.db.models import Backend, MacPrefixPoolTable, User, VirtualMachine, VirtualMachineDiagnostic
from synnefo.logic import dispatcher as dispatcher_mod
from synnefo.logic import pools, queues

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "logic"))
from test_queue_commands import MemBroker  # noqa: E402  (the broker stand-in of the queue commands)


def search(client, **params):
    return client.get("/admin/servers/", params).content.decode()


@pytest.mark.parametrize("query", ["192.0.2.10", "AA:00:00:12:34:56", "alice", "web", "WEB1", "ALICE"])
def test_search_finds_a_server_by_ip_mac_user_and_name(staff_client, world, query):
    body = search(staff_client, q=query)
    assert "web1" in body and "db1" not in body


def test_search_by_id(staff_client, world):
    VirtualMachine.objects.filter(pk=world["db1"].pk).update(name="db")  # no digit in its name
    body = search(staff_client, q=str(world["web"].id))
    assert "web1" in body and ">db<" not in body


def test_search_by_backend_and_state(staff_client, world):
    body = search(staff_client, state="STOPPED", backend=str(world["backend"].id))
    assert "db1" in body and "web1" not in body
    assert "No server matches." in search(staff_client, q="nothing-like-this")


def test_search_query_count_does_not_grow_with_rows(staff_client, world, django_assert_max_num_queries):
    for n in range(20):
        VirtualMachine.objects.create(name="many%d" % n, userid="carol", backend=world["backend"],
                                      flavor=world["web"].flavor, imageid="img1", operstate="STARTED")
    with django_assert_max_num_queries(8):
        assert "many19" in search(staff_client, q="many")


def test_the_server_page_shows_nics_diagnostics_task_and_job(staff_client, world):
    vm = world["web"]
    VirtualMachine.objects.filter(pk=vm.pk).update(backendjobid=77, backendopcode="OP_INSTANCE_CREATE",
                                                   backendjobstatus="error",
                                                   backendlogmsg="OS create script failed")
    VirtualMachineDiagnostic.objects.create(machine=vm, level="ERROR", source="image-helper",
                                            message="Cannot mount root partition")
    body = staff_client.get("/admin/servers/%d/" % vm.id).content.decode()
    for text in ("aa:00:00:12:34:56", "192.0.2.10", "Cannot mount root partition", "job 77",
                 "OP_INSTANCE_CREATE", "OS create script failed", "Reason to shut down"):
        assert text in body


def test_shutdown_goes_through_the_logic_layer_and_is_audited(staff_client, world):
    vm = world["web"]
    response = staff_client.post("/admin/servers/%d/shutdown" % vm.id, {"reason": "ticket 42"})
    assert response.status_code == 302
    vm.refresh_from_db()
    assert vm.task == "STOP" and vm.task_job_id == 100
    assert world["rapi"].calls == [("shutdown", ("snf-%d" % vm.id,))]
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.target, entry.reason, entry.outcome) == (
        "ops", "server-shutdown", "server %d" % vm.id, "ticket 42", "done")
    page = staff_client.get(response["Location"]).content.decode()
    assert "server-shutdown on server %d: done" % vm.id in page


def test_a_refused_action_is_audited_with_the_logic_layers_reason(staff_client, world):
    vm = world["db1"]  # STOPPED: cannot be shut down
    staff_client.post("/admin/servers/%d/shutdown" % vm.id, {"reason": "try"})
    entry = AuditEntry.objects.get()
    assert entry.outcome == "refused: Cannot stop a server that is not started."
    assert not world["rapi"].calls


def test_suspend_and_unsuspend_a_server(staff_client, world):
    vm = world["web"]
    staff_client.post("/admin/servers/%d/suspend" % vm.id, {"reason": "abuse report"})
    vm.refresh_from_db()
    assert vm.suspended
    staff_client.post("/admin/servers/%d/unsuspend" % vm.id, {"reason": "cleared"})
    vm.refresh_from_db()
    assert not vm.suspended
    assert [e.action for e in AuditEntry.objects.order_by("id")] == ["server-suspend", "server-unsuspend"]


def test_backend_drain_and_offline_toggles(staff_client, world):
    backend = world["backend"]
    staff_client.post("/admin/backends/%d/drain" % backend.id, {"reason": "disk swap"})
    staff_client.post("/admin/backends/%d/offline" % backend.id, {"reason": "power work"})
    backend.refresh_from_db()
    assert backend.drained and backend.offline
    home = staff_client.get("/admin/").content.decode()
    assert "Undrain ganeti1.example.org" in home and "not reachable: offline" in home


def test_the_home_page_charts_capacity_and_reachability(staff_client, world):
    home = staff_client.get("/admin/").content.decode()
    assert "Memory used: 12,000 of 16,000 MiB (75%)" in home
    assert "Disk used: 500,000 of 1,000,000 MiB (50%)" in home
    assert "CPUs: 8" in home and "Servers: 2" in home
    assert "reachable: Ganeti 3.0.2" in home
    assert home.count("<svg") == 4


def test_suspending_a_user_suspends_its_servers_and_refuses_its_tokens(staff_client, world):
    alice = world["alice"]
    response = staff_client.post("/admin/users/%d/suspend" % alice.id, {"reason": "unpaid"})
    assert response.status_code == 302
    alice.refresh_from_db()
    assert not alice.active and VirtualMachine.objects.get(pk=world["web"].pk).suspended
    assert not VirtualMachine.objects.get(pk=world["db1"].pk).suspended  # bob's
    assert AuditEntry.objects.get().outcome == "done: 1 server(s) suspended"
    from synnefo.logic.users import authenticate
    assert authenticate(world["alice_token"]) is None


def test_revoking_a_users_tokens(staff_client, world):
    alice = world["alice"]
    page = staff_client.get("/admin/users/%d/" % alice.id).content.decode()
    assert "Live servers of the limit: 1 of 3 (33%)" in page
    token_id = alice.tokens.get().id
    staff_client.post("/admin/users/%d/revoke-tokens" % alice.id, {"reason": "leaked",
                                                                  "token_id": str(token_id)})
    assert alice.tokens.get().revoked
    assert AuditEntry.objects.get().action == "token-revoke"


def test_networks_page_charts_every_pool(staff_client, world):
    MacPrefixPoolTable.objects.create(size=64, base="aa:00:0")
    with transaction.atomic():
        pool = pools.IPPool.for_network(world["web"].nics.get().network)
        pool.reserve("192.0.2.10")
        pool.save()
    body = staff_client.get("/admin/networks/").content.decode()
    assert "MAC-prefix pool" in body and "192.0.2.0/24" in body
    assert "IPv4 addresses in use: 1 of 256 (0%)" in body


def test_dead_letters_are_shown_kept_and_retried(staff_client, world, monkeypatch):
    mem = MemBroker()
    monkeypatch.setattr(dispatcher_mod, "make_broker", lambda settings: mem)
    dead = queues.dead_letter_queues(settings.BACKEND_PREFIX_ID)[0]
    mem.put(dead, {"type": "ganeti-op-status", "instance": "snf-1"},
            {"x-original-routing-key": "ganeti.snf.event.op"})
    body = staff_client.get("/admin/queues/").content.decode()
    assert dead in body and "ganeti-op-status" in body
    assert "No reconciliation run is stored yet" in body
    assert len(mem.queues[dead]) == 1  # still there
    staff_client.post("/admin/queues/retry", {"reason": "conflict fixed"})
    assert mem.published and not mem.queues[dead]
    assert AuditEntry.objects.get().outcome.startswith(
        "done: 1 message(s) retried, 0 left in the dead-letter queues")


def test_the_latest_reconciliation_run_of_each_command_is_shown(staff_client, world):
    from django.utils import timezone
    from synnefo.logic.reconciliation import history
    from synnefo.logic.reconciliation.report import Report

    def store(command, options, fill):
        report = Report()
        fill(report)
        history.store(command, options, timezone.now(), report, "checked", report.exit_status())

    store("reconcile-servers", "--all", lambda r: r.add("stale", "b1", "server 1", "old run"))
    store("reconcile-servers", "--all --fix-all",
          lambda r: r.add("state", "b1", "server 7", "DB says <STOPPED>, Ganeti running"))
    store("reconcile-pools", "", lambda r: r.error("b2", "backend did not answer: refused"))
    store("reconcile-networks", "", lambda r: None)
    body = staff_client.get("/admin/queues/").content.decode()
    assert "not stored yet" not in body and "old run" not in body
    assert "reconcile-servers --all --fix-all: exit status 1" in body
    assert "<td>server 7</td><td>DB says &lt;STOPPED&gt;, Ganeti running</td><td>reported</td>" in body
    assert "reconcile-pools: exit status 2" in body and "backend did not answer: refused" in body
    assert "reconcile-networks: exit status 0" in body and "Everything in sync." in body


def test_the_audit_page_lists_what_staff_did(staff_client, world):
    staff_client.post("/admin/backends/%d/drain" % world["backend"].id, {"reason": "disk <swap>"})
    body = staff_client.get("/admin/audit/").content.decode()
    assert "backend-drain" in body and "disk &lt;swap&gt;" in body and "ops" in body
    assert Backend.objects.get().drained
    assert User.objects.get(uniq="ops").staff


def test_an_unreachable_broker_is_said_and_a_retry_is_recorded_as_refused(staff_client, world, monkeypatch):
    def no_broker(settings):
        raise ConnectionError("connection refused")
    monkeypatch.setattr(dispatcher_mod, "make_broker", no_broker)
    page = staff_client.get("/admin/queues/").content.decode()
    assert "Cannot reach the broker: connection refused" in page
    staff_client.post("/admin/queues/retry", {"reason": "retry"})
    assert AuditEntry.objects.get().outcome == "refused: Cannot reach the broker: connection refused"


def test_refresh_the_status_of_a_backend(staff_client, world, monkeypatch):
    from synnefo.logic import backends as backend_logic
    monkeypatch.setattr(backend_logic, "get_physical_resources",
                        lambda b: {"mfree": 1000, "mtotal": 2000, "dfree": 10, "dtotal": 20,
                                   "pinst_cnt": 7, "ctotal": 4})
    staff_client.post("/admin/backends/%d/refresh" % world["backend"].id, {"reason": "after repair"})
    backend = Backend.objects.get()
    assert (backend.mfree, backend.pinst_cnt) == (1000, 7)
    assert AuditEntry.objects.get().action == "backend-refresh"
