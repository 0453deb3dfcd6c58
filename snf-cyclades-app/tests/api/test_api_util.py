"""synnefo.api.util and synnefo.api.xml_render: serialization choice,
authentication, method check, faults, request parsing, changes-since,
validation helpers and the XML form of JSON documents."""

import datetime
import json
import xml.etree.ElementTree as ET

import pytest
from api_helpers import fault_of, make_user
from django.test import RequestFactory, override_settings
from django.utils import timezone
from synnefo.api import faults, util, xml_render
from synnefo.logic import errors

NS = "{http://docs.openstack.org/compute/api/v1.1}"
ATOM = "{http://www.w3.org/2005/Atom}"
SNF = "{http://www.synnefo.org/api/compute-extensions}"


@pytest.fixture
def alice_api(db):
    return make_user("alice")[1]


def make_view(*methods, body=None, exc=None, **kwargs):
    @util.api_method(*methods, **kwargs)
    def view(request):
        if exc is not None:
            raise exc
        return util.render(request, body or {"thing": {"id": 1, "userid": request.userid}})
    return view


def request(method="get", path="/api/v1.1/x", token=None, **extra):
    factory = RequestFactory()
    if token:
        extra["HTTP_X_AUTH_TOKEN"] = token
    return getattr(factory, method)(path, **extra)


# --- authentication ------------------------------------------------------------

def test_missing_and_bad_token_are_unauthorized_on_every_url(db):
    anonymous = make_user("nobody")[1]
    anonymous.token = None
    for path in ("/api/", "/api/v1.1/", "/api/v1.1/servers"):
        assert fault_of(anonymous.get(path), "unauthorized", 401) == "No user found."
    anonymous.token = "not-a-token"
    assert fault_of(anonymous.get("/api/"), "unauthorized", 401) == "No user found."


def test_header_token_wins_over_query_string(alice_api):
    from django.test import Client
    token = alice_api.token
    assert Client().get("/api/?X-Auth-Token=" + token).status_code == 200
    assert Client().get("/api/?X-Auth-Token=" + token, HTTP_X_AUTH_TOKEN="bad").status_code == 401
    assert Client().get("/api/?X-Auth-Token=bad", HTTP_X_AUTH_TOKEN=token).status_code == 200


def test_query_string_token_can_be_switched_off(alice_api, settings):
    from django.test import Client
    settings.API_TOKEN_IN_QUERY_STRING = False
    token = alice_api.token
    assert Client().get("/api/?X-Auth-Token=" + token).status_code == 401
    assert Client().get("/api/", HTTP_X_AUTH_TOKEN=token).status_code == 200


def test_token_cache_setting_is_gone():
    """TOKEN_CACHE_SECONDS promised a cache that never existed: every request reads the DB."""
    from django.conf import settings
    assert not hasattr(settings, "TOKEN_CACHE_SECONDS")


def test_inactive_user_is_unauthorized(db):
    user, api = make_user("carol")
    user.active = False
    user.save()
    fault_of(api.get("/api/"), "unauthorized", 401)


def test_view_sees_user_and_userid(db):
    user, api = make_user("dave")
    response = make_view("GET")(request(token=api.token))
    assert json.loads(response.content) == {"thing": {"id": 1, "userid": "dave"}}


def test_unauthenticated_view_when_auth_false(db):
    @util.api_method("GET", auth=False)
    def view(request):
        assert not hasattr(request, "userid")
        return util.render_empty(204)
    assert view(request()).status_code == 204


# --- method check and faults ---------------------------------------------------------

def test_method_not_allowed_is_bad_request_after_auth(alice_api):
    assert fault_of(alice_api.post("/api/", {}), "badRequest", 400) == "Method not allowed."
    alice_api.token = "bad"
    fault_of(alice_api.post("/api/", {}), "unauthorized", 401)


def test_unknown_url_is_bad_request_not_found(alice_api):
    for path in ("/api/v1.1/nothing", "/api/v2/servers", "/api/v1.1/servers/abc/x"):
        assert fault_of(alice_api.get(path), "badRequest", 400) == "Not found."
    assert fault_of(alice_api.delete("/api/whatever"), "badRequest", 400) == "Not found."


def test_unknown_url_in_xml(alice_api):
    response = alice_api.get("/api/v1.1/nothing", HTTP_ACCEPT="application/xml")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    assert root.tag == NS + "badRequest" and root.get("code") == "400"
    assert root.find(NS + "message").text == "Not found."


def test_api_and_logic_faults_are_rendered(alice_api):
    token = alice_api.token
    response = make_view("GET", exc=faults.OverLimit("Too many."))(request(token=token))
    assert fault_of(response, "overLimit", 413) == "Too many."
    response = make_view("GET", exc=errors.BuildInProgress("Building."))(request(token=token))
    assert fault_of(response, "buildInProgress", 409) == "Building."
    response = make_view("GET", exc=errors.ServiceUnavailable("RAPI down."))(request(token=token))
    assert fault_of(response, "serviceUnavailable", 503) == "RAPI down."


def test_unexpected_exception_is_logged_service_unavailable(alice_api, caplog):
    response = make_view("GET", exc=KeyError("boom"))(request(token=alice_api.token))
    assert fault_of(response, "serviceUnavailable", 503) == "Unexpected error."
    assert "KeyError" in json.loads(response.content)["serviceUnavailable"]["details"]
    assert any(r.levelname == "ERROR" and r.exc_info for r in caplog.records)


def test_deliberate_5xx_fault_is_logged_without_traceback(alice_api, caplog):
    view = make_view("GET", exc=faults.ServiceUnavailable("Not supported."))
    response = view(request(token=alice_api.token))
    assert fault_of(response, "serviceUnavailable", 503) == "Not supported."
    records = [r for r in caplog.records if r.name == "synnefo.api.util"]
    assert records and records[0].levelname == "ERROR" and not records[0].exc_info
    assert "Not supported." in records[0].getMessage()


@override_settings(DEBUG=False, TEST=False)
def test_no_traceback_in_details_outside_debug(alice_api):
    response = make_view("GET", exc=KeyError("boom"))(request(token=alice_api.token))
    assert json.loads(response.content)["serviceUnavailable"]["details"] == ""


def test_never_cache_headers(alice_api):
    response = alice_api.get("/api/")
    assert "max-age=0" in response["Cache-Control"]
    assert response.has_header("Expires")
    fault = alice_api.get("/api/v1.1/nothing")
    assert "max-age=0" in fault["Cache-Control"]


# --- serialization -------------------------------------------------------------------

@pytest.mark.parametrize("fmt,accept,expected", [
    (None, "", "json"),
    ("xml", "application/json", "xml"),
    ("json", "application/xml", "json"),
    (None, "text/html, application/xml;q=0.9, application/json", "xml"),
    (None, "text/html", "json"),
])
def test_choose_serialization(fmt, accept, expected):
    req = request(HTTP_ACCEPT=accept)
    assert util.choose_serialization(req, fmt) == expected


def test_suffix_selects_xml(alice_api):
    response = alice_api.get("/api/.xml")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml; charset=UTF-8"
    assert ET.fromstring(response.content).tag == NS + "versions"
    response = alice_api.get("/api/.json", HTTP_ACCEPT="application/xml")
    assert response["Content-Type"] == "application/json; charset=UTF-8"


def test_render_empty():
    response = util.render_empty(304)
    assert response.status_code == 304 and response.content == b""


def test_isoformat():
    dt = datetime.datetime(2011, 4, 19, 10, 18, 52, 85737, tzinfo=datetime.UTC)
    assert util.isoformat(dt) == "2011-04-19T10:18:52.085737+00:00"
    athens = datetime.timezone(datetime.timedelta(hours=3))
    assert util.isoformat(dt.astimezone(athens)) == "2011-04-19T10:18:52.085737+00:00"
    assert util.isoformat(dt.replace(tzinfo=None)) == "2011-04-19T10:18:52.085737+00:00"
    assert util.isoformat(None) is None


# --- request bodies ------------------------------------------------------------------

def body_request(data, content_type="application/json"):
    return RequestFactory().post("/x", data=data, content_type=content_type)


def test_get_request_dict():
    assert util.get_request_dict(body_request('{"a": 1}')) == {"a": 1}
    assert util.get_request_dict(body_request('{"a": 1}', "application/json; charset=utf-8")) == {"a": 1}


@pytest.mark.parametrize("data,content_type,message", [
    ('{"a": 1}', "text/plain", "Unsupported Content-Type."),
    ('{"a": 1}', "", "Unsupported Content-Type."),
    ("{bad json", "application/json", "Invalid JSON data."),
    (b"\xff\xfe", "application/json", "Invalid JSON data."),
    ("[1, 2]", "application/json", "Malformed request"),
    ('"text"', "application/json", "Malformed request"),
])
def test_get_request_dict_rejects(data, content_type, message):
    with pytest.raises(faults.BadRequest) as info:
        util.get_request_dict(body_request(data, content_type))
    assert info.value.message == message


# --- changes-since -------------------------------------------------------------------

def since_request(value):
    return RequestFactory().get("/x", {"changes-since": value} if value is not None else {})


def test_changes_since_absent_and_valid():
    assert util.get_changes_since(since_request(None)) is None
    now = timezone.now().replace(microsecond=0)
    ago = now - datetime.timedelta(minutes=5)
    assert util.get_changes_since(since_request(ago.isoformat())) == ago
    zulu = ago.astimezone(datetime.UTC).replace(tzinfo=None).isoformat() + "Z"
    assert util.get_changes_since(since_request(zulu)) == ago
    athens = ago.astimezone(datetime.timezone(datetime.timedelta(hours=2)))
    since = util.get_changes_since(since_request(athens.isoformat()))
    assert since == ago and since.utcoffset() == datetime.timedelta(0)


def test_changes_since_errors():
    now = timezone.now()
    cases = [
        ("yesterday", "Invalid changes-since parameter."),
        ((now - datetime.timedelta(minutes=1)).replace(tzinfo=None).isoformat(),
         "Invalid changes-since parameter."),
        ((now + datetime.timedelta(minutes=5)).isoformat(), "changes-since value set in the future."),
        ((now - datetime.timedelta(hours=2)).isoformat(), "Too old changes-since value."),
    ]
    for value, message in cases:
        with pytest.raises(faults.BadRequest) as info:
            util.get_changes_since(since_request(value))
        assert info.value.message == message, value


# --- validation helpers --------------------------------------------------------------

def test_check_name():
    assert util.check_name("web 1") == "web 1"
    assert util.check_name("x" * 255) == "x" * 255
    for bad in ("", "   ", None, 12, "x" * 256):
        with pytest.raises(faults.BadRequest):
            util.check_name(bad, "server")


def test_check_metadata():
    assert util.check_metadata({"OS": "debian"}) == {"OS": "debian"}
    assert util.check_metadata({"k" * 50: "v" * 500})
    for bad in ([], {"": "v"}, {"k": 1}, {"k": None}, {"k" * 51: "v"}, {"k": "v" * 501}):
        with pytest.raises(faults.BadRequest):
            util.check_metadata(bad)


# --- XML ------------------------------------------------------------------------------

def parse(document):
    text = xml_render.to_xml(document)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(text.encode("utf-8"))


def test_xml_fault():
    root = parse(faults.fault_body(faults.ItemNotFound("Server <1> not found.")))
    assert root.tag == NS + "itemNotFound" and root.get("code") == "404"
    assert root.find(NS + "message").text == "Server <1> not found."
    assert root.find(NS + "details").text is None


def test_xml_server_list_and_object():
    root = parse({"servers": {"values": [{"id": 1, "name": "a&b"}, {"id": 2, "name": "c"}]}})
    assert root.tag == NS + "servers"
    assert [(s.tag, s.get("id"), s.get("name")) for s in root] == [
        (NS + "server", "1", "a&b"), (NS + "server", "2", "c")]
    server = parse({"server": {
        "id": 7, "name": "vm", "suspended": False, "SNF:task_state": "", "ipv4": None,
        "metadata": {"values": {"OS": "debian", "weird key": "x\"y"}},
        "attachments": {"values": [{"id": "nic-7-0", "network_id": "1", "firewallProfile": "ENABLED"}]}}})
    assert server.get("id") == "7" and server.get("suspended") == "false"
    assert server.get(SNF + "task_state") == "" and server.get("ipv4") is None
    metas = server.find(NS + "metadata").findall(NS + "meta")
    assert {m.get("key"): m.text for m in metas} == {"OS": "debian", "weird key": 'x"y'}
    nic = server.find(NS + "attachments").find(NS + "nic")
    assert nic.get("id") == "nic-7-0" and nic.get("firewallProfile") == "ENABLED"


def test_xml_meta_links_and_media_types():
    meta = parse({"meta": {"OS": "debian"}})
    assert (meta.tag, meta.get("key"), meta.text) == (NS + "meta", "OS", "debian")
    version = parse({"version": {"id": "v1.1", "links": [{"rel": "self", "href": "http://x/api"}],
                                 "media-types": [{"base": "application/xml", "type": "a+xml"}]}})
    link = version.find(ATOM + "link")
    assert (link.get("rel"), link.get("href")) == ("self", "http://x/api")
    media = version.find(NS + "media_types").findall(NS + "media_type")
    assert [m.get("type") for m in media] == ["a+xml"]


def test_xml_user_data_stays_well_formed():
    meta = parse({"metadata": {"values": {"k\x01": "line1\nline2\x00", "t": "a\tb"}}})
    items = {m.get("key"): m.text for m in meta}
    assert items == {"k\ufffd": "line1\nline2\ufffd", "t": "a\tb"}
    server = parse({"server": {"name": "two\nlines\x1f"}})
    assert server.get("name") == "two\nlines\ufffd"


def test_xml_needs_one_root():
    with pytest.raises(ValueError):
        xml_render.to_xml({"a": 1, "b": 2})


def test_expired_and_revoked_tokens_stop_at_once(db):
    """No token is remembered between requests: expiry and revocation count
    from the next request on (the lookup's SQL is compiled once, run each time)."""
    from synnefo.db.models import AuthToken
    from synnefo.logic.users import issue_token
    user, api = make_user("erin")
    assert api.get("/api/").status_code == 200
    AuthToken.objects.filter(user=user).update(expires=timezone.now() - datetime.timedelta(seconds=1))
    fault_of(api.get("/api/"), "unauthorized", 401)
    api.token = issue_token(user, 1)
    assert api.get("/api/").status_code == 200
    AuthToken.objects.filter(user=user).update(revoked=True)
    fault_of(api.get("/api/"), "unauthorized", 401)


def test_authenticated_user_is_the_orm_instance(db):
    from synnefo.db.models import User
    from synnefo.logic.users import authenticate
    user, api = make_user("frank")
    found = authenticate(api.token)
    stored = User.objects.get(pk=user.pk)
    assert type(found) is User and found._state.db == stored._state.db and not found._state.adding
    assert {f.attname: getattr(found, f.attname) for f in User._meta.concrete_fields} == \
        {f.attname: getattr(stored, f.attname) for f in User._meta.concrete_fields}
    assert found.created.tzinfo is not None
    assert authenticate(api.token + "x") is None and authenticate("") is None


@pytest.mark.parametrize("kind", ["plain", "empty", "retry-after", "own expires", "own cache-control"])
def test_never_cache_headers_are_djangos(kind, monkeypatch):
    """util.never_cache sets exactly the headers of Django's
    add_never_cache_headers, on fresh answers and on ones that have some."""
    from django.http import HttpResponse
    from django.utils.cache import add_never_cache_headers
    monkeypatch.setattr(util.time, "time", lambda: 1_796_000_000.25)

    def answer():
        response = HttpResponse(status=304) if kind == "empty" else HttpResponse(b"{}")
        if kind == "retry-after":
            response["Retry-After"] = "5"
        elif kind == "own expires":
            response["Expires"] = "Thu, 01 Jan 1970 00:00:00 GMT"
        elif kind == "own cache-control":
            response["Cache-Control"] = "public, max-age=60"
        return response

    ours, djangos = answer(), answer()
    util.never_cache(ours)
    add_never_cache_headers(djangos)
    assert list(ours.headers.items()) == list(djangos.headers.items())
    assert ours["Cache-Control"].startswith("max-age=0") or kind == "own cache-control"
