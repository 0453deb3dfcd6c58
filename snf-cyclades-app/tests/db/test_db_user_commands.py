"""snf-manage user-add, user-list, user-show, user-modify; tokens and limits."""

import datetime
import json

import pytest
from django.utils import timezone
from synnefo.db.models import AuthToken, User
from synnefo.logic.users import authenticate, network_limit, vm_limit


def token_of(result):
    lines = [line for line in result.out.splitlines() if line.startswith("token: ")]
    assert len(lines) == 1, result
    return lines[0][len("token: "):]


# --- user-add -------------------------------------------------------------------

def test_user_add_creates_user_and_prints_token_once(manage, settings):
    settings.TOKEN_LIFETIME_DAYS = 30
    result = manage("user-add", "--uniq", "alice@example.org", "--name", "Alice",
                    "--email", "alice@example.org", "--max-vms", "7", "--max-networks", "0")
    assert result.code in (0, None) and result.err == ""
    token = token_of(result)
    user = User.objects.get()
    assert (user.uniq, user.name, user.email, user.max_vms, user.max_networks, user.active) == \
        ("alice@example.org", "Alice", "alice@example.org", 7, 0, True)
    assert vm_limit(user) == 7 and network_limit(user) == 0
    stored = AuthToken.objects.get()
    assert stored.digest == AuthToken.digest_of(token) and token not in stored.digest
    assert token not in json.dumps(list(AuthToken.objects.values_list("digest", flat=True)))
    lifetime = stored.expires - stored.created
    assert datetime.timedelta(days=29, hours=23) < lifetime <= datetime.timedelta(days=30, seconds=5)
    assert authenticate(token) == user
    # shown once: nothing else ever prints it
    assert token not in manage("user-show", "alice@example.org").out
    assert token not in manage("user-list", "--output", "json").out


def test_user_add_defaults_and_token_lifetime_zero(manage):
    result = manage("user-add", "--uniq", "bob", "--token-lifetime", "0")
    token = token_of(result)
    user = User.objects.get(uniq="bob")
    assert (user.name, user.email, user.max_vms, user.max_networks) == ("", "", None, None)
    assert AuthToken.objects.get().expires is None
    assert authenticate(token) == user
    assert "never expires" in result.out


def test_user_add_inactive_token_does_not_authenticate(manage):
    result = manage("user-add", "--uniq", "carol", "--inactive")
    token = token_of(result)
    assert User.objects.get().active is False
    assert authenticate(token) is None
    assert "user-modify carol --active" in result.out
    assert "inactive" not in manage("user-add", "--uniq", "dave").out


@pytest.mark.parametrize("argv, match", [
    (["--uniq", ""], "--uniq must not be empty"),
    (["--uniq", "two words"], "spaces"),
    (["--uniq", "u" * 129], "longer than 128"),
    (["--uniq", "a\x01b"], "control characters"),
    (["--uniq", "x", "--email", "not-an-address"], "e-mail"),
    (["--uniq", "x", "--name", "n" * 256], "--name"),
    (["--uniq", "x", "--max-vms", "-1"], "--max-vms"),
    (["--uniq", "x", "--max-vms", "many"], "--max-vms must be an integer"),
    (["--uniq", "x", "--max-networks", "1.5"], "--max-networks"),
    (["--uniq", "x", "--max-networks", "99999999999"], "too large"),
    (["--uniq", "x", "--token-lifetime", "-3"], "--token-lifetime"),
    (["--uniq", "x", "--token-lifetime", "soon"], "--token-lifetime"),
    ([], "--uniq"),
    (["--uniq", "x", "--bogus"], "--bogus"),
])
def test_user_add_bad_arguments(manage_fails, argv, match):
    manage_fails("user-add", *argv, match=match)


def test_user_add_existing_uniq_is_refused(manage, manage_fails):
    manage("user-add", "--uniq", "alice")
    manage_fails("user-add", "--uniq", "alice", "--name", "Other", match="already exists")
    assert AuthToken.objects.count() == 1


# --- user-list / user-show -------------------------------------------------------

def test_user_list_table_json_csv_and_filters(manage, settings):
    settings.MAX_VMS_PER_USER = 3
    settings.VMS_USER_QUOTA = {"bob": 9}
    manage("user-add", "--uniq", "alice", "--max-vms", "5")
    manage("user-add", "--uniq", "bob", "--inactive")
    table = manage("user-list").out.splitlines()
    assert table[0].split()[:3] == ["id", "uniq", "name"] and set(table[1]) == {"-", " "}
    assert len(table) == 4
    data = json.loads(manage("user-list", "--output", "json").out)
    assert [(u["uniq"], u["vm_limit"], u["active"], u["valid_tokens"]) for u in data] == \
        [("alice", 5, True, 1), ("bob", 9, False, 1)]
    csv_lines = manage("user-list", "-o", "csv", "--inactive").out.splitlines()
    assert csv_lines[0].startswith("id,uniq,") and len(csv_lines) == 2 and ",bob," in csv_lines[1]
    assert [u["uniq"] for u in json.loads(manage("user-list", "--active", "-o", "json").out)] == ["alice"]


def test_user_show_by_uniq_and_by_id(manage):
    manage("user-add", "--uniq", "alice", "--max-networks", "2")
    user = User.objects.get()
    by_uniq = json.loads(manage("user-show", "alice", "-o", "json").out)
    by_id = json.loads(manage("user-show", str(user.id), "-o", "json").out)
    assert by_uniq == by_id
    assert by_uniq["uniq"] == "alice" and by_uniq["max_networks"] == 2 and by_uniq["max_vms"] == "default"
    assert by_uniq["valid_tokens"] == 1 and by_uniq["token %d" % user.tokens.get().id].startswith("created ")
    manage("user-modify", "alice", "--renew-token", "--token-lifetime", "0")
    manage("user-modify", "alice", "--renew-token", "--token-lifetime", "5")
    old_ids = list(AuthToken.objects.filter(revoked=True).values_list("id", flat=True))
    latest = AuthToken.objects.get(revoked=False)
    shown = json.loads(manage("user-show", "alice", "-o", "json").out)
    assert (shown["valid_tokens"], shown["revoked_tokens"], shown["expired_tokens"]) == (1, 2, 0)
    assert shown["token %d" % latest.id].endswith("expires %s" % latest.expires.strftime("%Y-%m-%d %H:%M:%S"))
    assert not any("token %d" % i in shown for i in old_ids)


def test_user_show_unknown_user(manage_fails):
    manage_fails("user-show", "nobody", match="not found")
    manage_fails("user-show", "12345", match="not found")
    manage_fails("user-show", match="user")


# --- user-modify -----------------------------------------------------------------

def test_user_modify_fields_and_limits(manage, settings):
    settings.MAX_VMS_PER_USER = 3
    settings.MAX_NETWORKS_PER_USER = 5
    manage("user-add", "--uniq", "alice")
    result = manage("user-modify", "alice", "--name", "Alice A", "--email", "a@example.org",
                    "--max-vms", "10", "--max-networks", "1")
    assert result.code in (0, None), result
    assert "token" not in result.out
    user = User.objects.get()
    assert (user.name, user.email, vm_limit(user), network_limit(user)) == ("Alice A", "a@example.org", 10, 1)
    manage("user-modify", "alice", "--default-max-vms", "--default-max-networks", "--email", "")
    user.refresh_from_db()
    assert (user.max_vms, user.max_networks, user.email) == (None, None, "")
    assert (vm_limit(user), network_limit(user)) == (3, 5)


def test_user_modify_inactive_then_active(manage):
    token = token_of(manage("user-add", "--uniq", "alice"))
    manage("user-modify", "alice", "--inactive")
    assert authenticate(token) is None
    manage("user-modify", "alice", "--active")
    assert authenticate(token).uniq == "alice"


def test_user_modify_renew_token_revokes_the_old_ones(manage):
    old = token_of(manage("user-add", "--uniq", "alice"))
    result = manage("user-modify", "alice", "--renew-token", "--token-lifetime", "0")
    new = token_of(result)
    assert new != old
    assert authenticate(old) is None
    assert authenticate(new).uniq == "alice"
    assert list(AuthToken.objects.order_by("id").values_list("revoked", "expires")) == \
        [(True, AuthToken.objects.order_by("id").first().expires), (False, None)]
    # the line scripts parse comes first (quickstart takes the first 'token ... :' line)
    assert result.out.splitlines()[0] == "token: " + new
    newer = token_of(manage("user-modify", "alice", "--renew-token"))
    assert authenticate(new) is None and authenticate(newer).uniq == "alice"


def test_expired_token_does_not_authenticate(manage):
    token = token_of(manage("user-add", "--uniq", "alice", "--token-lifetime", "1"))
    assert authenticate(token).uniq == "alice"
    AuthToken.objects.update(expires=timezone.now() - datetime.timedelta(seconds=1))
    assert authenticate(token) is None
    shown = json.loads(manage("user-show", "alice", "-o", "json").out)
    assert (shown["valid_tokens"], shown["expired_tokens"], shown["revoked_tokens"]) == (0, 1, 0)
    assert json.loads(manage("user-list", "-o", "json").out)[0]["valid_tokens"] == 0


@pytest.mark.parametrize("argv, match", [
    (["alice"], "Nothing to change"),
    (["nobody", "--name", "x"], "not found"),
    (["alice", "--max-vms", "-2"], "--max-vms"),
    (["alice", "--max-vms", "2", "--default-max-vms"], "not allowed with"),
    (["alice", "--max-networks", "x"], "--max-networks"),
    (["alice", "--active", "--inactive"], "not allowed with"),
    (["alice", "--email", "bad"], "e-mail"),
    (["alice", "--name", "x\ny"], "control characters"),
    (["alice", "--token-lifetime", "3"], "--renew-token"),
    (["alice", "--renew-token", "--token-lifetime", "-1"], "--token-lifetime"),
    (["alice", "--name", "ok", "--max-vms", "-1"], "--max-vms"),
])
def test_user_modify_bad_arguments(manage, manage_fails, argv, match):
    manage("user-add", "--uniq", "alice", "--max-vms", "4")
    manage_fails("user-modify", *argv, match=match)
    assert AuthToken.objects.filter(revoked=False).count() == 1


def test_token_lifetime_bounds(manage, manage_fails):
    manage_fails("user-add", "--uniq", "x", "--token-lifetime", "36501", match="too large")
    token = token_of(manage("user-add", "--uniq", "x", "--token-lifetime", "36500"))
    assert authenticate(token).uniq == "x"


@pytest.mark.parametrize("value", [-1, 10**9, "30", None])
def test_bad_token_lifetime_setting_is_an_error(manage, manage_fails, settings, value):
    manage("user-add", "--uniq", "alice", "--token-lifetime", "0")
    settings.TOKEN_LIFETIME_DAYS = value
    manage_fails("user-add", "--uniq", "bob", match="TOKEN_LIFETIME_DAYS")
    manage_fails("user-modify", "alice", "--renew-token", match="TOKEN_LIFETIME_DAYS")


def test_user_added_concurrently_is_an_error_not_a_crash(manage, manage_fails, monkeypatch):
    """Another process creates the same uniq between the check and the insert."""
    from django.db.models.query import QuerySet
    manage("user-add", "--uniq", "alice")
    monkeypatch.setattr(QuerySet, "exists", lambda self: False)
    manage_fails("user-add", "--uniq", "alice", match="already exists")


def test_database_errors_are_one_line(manage_fails, monkeypatch):
    from django.db import OperationalError, ProgrammingError
    from synnefo.db.management import common

    def failing(error):
        def execute(self, *args, **options):
            raise error
        return execute

    monkeypatch.setattr(common.BaseCommand, "execute",
                        failing(ProgrammingError('relation "db_user" does not exist')))
    manage_fails("user-list", match='database: relation "db_user" does not exist (not migrated yet?')
    monkeypatch.setattr(common.BaseCommand, "execute",
                        failing(OperationalError("database is locked\nmore detail")))
    assert manage_fails("user-list") == "Error: database: database is locked"
    monkeypatch.setattr(common.BaseCommand, "execute", failing(ProgrammingError("syntax error at")))
    with pytest.raises(ProgrammingError):  # anything else is a bug and keeps its traceback
        manage_fails("user-list")
