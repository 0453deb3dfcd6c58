"""The chaos suite's checker and table, on hand-made snapshots (no processes)."""

import chaos_checks as checks
from chaos_load import Request
from chaos_report import Row, errors_text, replace_block, rst_table, text_table
from chaos_state import Snapshot

PREFIX = "snf-"


def req(op, target, outcome, created_id=None):
    return Request(op, target, outcome, 0.0, 1.0, "p1", created_id)


def server(name, state="STARTED", deleted=False, task=None, nics=(), job=7):
    return {"name": name, "state": state, "deleted": deleted, "task": task, "nics": list(nics),
            "job": job}


def kinds(findings):
    return sorted(f.kind for f in findings)


# -- creates -----------------------------------------------------------------------
def test_accepted_create_with_exactly_one_server_is_fine():
    found = checks.check_creates([req("create", "chaos-a", 202, "1")], {1: server("chaos-a")},
                                 "create", "server")
    assert found == []


def test_accepted_create_with_none_or_two_servers_is_reported():
    requests = [req("create", "chaos-a", 202, "1"), req("create", "chaos-b", 202, "2")]
    servers = {2: server("chaos-b"), 3: server("chaos-b")}
    assert kinds(checks.check_creates(requests, servers, "create", "server")) == \
        ["create-duplicated", "create-lost"]


def test_failed_create_that_made_a_server_is_unacknowledged():
    for outcome in (503, "conn", "timeout"):
        found = checks.check_creates([req("create", "chaos-a", outcome)], {4: server("chaos-a")},
                                     "create", "server")
        assert kinds(found) == ["create-unacknowledged"], outcome
        assert str(outcome) in found[0].text and not found[0].unsettled


def test_failed_create_undone_by_the_api_had_no_effect():
    undone = server("chaos-a", state="DESTROYED", deleted=True, job=None)
    assert checks.check_creates([req("create", "chaos-a", 503)], {4: undone}, "create", "server") == []
    # ... but one that reached Ganeti (it has a job) and was removed later did.
    removed = server("chaos-a", state="DESTROYED", deleted=True, job=12)
    assert kinds(checks.check_creates([req("create", "chaos-a", 503)], {4: removed}, "create",
                                      "server")) == ["create-unacknowledged"]


def test_server_nobody_asked_for_is_reported():
    found = checks.check_creates([], {5: server("chaos-x"), 6: server("other")}, "create", "server")
    assert kinds(found) == ["create-unknown"]


def test_accepted_delete_must_end_deleted():
    servers = {1: server("chaos-a"), 2: server("chaos-b", state="DESTROYED", deleted=True)}
    found = checks.check_deletes([req("delete", "1", 204), req("delete", "2", 204),
                                  req("delete", "3", 503)], servers, {})
    assert kinds(found) == ["delete-pending"] and found[0].unsettled


def test_every_accepted_action_made_exactly_one_job():
    requests = [req("stop", "1", 202), req("start", "1", 202), req("reboot", "2", 202),
                req("connect", "3", 202), req("disconnect", "3", 202), req("reboot", "4", 503),
                req("start", "5", 409), req("poll", "servers", 200)]
    jobs = [("snf-1", "OP_INSTANCE_SHUTDOWN"), ("snf-1", "OP_INSTANCE_STARTUP"),
            ("snf-2", "OP_INSTANCE_REBOOT"), ("snf-3", "OP_INSTANCE_SET_PARAMS"),
            ("snf-3", "OP_INSTANCE_SET_PARAMS"), ("snf-4", "OP_INSTANCE_REBOOT"),
            ("snf-1", "OP_INSTANCE_CREATE")]
    assert checks.check_actions(requests, jobs, PREFIX) == []  # the 503 reboot's job is allowed


def test_lost_and_duplicated_jobs():
    requests = [req("stop", "1", 202), req("reboot", "2", 202), req("start", "5", 409)]
    jobs = [("snf-2", "OP_INSTANCE_REBOOT"), ("snf-2", "OP_INSTANCE_REBOOT"),
            ("snf-5", "OP_INSTANCE_STARTUP"), ("snf-6", "OP_INSTANCE_CREATE"),
            ("snf-6", "OP_INSTANCE_CREATE")]
    assert kinds(checks.check_actions(requests, jobs, PREFIX)) == \
        ["action-duplicated", "action-duplicated", "action-lost", "create-job-duplicated"]


# -- servers and networks against Ganeti ----------------------------------------------
def test_server_states_against_ganeti():
    servers = {1: server("a"), 2: server("b", state="STOPPED"), 3: server("c", state="STOPPED"),
               4: server("d", state="BUILD", task="BUILD"),
               5: server("e", state="DESTROYED", deleted=True), 6: server("f", state="ERROR")}
    instances = {"snf-1": {"running": True, "nics": []}, "snf-2": {"running": False, "nics": []},
                 "snf-3": {"running": True, "nics": []}, "snf-5": {"running": False, "nics": []},
                 "snf-9": {"running": True, "nics": []}}
    found = checks.check_servers(servers, instances, PREFIX)
    assert kinds(found) == ["orphan-instance", "server-busy", "server-deleted-but-in-ganeti",
                            "server-state"]
    assert {f.key for f in found if f.unsettled} == {"server-4", "server-5"}


def test_server_without_instance_and_nic_mismatch():
    servers = {1: server("a", nics=[(1, "10.0.0.2"), (3, "192.168.1.2")]), 2: server("b")}
    instances = {"snf-1": {"running": True, "nics": [(1, "10.0.0.2")]}}
    assert kinds(checks.check_servers(servers, instances, PREFIX)) == \
        ["server-missing-in-ganeti", "server-nics"]


def network(state="ACTIVE", deleted=False, action="CREATE", kind="PRIVATE_MAC_FILTERED",
            prefix="aa:00:10", link=None):
    return {"name": "n", "state": state, "deleted": deleted, "public": False, "type": kind,
            "link": link, "mac_prefix": prefix, "action": action, "job": 3}


def test_networks_against_ganeti():
    networks = {1: network(), 2: network(), 3: network(state="PENDING"),
                4: network(state="DELETED", deleted=True), 5: network(action="DESTROY")}
    found = checks.check_networks(networks, {"snf-net-1", "snf-net-4", "snf-net-7"}, PREFIX)
    assert kinds(found) == ["network-busy", "network-busy", "network-deleted-but-in-ganeti",
                            "network-missing-in-ganeti", "orphan-network"]


# -- pools ------------------------------------------------------------------------------
def pool_snapshot(**changes):
    snap = Snapshot(servers={1: server("a", nics=[(1, "10.0.0.2"), (2, "192.168.1.1")])},
                    networks={1: network(kind="PUBLIC_ROUTED", prefix="aa:00:00"),
                              2: network(prefix="aa:00:10"),
                              3: network(kind="PRIVATE_PHYSICAL_VLAN", link="prv1", prefix="aa:00:11")},
                    pools={"bridge": {"prv1"}, "mac-prefix": {"aa:00:10"},
                           "ip": {1: {"10.0.0.2"}, 2: {"192.168.1.1"}, 3: set()}})
    for key, value in changes.items():
        setattr(snap, key, value)
    return snap


def test_pools_holding_exactly_what_is_used_are_fine():
    assert checks.check_pools(pool_snapshot()) == []


def test_leaked_and_unreserved_values():
    snap = pool_snapshot(pools={"bridge": {"prv1", "prv2"}, "mac-prefix": set(),
                                "ip": {1: {"10.0.0.2", "10.0.0.9"}, 2: set(), 3: set()}})
    found = checks.check_pools(snap)
    assert kinds(found) == ["leaked-bridge", "leaked-ip", "unreserved-ip", "unreserved-mac-prefix"]
    assert any("10.0.0.9" in f.text for f in found)


def test_pending_nic_holds_its_address_but_not_without_a_job():
    snap = pool_snapshot(pools={"bridge": {"prv1"}, "mac-prefix": {"aa:00:10"},
                                "ip": {1: {"10.0.0.2", "10.0.0.3"}, 2: {"192.168.1.1"}, 3: set()}},
                         pending_nics=[(1, 1, "10.0.0.3")])
    assert kinds(checks.check_pools(snap)) == ["pending-nic-left"]
    snap.servers[1]["task"] = "CONNECT"
    assert checks.check_pools(snap) == []


# -- messages and daemons ------------------------------------------------------------------
def test_queues_and_dead_letters():
    snap = Snapshot(queues={"snf-events-op": 0, "snf-events-net": 2},
                    dead_letters=[("snf-events-op-dl", {"x-death-reason": "bad body"}),
                                  ("snf-events-op-dl", {"x-death": [{"queue": "q"}]}),
                                  ("snf-events-net-dl", {"other": 1})])
    found = checks.check_messages(snap)
    assert kinds(found) == ["dead-letter-without-reason", "queue-not-empty"]
    assert [f.unsettled for f in sorted(found, key=lambda f: f.kind)] == [False, True]


def test_dead_daemon_and_missing_worker():
    snap = Snapshot(processes={"eventd": True, "dispatcher-1": False}, api_workers=1)
    assert kinds(checks.check_daemons(snap, 2)) == ["api-workers", "daemon-dead"]
    assert checks.check_daemons(Snapshot(processes={"eventd": True}, api_workers=2), 2) == []


def test_unreadable_snapshot_is_one_unsettled_finding_per_part():
    found = checks.check_all(Snapshot(errors=["cannot read database: refused"]), [], PREFIX)
    assert [(f.kind, f.unsettled) for f in found] == [("unreadable", True)]


# -- the table ------------------------------------------------------------------------------
def test_errors_text_orders_codes_then_words():
    assert errors_text({"conn": 1, "503": 4, "409": 2}) == "409: 2, 503: 4, conn: 1"
    assert errors_text({}) == "none"


def test_tables_show_every_row_and_the_violations():
    rows = [Row("rabbitmq", "none (baseline)", 90, {}, 3.25, 0, 0, []),
            Row("rabbitmq", "PostgreSQL restart", 100, {"503": 80}, None, 2, 1, ["create-lost: x"])]
    text = text_table(rows)
    assert "PostgreSQL restart (rabbitmq)" in text and "503: 80" in text and "never" in text
    assert "3.2" in text
    block = rst_table(rows, "2026-12-02 02:00 UTC", "2 cores, Debian", 400, 1.5)
    assert "2 cores, Debian (load average 1.5 at the end)" in block
    assert "create-lost: x" in block and ".. list-table::" in block
    page = "Title\n\n.. chaos-table-begin\n\nOLD-TABLE\n\n.. chaos-table-end\n\nAfter.\n"
    new = replace_block(page, block)
    assert "OLD-TABLE" not in new and "After." in new and new.count(".. list-table::") == 1
    assert Row.from_json(rows[1].to_json()) == rows[1]
