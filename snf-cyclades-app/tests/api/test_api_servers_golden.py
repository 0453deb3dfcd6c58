"""The answers of the server list, detail and get endpoints, byte for byte.

A fixture of varied servers (every status, with and without NICs, IPv4,
IPv6, firewall profiles, metadata, private networks and diagnostics, deleted
ones, another user's) is asked for every form of the server lists (compact
and detailed, JSON and XML by suffix and by ``Accept``, with and without
``changes-since``), each server, its addresses and its metadata. The answers
(status, Content-Type, Cache-Control, body) must equal the ones recorded in
``golden/server_answers.json``, which were recorded on the code before the
lists were made faster (issue 12): any change to an answer fails here.

Every id and time of the fixture is fixed, so the answers do not depend on
the database or the day. To record the file again (only when an answer is
meant to change): ``SNF_RECORD_GOLDEN=1 pytest this_file``.
"""

import datetime
import json
import os

import pytest
from api_helpers import make_backend, make_user
from django.test.utils import CaptureQueriesContext
from synnefo.db.models import (
    Flavor,
    Network,
    NetworkInterface,
    VirtualMachine,
    VirtualMachineDiagnostic,
    VirtualMachineMetadata,
)

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "server_answers.json")
UTC = datetime.UTC
T0 = datetime.datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
CUT = datetime.datetime(2024, 3, 5, 0, 0, 0, tzinfo=UTC)  # changes-since between old and new
FLAVOR, OTHER_FLAVOR = 71, 72
PUBLIC, PRIVATE, PRIVATE6 = 81, 82, 83
TEN_YEARS = 10 * 366 * 86400


def at(days, seconds=0):
    return T0 + datetime.timedelta(days=days, seconds=seconds)


def server(pk, name, created, updated, userid="golden", flavor=FLAVOR, **fields):
    """A server with fixed id and times (``update`` bypasses ``auto_now``)."""
    fields.setdefault("operstate", "STARTED")
    vm = VirtualMachine.objects.create(id=pk, name=name, userid=userid, flavor_id=flavor,
                                       imageid=fields.pop("imageid", "debian-12"), **fields)
    VirtualMachine.objects.filter(pk=pk).update(created=created, updated=updated)
    return vm


def nic(vm_id, network, index, mac, **fields):
    NetworkInterface.objects.create(machine_id=vm_id, network_id=network, index=index, mac=mac, **fields)


def meta(vm_id, *items):
    for key, value in items:
        VirtualMachineMetadata.objects.create(vm_id=vm_id, meta_key=key, meta_value=value)


def diagnostic(vm_id, created, **fields):
    row = VirtualMachineDiagnostic.objects.create(machine_id=vm_id, **fields)
    VirtualMachineDiagnostic.objects.filter(pk=row.pk).update(created=created)


def make_fixture():
    backend = make_backend()
    Flavor.objects.create(id=FLAVOR, cpu=1, ram=1024, disk=20, disk_template="drbd")
    Flavor.objects.create(id=OTHER_FLAVOR, cpu=4, ram=8192, disk=80, disk_template="plain")
    Network.objects.create(id=PUBLIC, name="public", subnet="192.0.2.0/24", public=True,
                           type="PUBLIC_ROUTED", mac_prefix="aa:00:0", state="ACTIVE", link="snf_public")
    Network.objects.create(id=PRIVATE, name="lan", userid="golden", subnet="10.1.0.0/24",
                           mac_prefix="aa:01:0", state="ACTIVE")
    Network.objects.create(id=PRIVATE6, name="lan6", userid="golden", subnet="10.2.0.0/24",
                           subnet6="2001:db8:2::/64", type="PRIVATE_MAC_FILTERED", mac_prefix="aa:02:0",
                           state="ACTIVE")
    b = {"backend": backend}
    # old servers (updated before CUT): left out of changes-since
    server(901, "web", at(0), at(1), **b)
    nic(901, PUBLIC, 0, "aa:00:00:00:09:01", ipv4="192.0.2.10", firewall_profile="ENABLED")
    meta(901, ("OS", "debian"), ("owner", "ops team"))
    server(902, "stopped, bare", at(0, 60), at(2), operstate="STOPPED", **b)
    server(903, "build <&> \"quoted\" 'name'", at(1), at(1, 5), operstate="BUILD", buildpercentage=42,
           task="BUILD", **b)
    meta(903, ("OS", "ubuntu"), ("note", "a <b> & c \"d\" 'e'\nline two\ttab\x01ctl"))
    server(904, "failed", at(1, 30), at(2, 30), operstate="ERROR", backendjobstatus="error",
           backendopcode="OP_INSTANCE_CREATE", backendlogmsg="no space", **b)
    diagnostic(904, at(1, 40), level="INFO", source="image-info", message="copying")
    diagnostic(904, at(1, 50), level="ERROR", source="ganeti", message="Instance creation failed",
               details="Not enough disk space on node1\n<trace>", source_date=at(1, 49))
    # new servers (updated after CUT)
    server(905, "rebooting", at(2), at(5), task="REBOOT", suspended=True, **b)
    nic(905, PRIVATE6, 1, "aa:02:00:00:09:05", ipv6="2001:db8:2::5", firewall_profile="PROTECTED")
    nic(905, PUBLIC, 0, "aa:00:00:00:09:05", ipv4="192.0.2.11", ipv6="2001:db8::11")
    nic(905, PRIVATE, 2, "aa:01:00:00:09:05")
    meta(905, ("code", "1"), ("message", "m"), ("details", "d"))
    server(906, "reboot job", at(2, 10), at(5, 10), backendopcode="OP_INSTANCE_REBOOT",
           backendjobstatus="running", flavor=OTHER_FLAVOR, imageid="windows-2022", **b)
    nic(906, PRIVATE, 0, "aa:01:00:00:09:06", ipv4="10.1.0.6", firewall_profile="DISABLED")
    diagnostic(906, at(3), level="WARNING", source="image-warning", message="slow disk", details=None)
    server(907, "ünïcode ☃ server", at(3), at(6), operstate="STOPPED", task="START", **b)
    meta(907, ("Ωmega", "värde ☃"), ("empty", ""))
    server(908, "deleted", at(0), at(6, 1), operstate="DESTROYED", deleted=True, **b)
    meta(908, ("OS", "gone"))
    server(909, "deleted long ago", at(0), at(1, 1), operstate="DESTROYED", deleted=True, backend=None)
    server(910, "no backend yet", at(6), at(6, 2), operstate="BUILD", backend=None)
    server(911, "someone else's", at(0), at(6, 3), userid="stranger", **b)
    nic(911, PUBLIC, 0, "aa:00:00:00:09:11", ipv4="192.0.2.99")
    meta(911, ("OS", "other"))
    return [901, 902, 903, 904, 905, 906, 907, 908, 909, 910]


XML = {"HTTP_ACCEPT": "application/xml"}
XML_PREFERRED = {"HTTP_ACCEPT": "text/html, application/xml;q=0.9, application/json;q=0.8"}
SINCE = {"changes-since": CUT.isoformat()}
NOTHING_SINCE = {"changes-since": at(7).isoformat()}


def requests(server_ids):
    """``(key, path, query, headers)`` of every request asked."""
    asked = []
    for base in ("/servers", "/servers/detail"):
        for suffix in ("", "/", ".json", ".xml"):
            asked.append((base + suffix, base + suffix, {}, {}))
        asked.append((base + " Accept:xml", base, {}, XML))
        asked.append((base + " Accept:html,xml", base, {}, XML_PREFERRED))
        asked.append((base + " changes-since", base, SINCE, {}))
        asked.append((base + ".xml changes-since", base + ".xml", SINCE, {}))
        asked.append((base + " changes-since nothing", base, NOTHING_SINCE, {}))
    for pk in server_ids + [911, 999]:
        for suffix in ("", ".xml"):
            path = "/servers/%d%s" % (pk, suffix)
            asked.append((path, path, {}, {}))
        for tail in ("/ips", "/meta"):
            path = "/servers/%d%s" % (pk, tail)
            asked.append((path, path, {}, {}))
    return asked


def answers(api, server_ids):
    result = {}
    for key, path, query, headers in requests(server_ids):
        response = api.get(path, data=query, **headers)
        result[key] = {"status": response.status_code,
                       "content_type": response.get("Content-Type"),
                       "cache_control": response.get("Cache-Control"),
                       "body": response.content.decode("utf-8")}
    return result


@pytest.fixture
def golden_api(db, settings):
    settings.POLL_LIMIT = TEN_YEARS  # the fixture's fixed times are in 2024
    server_ids = make_fixture()
    _, api = make_user("golden")
    return api, server_ids


@pytest.mark.parametrize("cache_entries", [20000, 0], ids=["cache", "no-cache"])
def test_server_answers_are_the_recorded_ones(golden_api, settings, cache_entries):
    """Asked twice: the second time the lists come from the kept fragments
    (unless the cache is off)."""
    settings.API_SERVER_CACHE_ENTRIES = cache_entries
    api, server_ids = golden_api
    got = answers(api, server_ids)
    assert answers(api, server_ids) == got
    if os.environ.get("SNF_RECORD_GOLDEN"):
        os.makedirs(os.path.dirname(GOLDEN), exist_ok=True)
        with open(GOLDEN, "w", encoding="utf-8") as handle:
            json.dump(got, handle, indent=1, ensure_ascii=False, sort_keys=True)
            handle.write("\n")
        pytest.skip("recorded %s" % GOLDEN)
    with open(GOLDEN, encoding="utf-8") as handle:
        recorded = json.load(handle)
    assert sorted(got) == sorted(recorded)
    for key in recorded:
        assert got[key] == recorded[key], key


def test_recorded_answers_cover_the_fixture():
    """The golden file holds what it claims: every status, XML and the 304 poll."""
    with open(GOLDEN, encoding="utf-8") as handle:
        recorded = json.load(handle)
    detail = json.loads(recorded["/servers/detail"]["body"])["servers"]["values"]
    assert {s["status"] for s in detail} == {"ACTIVE", "STOPPED", "BUILD", "ERROR", "REBOOT"}
    assert {s["id"] for s in detail} == {901, 902, 903, 904, 905, 906, 907, 910}
    since = json.loads(recorded["/servers/detail changes-since"]["body"])["servers"]["values"]
    assert {s["id"]: s["status"] for s in since} == {905: "REBOOT", 906: "REBOOT", 907: "STOPPED",
                                                     908: "DELETED", 910: "BUILD"}
    assert recorded["/servers/detail changes-since nothing"]["status"] == 304
    assert recorded["/servers/detail.xml"]["body"].startswith("<?xml")
    assert recorded["/servers/detail Accept:xml"]["body"] == recorded["/servers/detail.xml"]["body"]
    assert recorded["/servers/911"]["status"] == 404
    assert "firewallProfile" in recorded["/servers/905"]["body"]
    assert "diagnostics" in json.loads(recorded["/servers/904"]["body"])["server"]


def test_empty_changes_since_poll_is_one_query_and_304(golden_api):
    """A poll that finds nothing: authentication, then one query on the
    servers, answered 304 without a body."""
    from django.db import connection
    api, _ = golden_api
    api.get("/servers")  # authenticate once so caches, if any, are warm
    for path in ("/servers", "/servers/detail"):
        with CaptureQueriesContext(connection) as queries:
            response = api.get(path, data=NOTHING_SINCE)
        assert response.status_code == 304
        assert response.content == b""
        server_queries = [q["sql"] for q in queries.captured_queries
                          if "db_virtualmachine" in q["sql"]]
        assert len(server_queries) == 1, server_queries


def test_changes_since_query_uses_the_user_updated_index(golden_api):
    """The poll's query reads the (userid, updated) index, so a poll that
    finds nothing reads no row (checked on SQLite, whose plan is stable on
    small tables; migration 0008 adds the index)."""
    from django.db import connection
    from synnefo.api.server_rows import servers_queryset
    if connection.vendor != "sqlite":
        pytest.skip("query plans of small tables differ by database")
    query = servers_queryset("golden").filter(updated__gte=at(7)).values_list("id", "updated")
    assert "vm_user_updated" in query.explain()
