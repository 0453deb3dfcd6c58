"""Pending tasks: recorded at once, queued actions, the job id recorded after
the submission (which holds no lock), failures put the previous task back."""

import pytest
from django.db import connection
from synnefo.db.models import VirtualMachine
from synnefo.logic import callbacks, errors, servers, state
from test_logic_servers import make_vm


def op(vm, job_id, status, opcode="OP_INSTANCE_REBOOT", when=(2000000000, 0)):
    return {"type": "ganeti-op-status", "instance": "snf-%d" % vm.id, "operation": opcode,
            "jobId": job_id, "status": status, "event_time": list(when)}


def test_task_is_visible_while_the_job_is_submitted(world, rapi):
    """The pending task is committed before Ganeti is asked, and Ganeti is
    asked outside any transaction: a GET during the call already sees it."""
    vm = make_vm(world)
    seen = []
    original = rapi.reboot_instance
    depth = len(connection.atomic_blocks)  # the test's own transaction

    def reboot_instance(name, type="soft"):  # noqa: A002
        row = VirtualMachine.objects.get(pk=vm.pk)
        seen.append((len(connection.atomic_blocks) > depth, row.task,
                     state.server_status(row)[0]))
        return original(name, type=type)

    rapi.reboot_instance = reboot_instance
    servers.reboot("alice", vm.id)
    assert seen == [(False, "REBOOT", "REBOOT")]
    vm.refresh_from_db()
    assert (vm.task, vm.task_job_id) == ("REBOOT", 100)
    assert state.server_status(vm)[0] == "REBOOT"


def test_second_reboot_and_firewall_are_queued(world, rapi):
    vm = make_vm(world)
    servers.reboot("alice", vm.id)
    servers.set_firewall_profile("alice", vm.id, "ENABLED")
    vm.refresh_from_db()
    assert (vm.task, vm.task_job_id) == ("FIREWALL", 102)  # the tag (1 job: none to remove), then the modify
    servers.reboot("alice", vm.id)
    vm.refresh_from_db()
    assert (vm.task, vm.task_job_id) == ("REBOOT", 103)
    assert rapi.names().count("reboot_instance") == 2
    # the earlier jobs end: the task waits for the last one
    callbacks.handle(op(vm, 100, "success"))
    callbacks.handle(op(vm, 102, "success", "OP_INSTANCE_SET_PARAMS", (2000000001, 0)))
    vm.refresh_from_db()
    assert vm.task == "REBOOT" and state.server_status(vm)[0] == "REBOOT"
    callbacks.handle(op(vm, 103, "success", when=(2000000002, 0)))
    vm.refresh_from_db()
    assert vm.task is None and state.server_status(vm)[0] == "ACTIVE"


def test_contradicting_action_names_the_pending_task(world, rapi):
    vm = make_vm(world)
    servers.stop("alice", vm.id)
    with pytest.raises(errors.BadRequest) as refused:
        servers.start("alice", vm.id)
    assert "pending 'STOP' task" in str(refused.value.message)
    with pytest.raises(errors.BadRequest) as refused:
        servers.reboot("alice", vm.id)
    assert "pending 'STOP' task" in str(refused.value.message)
    assert rapi.names() == ["shutdown_instance"]


def test_failed_submission_puts_the_previous_task_back(world, rapi):
    vm = make_vm(world)
    servers.set_firewall_profile("alice", vm.id, "ENABLED")
    job = VirtualMachine.objects.get(pk=vm.pk).task_job_id
    rapi.fail["reboot_instance"] = errors.ServiceUnavailable("down")
    with pytest.raises(errors.ServiceUnavailable):
        servers.reboot("alice", vm.id)
    vm.refresh_from_db()
    assert (vm.task, vm.task_job_id, vm.action) == ("FIREWALL", job, None)


def test_job_that_ended_before_its_id_was_recorded_ends_the_task(world, rapi):
    vm = make_vm(world)
    original = rapi.reboot_instance

    def reboot_instance(name, type="soft"):  # noqa: A002 - a dispatcher is faster than the API
        job = original(name, type=type)
        callbacks.handle(op(vm, job, "success"))
        return job

    rapi.reboot_instance = reboot_instance
    servers.reboot("alice", vm.id)
    vm.refresh_from_db()
    assert vm.task is None and vm.task_job_id is None and vm.backendjobstatus == "success"


def test_rename_and_metadata_of_a_deleted_server_are_refused(world, rapi):
    vm = make_vm(world, deleted=True, operstate="DESTROYED")
    for write in (lambda: servers.rename("alice", vm.id, "new"),
                  lambda: servers.update_metadata("alice", vm.id, {"k": "v"}),
                  lambda: servers.set_metadata_item("alice", vm.id, "k", "v"),
                  lambda: servers.delete_metadata_item("alice", vm.id, "k")):
        with pytest.raises(errors.BadRequest, match="deleted"):
            write()
    vm.refresh_from_db()
    assert vm.name == "v" and not vm.metadata.exists()
