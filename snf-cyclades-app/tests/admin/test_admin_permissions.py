"""Who gets into /admin/: staff tokens only; everyone else sees the sign-in
page and nothing of the data; every action needs a CSRF token and a reason."""

import pytest
from django.test import Client
from synnefo.admin.auth import COOKIE, REFUSED
from synnefo.admin.models import AuditEntry
from synnefo.db.models import Backend
from synnefo.logic import users

PAGES = ["/admin/", "/admin/servers/?q=web", "/admin/servers/%(web)d/", "/admin/users/",
         "/admin/users/%(alice)d/", "/admin/networks/", "/admin/queues/", "/admin/audit/"]
ACTIONS = ["/admin/backends/%(backend)d/drain", "/admin/servers/%(web)d/shutdown",
           "/admin/users/%(alice)d/suspend", "/admin/queues/retry"]


def ids(world):
    return {"web": world["web"].id, "alice": world["alice"].id, "backend": world["backend"].id}


def assert_sign_in_page(response):
    assert response.status_code == 302
    assert response["Location"] == "/admin/login"


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_gets_the_sign_in_page_and_no_data(world, path):
    response = Client().get(path % ids(world))
    assert_sign_in_page(response)
    assert b"web1" not in response.content and b"alice" not in response.content


@pytest.mark.parametrize("path", ACTIONS)
def test_anonymous_actions_run_nothing(world, path):
    response = Client().post(path % ids(world), {"reason": "because"})
    assert_sign_in_page(response)
    assert not AuditEntry.objects.exists()
    assert not world["rapi"].calls
    assert Backend.objects.get().drained is False


def _login_body(response):
    # The pages differ only in their CSRF token.
    import re
    return re.sub(rb'value="[A-Za-z0-9]{32,}"', b"", response.content)


def test_a_non_staff_token_is_refused_exactly_like_an_unknown_one(world):
    client = Client()
    unknown = client.post("/admin/login", {"token": "no-such-token"})
    non_staff = client.post("/admin/login", {"token": world["alice_token"]})
    assert unknown.status_code == non_staff.status_code == 403
    assert REFUSED.encode() in non_staff.content
    assert _login_body(unknown) == _login_body(non_staff)
    assert not non_staff.cookies.get(COOKIE) or not non_staff.cookies[COOKIE].value
    assert_sign_in_page(client.get("/admin/"))


def test_a_staff_token_signs_in_with_a_strict_http_only_cookie(world):
    client = Client()
    response = client.post("/admin/login", {"token": world["staff_token"]})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    cookie = response.cookies[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/admin/"
    home = client.get("/admin/")
    assert home.status_code == 200
    assert b"ganeti1.example.org" in home.content
    assert "script-src" not in home["Content-Security-Policy"]


def test_a_forged_cookie_is_refused(world):
    client = Client()
    client.cookies[COOKIE] = world["staff_token"]  # not signed by the server
    assert_sign_in_page(client.get("/admin/"))


def test_dropping_the_staff_flag_ends_the_session_at_once(staff_client, world):
    users.modify(world["staff"], {"staff": False})
    assert_sign_in_page(staff_client.get("/admin/"))


def test_a_revoked_token_ends_the_session_at_once(staff_client, world):
    users.revoke_tokens(world["staff"])
    assert_sign_in_page(staff_client.get("/admin/"))


def test_a_suspended_staff_user_is_out(staff_client, world):
    users.set_suspended(world["staff"], True)
    assert_sign_in_page(staff_client.get("/admin/servers/"))


def test_actions_need_the_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    page = client.get("/admin/login")
    csrf = client.cookies["csrftoken"].value
    assert client.post("/admin/login", {"token": world["staff_token"]}).status_code == 403
    assert client.post("/admin/login", {"token": world["staff_token"],
                                         "csrfmiddlewaretoken": csrf}).status_code == 302
    assert page.status_code == 200
    drain = "/admin/backends/%d/drain" % world["backend"].id
    assert client.post(drain, {"reason": "maintenance"}).status_code == 403
    assert Backend.objects.get().drained is False
    assert client.post(drain, {"reason": "maintenance", "csrfmiddlewaretoken": csrf}).status_code == 302
    assert Backend.objects.get().drained is True


def test_an_action_without_a_reason_runs_nothing(staff_client, world):
    response = staff_client.post("/admin/backends/%d/drain" % world["backend"].id, {"reason": "  "})
    assert response.status_code == 302 and "error=" in response["Location"]
    assert Backend.objects.get().drained is False
    assert not AuditEntry.objects.exists()


def test_get_never_acts(staff_client, world):
    assert staff_client.get("/admin/backends/%d/drain" % world["backend"].id).status_code == 405
    assert Backend.objects.get().drained is False


def test_sign_out_ends_the_session(staff_client):
    assert staff_client.post("/admin/logout").status_code == 302
    assert_sign_in_page(staff_client.get("/admin/"))


def test_unknown_actions_are_not_found(staff_client, world):
    for path in ("/admin/servers/%d/explode" % world["web"].id,
                 "/admin/backends/%d/melt" % world["backend"].id):
        assert staff_client.post(path, {"reason": "x"}).status_code == 404
    assert not AuditEntry.objects.exists()


def test_the_error_parameter_shows_only_our_own_messages(staff_client, world):
    page = staff_client.get("/admin/?error=Your+account+is+closed").content.decode()
    assert "Your account is closed" not in page
    page = staff_client.get("/admin/?error=reason-missing").content.decode()
    assert "Give a reason" in page
