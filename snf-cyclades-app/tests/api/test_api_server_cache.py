"""The rendered servers kept by GET /servers/detail (synnefo.api.server_cache):
a change through the application shows at once, the cache is bounded, and a
warm list costs two queries (the token and the servers' keys)."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from synnefo.api import server_cache
from synnefo.db.models import VirtualMachine
from synnefo.logic import servers as server_logic
from test_api_servers import make_vm


def detail(api, path="/servers/detail"):
    response = api.get(path)
    assert response.status_code == 200
    return response


def names(api):
    return [s["name"] for s in json.loads(detail(api).content)["servers"]["values"]]


def test_changes_through_the_application_show_at_once(api_world):
    api = api_world["api"]
    vm = make_vm(api_world, name="one")
    other = make_vm(api_world, name="two")
    assert names(api) == ["one", "two"]
    assert detail(api, "/servers/detail.xml").content.count(b"<server ") == 2
    assert b'"one"' in detail(api, "/servers").content
    server_logic.rename("alice", vm.id, "renamed")
    compact = json.loads(detail(api, "/servers").content)["servers"]["values"]
    assert [s["name"] for s in compact] == ["renamed", "two"]
    server_logic.update_metadata("alice", other.id, {"role": "db"})
    servers = json.loads(detail(api).content)["servers"]["values"]
    assert [s["name"] for s in servers] == ["renamed", "two"]
    assert servers[1]["metadata"] == {"values": {"role": "db"}}
    assert b'name="renamed"' in detail(api, "/servers/detail.xml").content
    server_logic.admin_modify(VirtualMachine.objects.get(pk=other.id), {"suspended": True})
    assert json.loads(detail(api).content)["servers"]["values"][1]["suspended"] is True


def test_warm_list_costs_two_queries_and_renders_nothing(api_world, monkeypatch):
    api = api_world["api"]
    for i in range(5):
        make_vm(api_world, name="vm%d" % i)
    cold = detail(api).content
    monkeypatch.setattr("synnefo.api.server_views.server_rows",
                        lambda *a: pytest.fail("a warm list rendered servers again"))
    with CaptureQueriesContext(connection) as queries:
        warm = detail(api).content
    assert warm == cold
    assert len(queries) == 2, [q["sql"] for q in queries.captured_queries]


def test_cache_is_bounded_and_can_be_off(api_world, settings):
    api = api_world["api"]
    for i in range(5):
        make_vm(api_world, name="vm%d" % i)
    settings.API_SERVER_CACHE_ENTRIES = 3
    first = detail(api).content
    assert len(server_cache.CACHE.entries) == 3
    assert detail(api).content == first
    server_cache.clear()
    settings.API_SERVER_CACHE_ENTRIES = 0
    assert detail(api).content == first
    assert server_cache.CACHE.entries == {} and server_cache.LISTS.entries == {}


def test_unchanged_list_is_answered_from_its_whole_body(api_world, monkeypatch):
    api = api_world["api"]
    for i in range(3):
        make_vm(api_world, name="vm%d" % i)
    first = detail(api).content
    monkeypatch.setattr(server_cache, "fragments", lambda *a: pytest.fail("the list was rebuilt"))
    assert detail(api).content == first
    assert detail(api, "/servers/detail.json").content == first


def test_fragments_expire(api_world, settings, monkeypatch):
    api = api_world["api"]
    vm = make_vm(api_world, name="before")
    assert names(api) == ["before"]
    # a change behind the application's back: `updated` does not move
    VirtualMachine.objects.filter(pk=vm.id).update(name="after")
    assert names(api) == ["before"]
    real = server_cache.time.monotonic
    later = [0.0]
    monkeypatch.setattr(server_cache.time, "monotonic", lambda: real() + later[0])
    later[0] = settings.API_SERVER_CACHE_SECONDS / 2
    make_vm(api_world, name="new")  # the list is built again, from the kept fragment
    assert names(api) == ["before", "new"]
    VirtualMachine.objects.filter(pk=vm.id).update(name="after")
    later[0] = settings.API_SERVER_CACHE_SECONDS + 1  # the fragment expired, so did the list
    assert names(api) == ["after", "new"]


def test_warm_queries_run_the_orms_sql(api_world):
    """The token lookup and the keys query are compiled once
    (synnefo.db.compiled_queries): same SQL as the querysets, same rows."""
    from synnefo.api.server_rows import list_keys, live_keys, servers_queryset
    from synnefo.db.models import AuthToken
    from synnefo.logic.users import TOKEN_LOOKUP
    make_vm(api_world, name="one")
    make_vm(api_world, name="gone", deleted=True, operstate="DESTROYED")
    live = servers_queryset("alice").filter(deleted=False)
    executed = []

    def record(execute, sql, params, many, context):
        executed.append((sql, list(params)))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        keys = live_keys("alice")
        assert keys == list_keys(live)
    assert len(keys) == 1 and isinstance(keys[0], tuple)
    assert executed[0] == executed[1]
    digest = AuthToken.objects.get(user__uniq="alice").digest
    row = TOKEN_LOOKUP.rows(digest, using="default")[0]
    assert row[0] is None and "alice" in row
    assert TOKEN_LOOKUP.rows("0" * 64, using="default") == []


def test_keys_sign_moves_exactly_when_the_keys_do(api_world):
    """live_sign (one value from the database) is equal for two reads exactly
    when live_keys are, on every database of the suite."""
    from synnefo.api.server_rows import live_keys, live_sign
    assert live_sign("alice") == "" and not live_keys("alice")
    signs = [live_sign("alice")]
    one = make_vm(api_world, name="one")
    signs.append(live_sign("alice"))
    two = make_vm(api_world, name="two")
    signs.append(live_sign("alice"))
    assert signs[-1] == live_sign("alice")
    ids, updates = signs[-1].split(";")
    assert ids == "%d,%d" % (one.id, two.id) and updates.count(",") == 1
    server_logic.rename("alice", two.id, "renamed")
    signs.append(live_sign("alice"))
    VirtualMachine.objects.filter(pk=one.id).update(deleted=True, operstate="DESTROYED")
    signs.append(live_sign("alice"))
    make_vm(api_world, name="another user's", userid="bob")
    assert live_sign("alice") == signs[-1]
    assert len(set(signs)) == len(signs), signs


def test_a_sign_cut_short_is_not_used(api_world, monkeypatch):
    """A database that cuts a long aggregate (MySQL's group_concat_max_len)
    leaves fewer "," than servers: the list falls back on the keys."""
    from synnefo.api import server_rows
    api = api_world["api"]
    for i in range(2):
        make_vm(api_world, name="vm%d" % i)
    for ids, updates in (("'1'", "'x,y'"), ("'1,2'", "'x'"), ("NULL", "'x,y'")):
        cut = "SELECT count(*), %s, %s FROM {table} WHERE userid = %%s AND deleted = %%s" % (ids, updates)
        monkeypatch.setitem(server_rows._SIGN_SQL, connection.vendor, cut)
        assert server_rows.live_sign("alice") is None, cut
    first = names(api)
    VirtualMachine.objects.filter(userid="alice").update(updated="2030-01-01T00:00:00Z")
    with CaptureQueriesContext(connection) as queries:
        assert names(api) == first
    assert len(queries) == 7   # token, sign, keys, then the four reads of a rendering


def test_list_without_a_sign_uses_the_keys(api_world, monkeypatch):
    """Where the database gives no sign (another vendor), the keys are the sign."""
    from synnefo.api import server_rows
    api = api_world["api"]
    vm = make_vm(api_world, name="one")
    monkeypatch.setattr(server_rows, "_SIGN_SQL", {})
    assert names(api) == ["one"]
    with CaptureQueriesContext(connection) as queries:
        assert names(api) == ["one"]
    assert len(queries) == 2
    server_logic.rename("alice", vm.id, "renamed")
    assert names(api) == ["renamed"]


def test_mysql_sign_cut_short_by_group_concat_max_len(api_world):
    from synnefo.api.server_rows import live_sign
    if connection.vendor != "mysql":
        pytest.skip("MySQL's group_concat_max_len: the MariaDB pass runs this")
    for i in range(3):
        make_vm(api_world, name="vm%d" % i)
    assert live_sign("alice").count(",") == 4
    with connection.cursor() as cursor:
        cursor.execute("SET SESSION group_concat_max_len = 40")
        try:
            assert live_sign("alice") is None
        finally:
            cursor.execute("SET SESSION group_concat_max_len = 1048576")
