"""The commands of the staff flag, user suspension and the audit log."""

import io
import json

import pytest
from django.core.management import CommandError, call_command
from synnefo.admin import audit
from synnefo.db.models import User, VirtualMachine


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_staff_flag_on_and_off(world):
    assert "Changed staff of user" in run("user-modify", "alice", "--staff")
    assert User.objects.get(uniq="alice").staff
    run("user-modify", "alice", "--no-staff")
    assert not User.objects.get(uniq="alice").staff


def test_staff_and_no_staff_together_is_an_error(world):
    with pytest.raises(CommandError):
        run("user-modify", "alice", "--staff", "--no-staff")


def test_suspend_from_the_command_line_suspends_the_servers(world):
    out = run("user-modify", "alice", "--suspend")
    assert "Suspended user %d (alice) and 1 of its servers" % world["alice"].id in out
    assert not User.objects.get(uniq="alice").active
    assert VirtualMachine.objects.get(pk=world["web"].pk).suspended
    run("user-modify", "alice", "--unsuspend")
    assert User.objects.get(uniq="alice").active
    assert not VirtualMachine.objects.get(pk=world["web"].pk).suspended


def test_suspend_with_active_is_refused(world):
    with pytest.raises(CommandError, match="leave out --active"):
        run("user-modify", "alice", "--suspend", "--active")
    assert User.objects.get(uniq="alice").active


def test_audit_list_shows_who_what_why_when(world):
    audit.record("ops", "backend-drain", "backend 1 (g1)", "disk swap", "done")
    audit.record("ann", "server-start", "server 2", "customer call", "done")
    table = run("audit-list")
    assert "backend-drain" in table and "disk swap" in table and "customer call" in table
    rows = json.loads(run("audit-list", "--actor", "ops", "--output", "json"))
    assert [(r["actor"], r["action"], r["reason"]) for r in rows] == [("ops", "backend-drain", "disk swap")]
    assert rows[0]["when"]
    with pytest.raises(CommandError):
        run("audit-list", "--limit", "0")
