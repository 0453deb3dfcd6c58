"""Truthful answers during outages and idempotent creates (issue 18 item 2).

A request that fails because the database (or the broker) is gone answers
serviceUnavailable "Database unavailable, retry later." with Retry-After only
when it had no effect; past the commit of a new server (or the submission of
a job) the answer says what exists. A create retried with the same
X-Idempotency-Key returns the same server; the key with another body is
refused.
"""

import json
import threading

import pytest
from api_helpers import fault_of, make_world, rapi_error
from django.db import InterfaceError, OperationalError, connection, connections, transaction
from synnefo.db.models import IdempotencyKey, Network, User, VirtualMachine
from synnefo.logic import idempotency
from synnefo.logic import servers as servers_logic

DB_DOWN = "Database unavailable, retry later."


def create(world, key=None, name="web", api=None):
    extra = {} if key is None else {"HTTP_X_IDEMPOTENCY_KEY": key}
    body = {"server": {"name": name, "imageRef": world["image"].id, "flavorRef": world["flavor"].id}}
    return (api or world["api"]).post("/servers", body, **extra)


def server_of(response):
    assert response.status_code == 202, response.content
    return json.loads(response.content)["server"]


def live_servers():
    return list(VirtualMachine.objects.filter(deleted=False).values_list("id", flat=True))


def fail_once(monkeypatch, module, name, exc):
    """``module.name`` raises ``exc`` on its first call only (the database comes back)."""
    real = getattr(module, name)
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise exc
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, failing)
    return calls


# --- no effect: serviceUnavailable with Retry-After ------------------------------

@pytest.mark.parametrize("exc", [OperationalError("server closed the connection unexpectedly"),
                                 InterfaceError("connection already closed"),
                                 OperationalError("database is locked"),
                                 OperationalError("canceling statement due to lock timeout")])
def test_database_gone_before_anything_is_written(api_world, monkeypatch, exc):
    from synnefo.api import util
    fail_once(monkeypatch, util, "authenticate", exc)
    response = create(api_world, key="k1")
    assert fault_of(response, "serviceUnavailable", 503) == DB_DOWN
    assert response["Retry-After"] == "5"
    assert live_servers() == [] and not api_world["rapi"].calls


def test_the_drivers_text_is_logged_not_shown(api_world, monkeypatch, settings, caplog):
    from synnefo.api import util
    settings.TEST = settings.DEBUG = False  # no traceback in details
    fail_once(monkeypatch, util, "authenticate", OperationalError("connection to 10.1.2.3 failed"))
    response = api_world["api"].get("/servers")
    assert fault_of(response, "serviceUnavailable", 503) == DB_DOWN
    assert json.loads(response.content)["serviceUnavailable"]["details"] == ""
    assert "connection to 10.1.2.3 failed" in caplog.text


def test_database_gone_inside_the_create_transaction(api_world, monkeypatch):
    fail_once(monkeypatch, idempotency, "record", OperationalError("terminating connection"))
    response = create(api_world, key="k1")
    assert fault_of(response, "serviceUnavailable", 503) == DB_DOWN
    assert response["Retry-After"] == "5"
    assert live_servers() == [] and not IdempotencyKey.objects.exists()
    assert "create_instance" not in api_world["rapi"].names()
    retried = server_of(create(api_world, key="k1"))  # the retry creates it, once
    assert live_servers() == [retried["id"]]


def test_broker_gone_answers_broker_unavailable(api_world, monkeypatch):
    from synnefo.api import util
    from synnefo.messaging.client import BrokerUnavailable
    fail_once(monkeypatch, util, "authenticate", BrokerUnavailable("no broker"))
    response = api_world["api"].get("/servers")
    assert fault_of(response, "serviceUnavailable", 503) == "Message broker unavailable, retry later."
    assert response["Retry-After"] == "5"


def test_other_errors_stay_unexpected(api_world, monkeypatch):
    from synnefo.api import util
    fail_once(monkeypatch, util, "authenticate", KeyError("bug"))
    response = api_world["api"].get("/servers")
    assert fault_of(response, "serviceUnavailable", 503) == "Unexpected error."
    assert not response.has_header("Retry-After")


def test_database_gone_while_submitting_leaves_the_job_to_the_sweeper(api_world, monkeypatch):
    # POST /servers commits the server with its create job and answers: the
    # create happened, so it is accepted; a submission cut by the database is
    # done again by the dispatchers' sweeper (synnefo.logic.create_submit).
    from synnefo.db.models import CreateSubmission
    from synnefo.logic import create_submit
    fail_once(monkeypatch, create_submit, "_record", OperationalError("server closed"))
    response = create(api_world, key="k2")
    server = server_of(response)
    assert response.status_code == 202 and live_servers() == [server["id"]]
    # claimed and sent, its job id not written: the sweeper reads Ganeti's job list first
    assert CreateSubmission.objects.get(machine_id=server["id"]).attempts == 1
    assert api_world["rapi"].names().count("create_instance") == 1
    retried = create(api_world, key="k2")
    assert server_of(retried)["id"] == server["id"] and live_servers() == [server["id"]]


# --- past the effect: the answer says so, the key makes the retry safe -------------

def test_database_gone_after_the_job_is_submitted_still_accepts_the_create(api_world, monkeypatch):
    # The server exists and its job is in Ganeti: the create happened, so the
    # answer is 202 (never a 503 for a create that happened); the dispatcher
    # records the job later.
    fail_once(monkeypatch, servers_logic, "_record_create_job", OperationalError("server closed"))
    response = create(api_world, key="retry-me")
    server = server_of(response)
    (vm_id,) = live_servers()
    assert response.status_code == 202 and server["id"] == vm_id and server["status"] == "BUILD"
    assert len(server["adminPass"]) == 10
    retried = create(api_world, key="retry-me")
    assert server_of(retried)["id"] == vm_id and retried["X-Idempotency-Replayed"] == "true"
    assert server_of(retried)["adminPass"] == server["adminPass"]
    assert live_servers() == [vm_id]
    assert api_world["rapi"].names().count("create_instance") == 1


def test_database_gone_while_describing_the_new_server_still_accepts_it(api_world, monkeypatch):
    from synnefo.api import server_views
    fail_once(monkeypatch, server_views, "get_server", OperationalError("server closed"))
    response = api_world["api"].post("/servers", {"server": {
        "name": "web", "flavorRef": api_world["flavor"].id, "imageRef": "img1",
        "metadata": {"role": "db"}}})
    server = server_of(response)
    (vm_id,) = live_servers()
    assert response.status_code == 202 and server["id"] == vm_id
    assert server["status"] == "BUILD" and server["metadata"] == {"values": {"role": "db"}}
    assert "adminPass" in server


def test_database_gone_while_undoing_a_refused_create_says_the_server_exists(api_world, monkeypatch):
    # snf-manage server-create submits in the request (not queued): a refusal
    # is undone, and when the undo itself meets the outage the answer names
    # the server that is left (reconciliation ends its build).
    from synnefo.logic.outage import Unavailable
    api_world["rapi"].fail["create_instance"] = rapi_error("bad disk template")
    fail_once(monkeypatch, servers_logic, "_undo_create", OperationalError("server closed"))
    with pytest.raises(Unavailable) as caught:
        servers_logic.create("alice", "web", api_world["flavor"].id, "img1")
    (vm_id,) = live_servers()
    assert str(caught.value.message).endswith(
        "server %d was created and may be building; do not create it again, "
        "list your servers instead." % vm_id)
    assert caught.value.retry_after is None


def test_database_gone_after_an_action_is_submitted(api_world, monkeypatch):
    vm = VirtualMachine.objects.create(name="vm", userid="alice", backend=api_world["backend"],
                                       imageid="img1", flavor=api_world["flavor"], operstate="STARTED")
    fail_once(monkeypatch, servers_logic, "_record_action_job", OperationalError("server closed"))
    response = api_world["api"].post("/servers/%d/action" % vm.id, {"shutdown": {}})
    message = fault_of(response, "serviceUnavailable", 503)
    assert message == ("Database unavailable after the request took effect: the STOP job 100 of "
                       "server %d was submitted to Ganeti and goes ahead; check the server before "
                       "repeating it." % vm.id)
    assert not response.has_header("Retry-After")
    assert api_world["rapi"].names().count("shutdown_instance") == 1


# --- the idempotency key ----------------------------------------------------------

def test_same_key_same_body_returns_the_same_server(api_world):
    first = create(api_world, key="abc")
    server = server_of(first)
    assert not first.has_header("X-Idempotency-Replayed")
    again = create(api_world, key="abc")
    replay = server_of(again)
    assert replay["id"] == server["id"] and replay["adminPass"] == server["adminPass"]
    assert replay["name"] == server["name"] and again["X-Idempotency-Replayed"] == "true"
    assert live_servers() == [server["id"]]
    assert api_world["rapi"].names().count("create_instance") == 1
    assert server_of(create(api_world, key="other"))["id"] != server["id"]  # a new key, a new server


def test_same_key_other_body_is_refused(api_world):
    server_of(create(api_world, key="abc"))
    message = fault_of(create(api_world, key="abc", name="db"), "conflictingRequest", 409)
    assert "X-Idempotency-Key 'abc' was already used" in message
    assert VirtualMachine.objects.count() == 1


def test_keys_are_per_user(api_world):
    mine = server_of(create(api_world, key="abc"))
    bobs = server_of(create(api_world, key="abc", api=api_world["bob_api"]))
    assert mine["id"] != bobs["id"]


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "caf\u00e9"])
def test_invalid_keys(api_world, key):
    extra = {"HTTP_X_IDEMPOTENCY_KEY": key}
    body = {"server": {"name": "w", "imageRef": api_world["image"].id, "flavorRef": api_world["flavor"].id}}
    response = api_world["api"].post("/servers", body, **extra)
    assert fault_of(response, "badRequest", 400).startswith("Invalid X-Idempotency-Key")
    assert not VirtualMachine.objects.exists()


def test_expired_key_creates_anew(api_world, settings):
    first = server_of(create(api_world, key="abc"))
    settings.IDEMPOTENCY_KEY_RETENTION = 0
    second = server_of(create(api_world, key="abc"))
    assert second["id"] != first["id"]
    assert IdempotencyKey.objects.get().object_id == second["id"]


def test_create_refused_by_ganeti_is_replayed_as_the_same_error_server(api_world):
    # The create happened (a server in ERROR with Ganeti's reason): a retry
    # with the same key gets that server, never a second one.
    api_world["rapi"].fail["create_instance"] = rapi_error("cluster on fire")
    first = server_of(create(api_world, key="abc"))
    del api_world["rapi"].fail["create_instance"]
    again = create(api_world, key="abc")
    assert server_of(again)["id"] == first["id"] and server_of(again)["status"] == "ERROR"
    assert live_servers() == [first["id"]]


def test_replay_within_the_limit(api_world, settings):
    settings.MAX_VMS_PER_USER = 1
    server = server_of(create(api_world, key="abc"))
    assert server_of(create(api_world, key="abc"))["id"] == server["id"]  # not overLimit
    fault_of(create(api_world, key="new"), "overLimit", 413)


def test_network_create_with_key(api_world):
    body = {"network": {"name": "net1", "cidr": "10.0.0.0/24"}}
    extra = {"HTTP_X_IDEMPOTENCY_KEY": "n1"}
    first = api_world["api"].post("/networks", body, **extra)
    assert first.status_code == 202, first.content
    again = api_world["api"].post("/networks", body, **extra)
    assert again.status_code == 202 and again["X-Idempotency-Replayed"] == "true"
    assert json.loads(again.content)["network"]["id"] == json.loads(first.content)["network"]["id"]
    assert Network.objects.filter(userid="alice").count() == 1
    other = {"network": {"name": "net2", "cidr": "10.0.0.0/24"}}
    fault_of(api_world["api"].post("/networks", other, **extra), "conflictingRequest", 409)


# --- the commit itself fails (a transaction of its own) ------------------------------

@pytest.mark.django_db(transaction=True)
def test_commit_of_the_create_fails(api_rapi, monkeypatch):
    """The commit of the transaction inserting the server and its key fails:
    nothing is left, and the retry with the same key creates one server."""
    world = make_world()
    real_record, real_commit = idempotency.record, connection.commit
    armed = []

    def record(*args, **kwargs):
        real_record(*args, **kwargs)
        armed.append(1)

    def commit():
        if armed == [1]:
            armed.append(2)
            raise OperationalError("server closed the connection unexpectedly")
        return real_commit()

    monkeypatch.setattr(idempotency, "record", record)
    wrapper = connections["default"]
    wrapper.commit = commit
    try:
        response = create(world, key="c1")
    finally:
        del wrapper.commit
    assert fault_of(response, "serviceUnavailable", 503) == DB_DOWN
    assert armed == [1, 2] and live_servers() == [] and not IdempotencyKey.objects.exists()
    assert "create_instance" not in api_rapi.names()
    server = server_of(create(world, key="c1"))
    assert live_servers() == [server["id"]]


@pytest.mark.django_db(transaction=True)
def test_real_connection_loss_after_the_job_is_submitted(api_rapi, monkeypatch):
    """PostgreSQL: the API's own connection is terminated by the server right
    after the create job is submitted (what a PostgreSQL restart does): the
    create happened, so it is accepted, and a retry with the key replays it."""
    if connection.vendor != "postgresql":
        pytest.skip("terminates a real connection: run with SYNNEFO_SETTINGS_DIR=ci/settings/postgres")
    import psycopg
    from synnefo.logic import create_submit
    world = make_world()
    settings_dict = connection.settings_dict
    real_record = create_submit._record

    def lose_the_connection_then_record(*args):
        pid = connection.connection.info.backend_pid
        with psycopg.connect(host=settings_dict["HOST"] or None, port=settings_dict["PORT"] or None,
                             user=settings_dict["USER"], password=settings_dict["PASSWORD"] or None,
                             dbname=settings_dict["NAME"], autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        return real_record(*args)

    monkeypatch.setattr(create_submit, "_record", lose_the_connection_then_record)
    response = create(world, key="pg")
    assert response.status_code == 202, response.content
    monkeypatch.setattr(create_submit, "_record", real_record)
    connection.close()
    (vm_id,) = live_servers()
    assert server_of(response)["id"] == vm_id
    assert server_of(create(world, key="pg"))["id"] == vm_id
    assert api_rapi.names().count("create_instance") == 1


@pytest.mark.django_db(transaction=True)
def test_real_lock_timeout_has_no_effect(api_rapi, monkeypatch):
    """PostgreSQL / MariaDB: another transaction holds the user's row lock
    longer than the database waits: the create answers "Database unavailable"
    and left nothing; once the lock is gone the retry creates the server."""
    if connection.vendor not in ("postgresql", "mysql"):
        pytest.skip("SQLite has no row locks: run with SYNNEFO_SETTINGS_DIR=ci/settings/postgres "
                    "or mariadb")
    world = make_world()
    locked, release = threading.Event(), threading.Event()

    def holder():
        try:
            with transaction.atomic():
                User.objects.select_for_update().get(uniq="alice")
                locked.set()
                release.wait(30)
        finally:
            connections.close_all()

    thread = threading.Thread(target=holder)
    thread.start()
    assert locked.wait(10)
    real_lock_user = servers_logic.lock_user
    limit = ("SET LOCAL lock_timeout = '200ms'" if connection.vendor == "postgresql"
             else "SET SESSION innodb_lock_wait_timeout = 1")

    def impatient_lock_user(userid):
        with connection.cursor() as cursor:
            cursor.execute(limit)
        return real_lock_user(userid)

    monkeypatch.setattr(servers_logic, "lock_user", impatient_lock_user)
    try:
        response = create(world, key="lock")
    finally:
        release.set()
        thread.join()
    assert fault_of(response, "serviceUnavailable", 503) == DB_DOWN
    assert response["Retry-After"] == "5"
    assert live_servers() == [] and not IdempotencyKey.objects.exists()
    assert "create_instance" not in api_rapi.names()
    server = server_of(create(world, key="lock"))
    assert live_servers() == [server["id"]]


def test_database_gone_after_a_network_delete_is_submitted(api_world, monkeypatch):
    from synnefo.db.models import BackendNetwork
    created = api_world["api"].post("/networks", {"network": {"name": "n", "cidr": "10.0.0.0/24"}})
    network_id = json.loads(created.content)["network"]["id"]
    BackendNetwork.objects.filter(network_id=network_id).update(operstate="ACTIVE")
    Network.objects.filter(pk=network_id).update(state="ACTIVE")
    real_filter = BackendNetwork.objects.filter
    calls = []

    def failing_filter(*args, **kwargs):  # the job id's UPDATE, right after the delete job
        if "pk" in kwargs and not calls:
            calls.append(1)
            raise OperationalError("server closed the connection unexpectedly")
        return real_filter(*args, **kwargs)

    monkeypatch.setattr(BackendNetwork.objects, "filter", failing_filter)
    response = api_world["api"].delete("/networks/%s" % network_id)
    message = fault_of(response, "serviceUnavailable", 503)
    assert calls and message.startswith("Database unavailable after the request took effect: the "
                                        "delete job(s) ")
    assert message.endswith("of network %s were submitted to Ganeti and go ahead; check the network "
                            "before repeating it." % network_id)
    assert not response.has_header("Retry-After")
    assert api_world["rapi"].names().count("delete_network") == 1
