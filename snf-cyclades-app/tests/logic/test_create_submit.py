"""Create jobs submitted after the create committed (synnefo.logic.create_submit):
the job recorded, a refusal as ERROR with Ganeti's reason and nothing leaked,
a lost answer left to reconciliation, a crash before or during the submission
picked up by the sweeper, a DELETE before the submission, one claimant."""

import datetime

import pytest
from django.db import connection, transaction
from django.utils import timezone
from logic_helpers import rapi_error
from synnefo.db.models import (
    Backend,
    CreateSubmission,
    PendingNic,
    VirtualMachine,
    VirtualMachineDiagnostic,
)
from synnefo.logic import create_submit, errors, servers
from synnefo.logic.pools import IPPool
from synnefo.rapi import GanetiConnectionError


@pytest.fixture
def queued(world, rapi, monkeypatch):
    """``create()`` as POST /servers calls it, its submission not yet run:
    the process that committed it stops before submitting."""
    scheduled = []
    monkeypatch.setattr(create_submit, "schedule", scheduled.append)

    def create(name="vm1"):
        vm, password = servers.create("alice", name, world["flavor"].id, world["image"].id,
                                      queued=True)
        return vm, password

    create.scheduled = scheduled
    return create


def free_ips(network):
    with transaction.atomic():
        return IPPool.for_network(network).count_available()


def job_list_with_create(rapi, vm, job_id):
    rapi.job_list = [{"id": job_id, "status": "running", "summary": ["INSTANCE_CREATE(snf-%d)" % vm.id]}]


def test_queued_create_commits_server_address_and_encrypted_job(world, rapi, queued):
    vm, password = queued()
    assert queued.scheduled == [vm.id]
    assert "create_instance" not in rapi.names()  # Ganeti not asked yet
    row = CreateSubmission.objects.get(pk=vm.pk)
    assert password not in row.payload and row.payload.startswith("fernet:")
    assert row.charged and row.attempts == 0 and row.claimed_until is None
    assert (vm.operstate, vm.task) == ("BUILD", "BUILD")
    assert PendingNic.objects.get(machine=vm).ipv4 == "192.0.2.2"


def test_submit_records_the_job_and_drops_the_row(world, rapi, queued):
    vm, password = queued()
    assert create_submit.submit(vm.id) == "submitted"
    body = rapi.last("create_instance")[2]
    assert body["name"] == "snf-%d" % vm.id and body["osparams"]["img_passwd"] == password
    vm.refresh_from_db()
    assert vm.backendjobid == vm.task_job_id == 100 and vm.task == "BUILD"
    assert PendingNic.objects.get(machine=vm).job_id == 100
    assert not CreateSubmission.objects.exists()
    assert create_submit.submit(vm.id) == "skipped"  # submitted once
    assert rapi.names().count("create_instance") == 1


def test_inline_schedule_submits_before_returning(world, rapi, settings):
    settings.CREATE_SUBMIT_THREADS = 0
    vm, _ = servers.create("alice", "vm1", world["flavor"].id, world["image"].id, queued=True)
    assert vm.backendjobid == 100 and not CreateSubmission.objects.exists()


def test_refusal_is_error_with_reason_and_releases_address_and_charge(world, rapi, queued):
    backend = Backend.objects.get()
    before = (backend.mfree, backend.dfree, backend.pinst_cnt)
    ips = free_ips(world["network"])
    vm, _ = queued()
    assert free_ips(world["network"]) == ips - 1
    rapi.fail["create_instance"] = rapi_error("Instance name already in use", code=400)
    assert create_submit.submit(vm.id) == "failed"
    vm.refresh_from_db()
    assert (vm.operstate, vm.task, vm.deleted) == ("ERROR", None, False)
    assert "Instance name already in use" in vm.backendlogmsg
    diag = VirtualMachineDiagnostic.objects.get(machine=vm, source="create-submit")
    assert diag.level == "ERROR" and "Instance name already in use" in diag.message
    assert free_ips(world["network"]) == ips and not PendingNic.objects.exists()
    backend.refresh_from_db()
    assert (backend.mfree, backend.dfree, backend.pinst_cnt) == before
    assert not CreateSubmission.objects.exists()


def test_refused_server_counts_against_the_limit_until_deleted(world, rapi, queued, settings):
    settings.MAX_VMS_PER_USER = 1
    vm, _ = queued()
    rapi.fail["create_instance"] = rapi_error("no")
    create_submit.submit(vm.id)
    with pytest.raises(errors.OverLimit):
        queued("vm2")


def test_offline_backend_is_a_refusal(world, rapi, queued):
    vm, _ = queued()
    Backend.objects.update(offline=True)
    assert create_submit.submit(vm.id) == "failed"
    vm.refresh_from_db()
    assert vm.operstate == "ERROR" and "offline" in vm.backendlogmsg


def test_lost_answer_with_job_in_the_list_records_it(world, rapi, queued):
    vm, _ = queued()
    rapi.fail["create_instance"] = GanetiConnectionError("timed out", may_have_reached=True)
    job_list_with_create(rapi, vm, 555)
    assert create_submit.submit(vm.id) == "submitted"
    vm.refresh_from_db()
    assert vm.backendjobid == 555 and vm.task == "BUILD"


def test_lost_answer_without_job_keeps_build_and_address_for_reconciliation(world, rapi, queued):
    vm, _ = queued()
    ips = free_ips(world["network"])
    rapi.fail["create_instance"] = GanetiConnectionError("timed out", may_have_reached=True)
    assert create_submit.submit(vm.id) == "unknown"
    vm.refresh_from_db()
    assert (vm.operstate, vm.task) == ("BUILD", "BUILD") and "reconciliation" in vm.backendlogmsg
    assert free_ips(world["network"]) == ips and PendingNic.objects.filter(machine=vm).exists()
    assert not CreateSubmission.objects.exists()  # reconciliation decides from now on


def test_crash_between_commit_and_submit_is_swept(world, rapi, queued):
    vm, _ = queued()
    assert create_submit.orphans() == []  # its own process may still take it
    CreateSubmission.objects.update(created=timezone.now() - create_submit.ORPHAN_AFTER
                                    - datetime.timedelta(seconds=1))
    assert create_submit.sweep() == {vm.id: "submitted"}
    vm.refresh_from_db()
    assert vm.backendjobid == 100
    assert create_submit.sweep() == {}


def test_crash_after_submit_is_swept_without_a_second_job(world, rapi, queued):
    vm, _ = queued()
    assert create_submit.claim(vm.id) is not None  # the claimant sends the job, then dies
    job_list_with_create(rapi, vm, 777)
    assert create_submit.sweep() == {}  # its claim holds for LEASE
    CreateSubmission.objects.update(claimed_until=timezone.now() - datetime.timedelta(seconds=1))
    assert create_submit.sweep() == {vm.id: "submitted"}
    assert "create_instance" not in rapi.names()
    vm.refresh_from_db()
    assert vm.backendjobid == 777


def test_expired_claim_without_job_is_submitted_again(world, rapi, queued):
    vm, _ = queued()
    create_submit.claim(vm.id)  # died before sending
    CreateSubmission.objects.update(claimed_until=timezone.now() - datetime.timedelta(seconds=1))
    assert create_submit.sweep() == {vm.id: "submitted"}
    assert rapi.names().count("create_instance") == 1


def test_one_claimant_at_a_time(world, rapi, queued):
    vm, _ = queued()
    assert create_submit.claim(vm.id) is not None
    assert create_submit.claim(vm.id) is None
    assert create_submit.submit(vm.id) == "skipped"
    assert "create_instance" not in rapi.names()


def test_delete_before_submission_removes_without_asking_ganeti(world, rapi, queued):
    backend = Backend.objects.get()
    before = (backend.mfree, backend.dfree, backend.pinst_cnt)
    ips = free_ips(world["network"])
    vm, _ = queued()
    servers.destroy("alice", vm.id)
    vm.refresh_from_db()
    assert vm.deleted and vm.operstate == "DESTROYED"
    assert rapi.names() == []
    assert free_ips(world["network"]) == ips and not PendingNic.objects.exists()
    backend.refresh_from_db()
    assert (backend.mfree, backend.dfree, backend.pinst_cnt) == before
    assert create_submit.submit(vm.id) == "skipped"  # the queued submission finds nothing


def test_delete_while_submission_is_sent_asks_to_retry(world, rapi, queued):
    vm, _ = queued()
    create_submit.claim(vm.id)
    with pytest.raises(errors.BuildInProgress):
        servers.destroy("alice", vm.id)
    assert not VirtualMachine.objects.get(pk=vm.pk).deleted


def test_delete_after_an_expired_claim_waits_for_the_sweeper(world, rapi, queued):
    vm, _ = queued()
    create_submit.claim(vm.id)  # its claimant may have sent the job, then died
    CreateSubmission.objects.update(claimed_until=timezone.now() - datetime.timedelta(seconds=1))
    with pytest.raises(errors.BuildInProgress):
        servers.destroy("alice", vm.id)
    create_submit.sweep()
    servers.destroy("alice", vm.id)
    assert rapi.names()[-1] == "delete_instance"


def test_delete_after_submission_asks_ganeti(world, rapi, queued):
    vm, _ = queued()
    create_submit.submit(vm.id)
    servers.destroy("alice", vm.id)
    assert rapi.names()[-1] == "delete_instance"


@pytest.mark.django_db(transaction=True)
def test_pool_threads_submit_every_create(world, rapi, settings):
    if connection.vendor == "sqlite":
        pytest.skip("the SQLite test database (in memory, shared cache) locks whole tables "
                    "across threads; run with SYNNEFO_SETTINGS_DIR=ci/settings/postgres or mariadb")
    settings.CREATE_SUBMIT_THREADS = 2
    vms = [servers.create("alice", "vm%d" % i, world["flavor"].id, world["image"].id, queued=True)[0]
           for i in range(3)]
    create_submit.pool().join()
    assert sorted(VirtualMachine.objects.filter(pk__in=[v.pk for v in vms])
                  .values_list("backendjobid", flat=True)) == [100, 101, 102]
    assert not CreateSubmission.objects.exists()


def test_reconciliation_leaves_queued_servers_alone(world, rapi, queued):
    from synnefo.logic.reconciliation.servers import ServerChecker
    vm, _ = queued()
    VirtualMachine.objects.filter(pk=vm.pk).update(created=timezone.now() - datetime.timedelta(hours=1),
                                                   updated=timezone.now() - datetime.timedelta(hours=1))
    vm.refresh_from_db()

    class View:
        backend = world["backend"]
        taken_at = timezone.now()

        def job(self, job_id):
            return None

    assert ServerChecker(View()).check(vm, None, [], {}) == []
    CreateSubmission.objects.all().delete()
    found = ServerChecker(View()).check(vm, None, [], {})
    assert [issue.kind for issue in found] == ["stuck-build"]  # what the row prevented
