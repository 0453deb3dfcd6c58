"""The stored reconciliation runs: every reconcile-* command stores its run
and findings (also when a backend did not answer), older runs are pruned."""

import json

import pytest
from django.utils import timezone
from logic_helpers import make_backend
from reconcile_helpers import GanetiRapi, ganeti_fixture, run_fixture  # noqa: F401 - fixtures
from synnefo.db.models import Flavor, ReconciliationRun, VirtualMachine
from synnefo.logic.reconciliation import history


@pytest.fixture
def backend(db, ganeti):
    ganeti.groups = ["default"]
    return make_backend(updated=timezone.now())


def stopped_vm(backend, ganeti):
    """A server the DB thinks stopped and Ganeti runs: one 'state' finding."""
    flavor = Flavor.objects.create(cpu=1, ram=1024, disk=20, disk_template="drbd")
    vm = VirtualMachine.objects.create(name="vm", userid="alice", backend=backend, flavor=flavor,
                                       imageid="img", operstate="STOPPED")
    ganeti.add(vm, up=True)
    return vm


def test_a_run_and_its_findings_are_stored_as_printed(run, ganeti, backend):
    stopped_vm(backend, ganeti)
    before = timezone.now()
    code, out, err = run("reconcile-servers", "--all", "--backend-id", str(backend.id),
                         "--output", "json")
    assert code == 1, out + err
    stored = ReconciliationRun.objects.get()
    assert stored.command == "reconcile-servers"
    assert stored.options == "--all --backend-id %d" % backend.id
    assert stored.exit_status == 1 and stored.summary == "1 server(s) checked"
    assert before <= stored.started <= stored.finished <= timezone.now()
    printed = [[r["backend"], r["kind"], r["object"], r["details"], r["result"]] for r in json.loads(out)]
    assert printed and [[f.backend, f.kind, f.obj, f.details, f.result]
                        for f in stored.findings.all()] == printed


def test_a_backend_that_did_not_answer_is_stored_with_exit_2(run, ganeti, backend):
    ganeti.down = True
    code, out, err = run("reconcile-servers", "--all")
    assert code == 2, out + err
    stored = ReconciliationRun.objects.get()
    assert stored.exit_status == 2
    finding = stored.findings.get()
    assert finding.kind == "error" and finding.result == "error" and "did not answer" in finding.details


def test_every_command_stores_under_its_name_and_the_latest_run_of_each_is_listed(run, ganeti, backend):
    assert run("reconcile-networks")[0] == 0
    assert run("reconcile-pools", "--no-ganeti")[0] == 0
    assert run("reconcile", "--all")[0] == 0          # the alias counts as reconcile-servers
    code, out, err = run("reconcile-servers", "--fix-all", "--all")
    assert code == 0, out + err
    latest = history.latest_runs()
    assert [(r.command, r.options) for r in latest] == [
        ("reconcile-networks", ""), ("reconcile-pools", "--no-ganeti"),
        ("reconcile-servers", "--fix-all --all")]
    assert all(r.exit_status == 0 and not r.findings.all() for r in latest)


def test_only_the_last_runs_of_each_command_are_kept(run, ganeti, backend, monkeypatch):
    monkeypatch.setattr(history, "RUNS_KEPT", 2)
    run("reconcile-networks")
    for interval in ("1", "2", "3"):
        assert run("reconcile-servers", "--interval", interval)[0] == 0
    kept = ReconciliationRun.objects.filter(command="reconcile-servers")
    assert [r.options for r in kept] == ["--interval 3", "--interval 2"]
    assert ReconciliationRun.objects.filter(command="reconcile-networks").count() == 1


def test_bad_arguments_store_no_run(run, ganeti, backend):
    code, out, err = run("reconcile-servers", "--backend-id", "999")
    assert code == 2 and "not found" in err
    assert not ReconciliationRun.objects.exists()
