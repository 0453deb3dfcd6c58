"""servers.create and the server actions against a fake RAPI client."""

import json

import pytest
from logic_helpers import rapi_error
from synnefo.db.models import Backend, VirtualMachine
from synnefo.logic import errors, servers
from synnefo.logic.pools import IPPool


def create(world, **kw):
    args = {"name": "vm1", "flavor_id": world["flavor"].id, "image_id": "img1"}
    args.update(kw)
    return servers.create("alice", **args)


def test_create_payload_shape(world, rapi):
    vm, password = create(world, metadata={"OS": "debian"},
                          personality=[{"path": "/etc/motd", "contents": "aGVsbG8="}])
    name, args, body = rapi.last("create_instance")
    assert body["mode"] == "create"
    assert body["name"] == "snf-%d" % vm.id
    assert body["disk_template"] == "drbd"
    assert body["disks"] == [{"size": 20 * 1024}]
    assert body["nics"] == [{"ip": "192.0.2.2", "network": "snf-net-%d" % world["network"].id}]
    assert body["ip_check"] is False and body["name_check"] is False
    assert body["beparams"] == {"auto_balance": True, "vcpus": 1, "memory": 1024}
    assert body["os"] == "snf-image+default"
    assert body["hvparams"] == {"serial_console": False}
    assert body["wait_for_sync"] is False
    assert "hotplug" not in body
    os = body["osparams"]
    assert os["img_id"] == "pithos://a/c/debian"
    assert os["img_passwd"] == password
    assert os["img_format"] == "diskdump"
    assert json.loads(os["img_personality"]) == [{"path": "/etc/motd", "contents": "aGVsbG8="}]
    assert json.loads(os["img_properties"]) == {"OSFAMILY": "linux", "ROOT_PARTITION": "1"}
    assert len(password) == 10
    assert any(c.islower() for c in password) and any(c.isupper() for c in password)
    assert any(c.isdigit() for c in password)
    vm.refresh_from_db()
    assert (vm.operstate, vm.action, vm.task) == ("BUILD", "CREATE", "BUILD")
    assert vm.backendjobid == vm.task_job_id == 100
    assert {m.meta_key: m.meta_value for m in vm.metadata.all()} == {"OS": "debian"}


def test_create_payload_is_fresh_and_settings_untouched(world, rapi, settings):
    before = json.dumps(settings.GANETI_CREATEINSTANCE_KWARGS, sort_keys=True)
    create(world)
    create(world, name="vm2")
    assert json.dumps(settings.GANETI_CREATEINSTANCE_KWARGS, sort_keys=True) == before


def test_create_ext_template_and_ignored_sizes(world, rapi, settings):
    from synnefo.db.models import Flavor
    settings.IGNORE_FLAVOR_DISK_SIZES = True
    settings.GANETI_USE_HOTPLUG = True
    flavor = Flavor.objects.create(cpu=2, ram=2048, disk=40, disk_template="ext_vlmc")
    create(world, flavor_id=flavor.id)
    body = rapi.last("create_instance")[2]
    assert body["disk_template"] == "ext"
    assert body["disks"] == [{"size": 4000, "provider": "vlmc", "origin": "pithos://a/c/debian"}]
    assert body["osparams"]["img_id"] == "null"
    assert body["hotplug"] is True


def test_create_password_masked_in_log(world, rapi, caplog):
    caplog.set_level("INFO", logger="synnefo.logic.servers")
    _, password = create(world)
    assert password not in caplog.text
    assert "********" in caplog.text


def test_create_validation(world, rapi):
    with pytest.raises(errors.ItemNotFound, match="Flavor"):
        create(world, flavor_id=9999)
    with pytest.raises(errors.ItemNotFound, match="Image"):
        create(world, image_id="nope")
    world["flavor"].deleted = True
    world["flavor"].save()
    with pytest.raises(errors.ItemNotFound, match="Flavor"):
        create(world)
    with pytest.raises(errors.BadRequest):
        create(world, name="")
    with pytest.raises(errors.BadRequest):
        create(world, name="x" * 256)
    assert not VirtualMachine.objects.exists()


def test_create_private_image_of_other_user_not_visible(world, rapi):
    from synnefo.db.models import Image
    Image.objects.create(id="bobs", name="b", location="pithos://b/c/x", owner="bob")
    Image.objects.create(id="mine", name="m", location="pithos://a/c/x", owner="alice")
    with pytest.raises(errors.ItemNotFound):
        create(world, image_id="bobs")
    create(world, image_id="mine")


def test_create_limit(world, rapi, settings):
    settings.MAX_VMS_PER_USER = 1
    world["user"].max_vms = None
    world["user"].save()
    create(world)
    with pytest.raises(errors.OverLimit):
        create(world, name="vm2")


def test_create_no_backend(world, rapi):
    Backend.objects.update(drained=True)
    with pytest.raises(errors.ServiceUnavailable, match="No available backends"):
        create(world)
    assert not VirtualMachine.objects.exists()


def test_create_no_public_ip(world, rapi):
    from django.db import transaction
    with transaction.atomic():
        pool = IPPool.for_network(world["network"])
        while True:
            try:
                pool.get()
            except Exception:
                break
        pool.save()
    with pytest.raises(errors.ServiceUnavailable):
        create(world)


def test_create_rapi_failure_releases_everything(world, rapi):
    backend = Backend.objects.get()
    before = (backend.mfree, backend.dfree, backend.pinst_cnt)
    rapi.fail["create_instance"] = rapi_error()
    with pytest.raises(errors.ServiceUnavailable):
        create(world)
    vm = VirtualMachine.objects.get()
    assert vm.deleted and vm.operstate == "DESTROYED" and vm.task is None
    backend.refresh_from_db()
    assert (backend.mfree, backend.dfree, backend.pinst_cnt) == before
    from django.db import transaction
    with transaction.atomic():
        assert IPPool.for_network(world["network"]).is_available("192.0.2.2")
    # and the quota is not consumed
    del rapi.fail["create_instance"]
    vm2, _ = create(world)
    assert rapi.last("create_instance")[2]["nics"][0]["ip"] == "192.0.2.2"


def fail_payload(monkeypatch, rapi, exc):
    def broken(*args, **kwargs):
        raise exc
    monkeypatch.setattr(servers, "create_instance_payload", broken)


def fail_rapi(monkeypatch, rapi, exc):
    rapi.fail["create_instance"] = exc


@pytest.mark.parametrize("inject", [fail_rapi, fail_payload])
def test_create_unexpected_failure_undoes_and_propagates(world, rapi, monkeypatch, inject):
    """A bug or an unwrapped error (not GanetiApiError) after the VM row is
    committed: the VM is not left in BUILD and the exception reaches the API."""
    backend = Backend.objects.get()
    before = (backend.mfree, backend.dfree, backend.pinst_cnt)
    boom = RuntimeError("connection reset by peer")
    inject(monkeypatch, rapi, boom)
    with pytest.raises(RuntimeError) as raised:
        create(world)
    assert raised.value is boom  # unchanged, not turned into ServiceUnavailable
    vm = VirtualMachine.objects.get()
    assert vm.deleted and vm.operstate == "DESTROYED" and vm.task is None
    assert "connection reset by peer" in vm.backendlogmsg
    backend.refresh_from_db()
    assert (backend.mfree, backend.dfree, backend.pinst_cnt) == before
    from django.db import transaction
    with transaction.atomic():
        assert IPPool.for_network(world["network"]).is_available("192.0.2.2")


def make_vm(world, **fields):
    values = {"name": "v", "userid": "alice", "backend": world["backend"], "flavor": world["flavor"],
              "imageid": "img1", "operstate": "STARTED"}
    values.update(fields)
    return VirtualMachine.objects.create(**values)


ACTIONS = {
    "start": lambda vm: servers.start("alice", vm.id),
    "stop": lambda vm: servers.stop("alice", vm.id),
    "reboot": lambda vm: servers.reboot("alice", vm.id, "HARD"),
    "destroy": lambda vm: servers.destroy("alice", vm.id),
}

# (operstate, task, deleted, suspended) -> expected per action: None = accepted
CASES = [
    ("STOPPED", None, False, False, {"start": None, "stop": errors.BadRequest,
                                     "reboot": errors.BadRequest, "destroy": None}),
    ("STARTED", None, False, False, {"start": errors.BadRequest, "stop": None, "reboot": None,
                                     "destroy": None}),
    ("BUILD", "BUILD", False, False, {"start": errors.BuildInProgress, "stop": errors.BuildInProgress,
                                      "reboot": errors.BuildInProgress, "destroy": None}),
    ("ERROR", None, False, False, {"start": errors.BadRequest, "stop": errors.BadRequest,
                                   "reboot": errors.BadRequest, "destroy": None}),
    ("STARTED", "STOP", False, False, {"start": errors.BadRequest, "stop": errors.BadRequest,
                                       "reboot": errors.BadRequest, "destroy": None}),
    # queued behind a pending task when they can follow it (Ganeti runs an
    # instance's jobs in order); refused when they undo it or cannot follow
    ("STARTED", "REBOOT", False, False, {"start": errors.BadRequest, "stop": None, "reboot": None,
                                         "destroy": None}),
    ("STARTED", "FIREWALL", False, False, {"start": errors.BadRequest, "stop": None,
                                           "reboot": None, "destroy": None}),
    ("STOPPED", "START", False, False, {"start": errors.BadRequest, "stop": errors.BadRequest,
                                        "reboot": None, "destroy": None}),
    ("STOPPED", "FIREWALL", False, False, {"start": None, "stop": errors.BadRequest,
                                           "reboot": errors.BadRequest, "destroy": None}),
    ("STARTED", "CONNECT", False, False, {"start": errors.BadRequest, "stop": errors.BadRequest,
                                          "reboot": errors.BadRequest, "destroy": None}),
    ("DESTROYED", None, True, False, {"start": errors.BadRequest, "stop": errors.BadRequest,
                                      "reboot": errors.BadRequest, "destroy": errors.BadRequest}),
    ("STARTED", None, False, True, {"start": errors.Forbidden, "stop": errors.Forbidden,
                                    "reboot": errors.Forbidden, "destroy": errors.Forbidden}),
]


@pytest.mark.parametrize("operstate,task,deleted,suspended,expected", CASES)
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_action_state_rules(world, rapi, action, operstate, task, deleted, suspended, expected):
    vm = make_vm(world, operstate=operstate, task=task, deleted=deleted, suspended=suspended,
                 backendjobid=7, backendjobstatus="success")
    outcome = expected[action]
    if outcome is None:
        ACTIONS[action](vm)
        vm.refresh_from_db()
        assert vm.task == {"start": "START", "stop": "STOP", "reboot": "REBOOT",
                           "destroy": "DESTROY"}[action]
        assert vm.task_job_id == 100
        assert vm.action == vm.task
        assert vm.backendjobid is None and vm.backendjobstatus is None
    else:
        with pytest.raises(outcome):
            ACTIONS[action](vm)
        vm.refresh_from_db()
        assert vm.task == task and vm.backendjobid == 7
        assert not rapi.calls


def test_deleted_message(world, rapi):
    vm = make_vm(world, operstate="DESTROYED", deleted=True)
    with pytest.raises(errors.BadRequest, match="Server has been deleted."):
        servers.start("alice", vm.id)


def test_action_rapi_calls(world, rapi):
    vm = make_vm(world)
    servers.reboot("alice", vm.id, "SOFT")
    assert rapi.last("reboot_instance") == ("reboot_instance", ("snf-%d" % vm.id,), {"type": "soft"})
    with pytest.raises(errors.BadRequest):
        servers.reboot("alice", vm.id, "WARM")


def test_action_rapi_failure_leaves_db_untouched(world, rapi):
    vm = make_vm(world, operstate="STOPPED", action="STOP")
    rapi.fail["startup_instance"] = rapi_error()
    with pytest.raises(errors.ServiceUnavailable):
        servers.start("alice", vm.id)
    vm.refresh_from_db()
    assert vm.task is None and vm.action == "STOP"


def test_action_on_offline_backend(world, rapi):
    vm = make_vm(world)
    Backend.objects.update(offline=True)
    with pytest.raises(errors.ServiceUnavailable):
        servers.stop("alice", vm.id)


def test_other_users_vm_not_found(world, rapi):
    vm = make_vm(world, userid="bob")
    with pytest.raises(errors.ItemNotFound):
        servers.stop("alice", vm.id)
    with pytest.raises(errors.ItemNotFound):
        servers.stop("alice", "abc")


def test_firewall_profile(world, rapi, settings):
    vm = make_vm(world)
    name = "snf-%d" % vm.id
    rapi.tags[name] = ["other:tag", "synnefo:network:0:protected"]
    servers.set_firewall_profile("alice", vm.id, "PROTECTED")
    # only the firewall tags the instance carries are removed (Ganeti fails
    # the whole removal for one missing tag)
    assert rapi.names() == ["get_instance_tags", "delete_instance_tags", "add_instance_tags",
                            "modify_instance"]
    assert rapi.last("delete_instance_tags")[1][1] == ["synnefo:network:0:protected"]
    assert rapi.last("add_instance_tags")[1][1] == ["synnefo:network:0:limited"]
    assert rapi.last("modify_instance")[2] == {"os_name": "snf-image+default"}
    vm.refresh_from_db()
    assert vm.task == "FIREWALL" and vm.task_job_id == 102


@pytest.mark.parametrize("profiles", [["ENABLED", "DISABLED", "PROTECTED", "ENABLED"],
                                      ["PROTECTED", "PROTECTED", "DISABLED", "DISABLED"],
                                      ["DISABLED", "ENABLED", "PROTECTED", "DISABLED", "ENABLED"]])
def test_firewall_profile_any_number_of_times_leaves_one_tag(world, rapi, profiles):
    vm = make_vm(world)
    name = "snf-%d" % vm.id
    wanted = {"ENABLED": "synnefo:network:0:protected", "DISABLED": "synnefo:network:0:unprotected",
              "PROTECTED": "synnefo:network:0:limited"}
    for profile in profiles:
        servers.set_firewall_profile("alice", vm.id, profile)
        VirtualMachine.objects.filter(pk=vm.pk).update(task=None, task_job_id=None)  # job ended
        assert [t for t in rapi.tags[name] if t.startswith("synnefo:network:")] == [wanted[profile]]
    with pytest.raises(errors.BadRequest):
        servers.set_firewall_profile("alice", vm.id, "WIDE_OPEN")


def test_console_direct(world, rapi, settings):
    settings.CONSOLE_BACKEND = "direct"
    vm = make_vm(world)
    console = servers.console("alice", vm.id, "vnc")
    assert console["type"] == "vnc"
    assert (console["host"], console["port"]) == ("node1.example.org", 11000)
    assert len(console["password"]) == 10
    with pytest.raises(errors.BadRequest, match='"vnc", "vnc-ws" or "vnc-wss"'):
        servers.console("alice", vm.id, "spice")
    with pytest.raises(errors.BadRequest, match="needs a VNC authentication proxy"):
        servers.console("alice", vm.id, "vnc-ws")
    stopped = make_vm(world, operstate="STOPPED")
    with pytest.raises(errors.BadRequest, match="ACTIVE"):
        servers.console("alice", stopped.id)
    rapi.console = {"instance": "x", "kind": "msg", "message": "Console not available for fake hypervisor"}
    with pytest.raises(errors.ServiceUnavailable, match="no VNC console.*fake hypervisor"):
        servers.console("alice", vm.id)


class RecordingConsole:
    """A console client that records its calls and may move the VM meanwhile."""
    calls = []
    on_open = None

    def open(self, host, port, password, console_type="vnc"):
        RecordingConsole.calls.append((host, port, password, console_type))
        if RecordingConsole.on_open:
            RecordingConsole.on_open()
        return "proxy.example.org", 25001


def test_console_through_a_proxy(world, rapi, settings):
    settings.CONSOLE_BACKEND = "%s.RecordingConsole" % __name__
    RecordingConsole.calls, RecordingConsole.on_open = [], None
    vm = make_vm(world)
    console = servers.console("alice", vm.id, "vnc-ws")
    assert console == {"type": "vnc-ws", "host": "proxy.example.org", "port": 25001,
                       "password": RecordingConsole.calls[0][2]}
    assert RecordingConsole.calls[0][:2] == ("node1.example.org", 11000)
    # a VNC server bound to every address is reached at the primary node
    rapi.console = {"kind": "vnc", "host": "0.0.0.0", "port": 11002}
    servers.console("alice", vm.id)
    assert RecordingConsole.calls[-1][:2] == ("node1.example.org", 11002)
    # the instance migrates while the proxy sets up: refused
    RecordingConsole.on_open = lambda: rapi.console.update(port=11003)
    with pytest.raises(errors.ServiceUnavailable, match="VNC Server settings changed"):
        servers.console("alice", vm.id)


def test_rename_and_metadata(world, rapi, settings):
    vm = make_vm(world)
    old = vm.updated
    servers.rename("alice", vm.id, "new name")
    vm.refresh_from_db()
    assert vm.name == "new name" and vm.updated >= old
    assert servers.update_metadata("alice", vm.id, {"a": "1", "b": "2"}) == {"a": "1", "b": "2"}
    assert servers.set_metadata_item("alice", vm.id, "a", "3") == {"a": "3"}
    servers.delete_metadata_item("alice", vm.id, "b")
    assert servers.get_metadata(vm) == {"a": "3"}
    with pytest.raises(errors.ItemNotFound):
        servers.delete_metadata_item("alice", vm.id, "b")
    with pytest.raises(errors.BadRequest):
        servers.set_metadata_item("alice", vm.id, "k" * 51, "v")
    with pytest.raises(errors.BadRequest):
        servers.set_metadata_item("alice", vm.id, "k", "v" * 501)
    settings.MAX_VM_METADATA = 2
    servers.set_metadata_item("alice", vm.id, "b", "x")
    with pytest.raises(errors.BadRequest):
        servers.set_metadata_item("alice", vm.id, "c", "x")
    vm.suspended = True
    vm.save()
    with pytest.raises(errors.Forbidden):
        servers.rename("alice", vm.id, "x")


@pytest.mark.django_db(transaction=True)
def test_vm_row_committed_before_job_submission(rapi):
    """Early job messages must find the VM: the row is committed before the RAPI call,
    and the action jobs are submitted while the VM row is locked inside the transaction."""
    from django.db import connection
    from django.utils import timezone
    from logic_helpers import make_backend, make_public_network
    from synnefo.db.models import Flavor, Image
    flavor = Flavor.objects.create(cpu=1, ram=128, disk=1, disk_template="plain")
    Image.objects.create(id="img", name="i", location="pithos://a/c/i", public=True)
    backend = make_backend(updated=timezone.now(), mfree=10 ** 6, mtotal=10 ** 6, dfree=10 ** 8,
                           dtotal=10 ** 8, ctotal=64)
    make_public_network(backend)
    seen = []
    original = rapi.create_instance

    def visible_elsewhere(vm_id):
        """Is the row visible (committed) to another connection?"""
        import threading

        from django.db import connections
        result = []

        def look():
            try:
                result.append(VirtualMachine.objects.filter(pk=vm_id).exists())
            finally:
                connections.close_all()
        thread = threading.Thread(target=look)
        thread.start()
        thread.join(10)
        return result[0]

    def create_instance(**body):
        vm_id = int(body["name"].split("-")[1])
        seen.append((connection.in_atomic_block, visible_elsewhere(vm_id)))
        return original(**body)

    rapi.create_instance = create_instance
    vm, _ = servers.create("alice", "vm", flavor.id, "img")
    # committed before the call, and the call made outside any transaction
    # (no lock held while Ganeti answers), whatever the database
    assert seen == [(False, True)]
    vm.refresh_from_db()
    assert vm.task == "BUILD" and vm.task_job_id == vm.backendjobid
    original_destroy = rapi.delete_instance

    def delete_instance(name):
        seen.append(connection.in_atomic_block)
        return original_destroy(name)

    rapi.delete_instance = delete_instance
    servers.destroy("alice", vm.id)
    assert seen[-1] is False  # actions too: no lock over the RAPI call


def test_create_job_already_final_clears_build_task(world, rapi):
    original = rapi.create_instance

    def create_instance(**body):
        job = original(**body)
        VirtualMachine.objects.filter(pk=int(body["name"].split("-")[1])).update(
            backendjobid=job, backendjobstatus="success", operstate="STARTED")
        return job

    rapi.create_instance = create_instance
    vm, _ = create(world)
    vm.refresh_from_db()
    assert vm.task is None and vm.task_job_id is None and vm.operstate == "STARTED"
