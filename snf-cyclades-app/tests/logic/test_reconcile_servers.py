"""snf-manage reconcile-servers: every kind of drift, its repair through the
dispatcher's handlers, the exit status and the staggered bound."""

import datetime
import json

import pytest
from django.utils import timezone
from logic_helpers import make_backend
from reconcile_helpers import GanetiRapi, findings, ganeti_fixture, run_fixture  # noqa: F401 - fixtures
from synnefo.db.models import (
    Flavor,
    IPPoolTable,
    Network,
    NetworkInterface,
    VirtualMachine,
    VirtualMachineDiagnostic,
)
from synnefo.logic import backends as backends_mod
from synnefo.logic.pools import IPPool
from synnefo.logic.reconciliation import servers
from synnefo.logic.utils import instance_name, network_name

OLD = timezone.now() - datetime.timedelta(hours=1)


@pytest.fixture
def setup(db, ganeti):
    backend = make_backend(updated=timezone.now())
    flavor = Flavor.objects.create(cpu=1, ram=1024, disk=20, disk_template="drbd")
    net = Network.objects.create(name="public", subnet="192.0.2.0/29", gateway="192.0.2.1", public=True,
                                 type="PUBLIC_ROUTED", mac_prefix="aa:00:0", state="ACTIVE")
    IPPool.for_network(net).save()
    return {"backend": backend, "flavor": flavor, "net": net}


def make_vm(setup, operstate="STARTED", created=OLD, **fields):
    vm = VirtualMachine.objects.create(name="vm", userid="alice", backend=setup["backend"],
                                       flavor=setup["flavor"], imageid="img", operstate=operstate,
                                       **fields)
    VirtualMachine.objects.filter(pk=vm.pk).update(created=created, updated=created)
    vm.refresh_from_db()
    return vm


def add_nic(vm, net, ip, mac, index=0):
    NetworkInterface.objects.create(machine=vm, network=net, index=index, ipv4=ip, mac=mac)
    from django.db import transaction
    with transaction.atomic():
        pool = IPPool.for_network(net)
        pool.reserve(ip)
        pool.save()


def diagnostics(vm):
    return list(VirtualMachineDiagnostic.objects.filter(machine=vm, source="reconciliation")
                .values_list("message", flat=True))


def test_in_sync_exits_zero_and_marks_reconciled(run, setup, ganeti):
    vm = make_vm(setup)
    ganeti.add(vm)
    code, out, err = run("reconcile-servers", "--all")
    assert code == 0, out + err
    assert "1 server(s) checked; everything in sync" in out
    vm.refresh_from_db()
    assert vm.last_reconciled is not None


def test_every_kind_detected_then_fixed(run, setup, ganeti):
    net = setup["net"]
    stale = make_vm(setup)                                   # no instance
    stopped = make_vm(setup)                                 # STARTED, instance down
    started = make_vm(setup, operstate="STOPPED")            # STOPPED, instance up
    nics = make_vm(setup)                                    # NIC changed behind our back
    add_nic(nics, net, "192.0.2.2", "aa:00:00:00:00:02")
    flavor = make_vm(setup)
    build = make_vm(setup, operstate="BUILD", task="BUILD")  # create job gone, instance there
    lost = make_vm(setup, task="STOP", task_job_id=77, backendjobid=77, backendjobstatus="running")
    deleted = make_vm(setup, operstate="DESTROYED", deleted=True)
    for vm, up in ((stopped, False), (started, True), (build, True), (lost, False), (deleted, True)):
        ganeti.add(vm, up=up)
    ganeti.add(nics, nics=[("aa:00:00:00:00:03", "192.0.2.3", network_name(net.id))])
    ganeti.add(flavor, cpu=2, ram=2048)
    ganeti.instances["snf-999999"] = {"name": "snf-999999", "oper_state": True}
    ganeti.job(77, "OP_INSTANCE_SHUTDOWN", "success")

    code, out, err = run("reconcile-servers", "--all", "--output", "json")
    assert code == 1, out + err
    found = findings(out)
    expected = {("stale", "server %s" % stale.id), ("unsynced-state", "server %s" % stopped.id),
                ("unsynced-state", "server %s" % started.id), ("unsynced-nics", "server %s" % nics.id),
                ("unsynced-flavor", "server %s" % flavor.id), ("stuck-build", "server %s" % build.id),
                ("pending-task", "server %s" % lost.id), ("deleted", "server %s" % deleted.id),
                ("orphan", "instance snf-999999")}
    assert set(found) == expected, found
    assert all(f["result"] == "reported" for f in found.values())
    assert VirtualMachine.objects.get(pk=stale.pk).operstate == "STARTED"  # nothing changed

    before_fix = timezone.now()
    code, out, err = run("reconcile-servers", "--all", "--fix-all", "--output", "json")
    assert code == 1, out + err  # the orphan is left: only --fix-orphans destroys it
    found = findings(out)
    assert found[("orphan", "instance snf-999999")]["result"] == "reported"
    assert {f["result"] for k, f in found.items() if k[0] != "orphan"} == {"fixed"}

    def get(vm):
        return VirtualMachine.objects.get(pk=vm.pk)
    assert get(stale).deleted and get(stale).operstate == "DESTROYED"
    assert get(stopped).operstate == "STOPPED"
    assert get(started).operstate == "STARTED"
    assert get(build).operstate == "STARTED" and get(build).task is None
    assert get(lost).operstate == "STOPPED" and get(lost).task is None
    assert get(lost).backendjobstatus == "success"
    assert get(flavor).flavor.cpu == 2 and get(flavor).flavor.ram == 2048
    nic = NetworkInterface.objects.get(machine=nics)
    assert (nic.ipv4, nic.mac) == ("192.0.2.3", "aa:00:00:00:00:03")
    pool = IPPool(IPPoolTable.objects.get(network=net), net)
    assert pool.is_available("192.0.2.2") and not pool.is_available("192.0.2.3")
    assert ("delete_instance", (instance_name(deleted.id),), {}) in ganeti.calls
    for vm in (stale, stopped, started, nics, flavor, build, lost, deleted):
        assert diagnostics(vm), vm
        # every repair moves `updated`: changes-since and the API's kept answers see it
        assert get(vm).updated > before_fix, vm
    assert any("STARTED -> STOPPED" in m for m in diagnostics(stopped))

    # Only Ganeti's deleted-instance removal and the orphan are left (the fake
    # does not remove instances); a second --fix-all changes nothing else.
    ganeti.instances.pop(instance_name(deleted.id))
    code, out, err = run("reconcile-servers", "--all", "--fix-all", "--output", "json")
    assert set(findings(out)) == {("orphan", "instance snf-999999")}, out

    code, out, err = run("reconcile-servers", "--all", "--fix-orphans")
    assert code == 0, out + err
    assert ("delete_instance", ("snf-999999",), {}) in ganeti.calls


def test_build_in_progress_is_left_alone(run, setup, ganeti):
    running = make_vm(setup, operstate="BUILD", task="BUILD", task_job_id=5, backendjobid=5,
                      backendjobstatus="running")
    young = make_vm(setup, operstate="BUILD", task="BUILD", created=timezone.now())
    ganeti.job(5, "OP_INSTANCE_CREATE", "running")
    code, out, err = run("reconcile-servers", "--all", "--fix-all")
    assert code == 0, out + err
    assert VirtualMachine.objects.get(pk=running.pk).operstate == "BUILD"
    assert VirtualMachine.objects.get(pk=young.pk).operstate == "BUILD"


def test_build_whose_create_failed_or_never_arrived_goes_to_error(run, setup, ganeti):
    failed = make_vm(setup, operstate="BUILD", task="BUILD", task_job_id=6, backendjobid=6,
                     backendjobstatus="running")
    ganeti.job(6, "OP_INSTANCE_CREATE", "error")
    never = make_vm(setup, operstate="BUILD", task="BUILD")
    code, out, err = run("reconcile-servers", "--all", "--fix-all", "--output", "json")
    assert code == 0, out + err
    found = findings(out)
    assert found[("pending-task", "server %s" % failed.id)]["result"] == "fixed"
    assert found[("stuck-build", "server %s" % never.id)]["result"] == "fixed"
    for vm in (failed, never):
        vm.refresh_from_db()
        assert vm.operstate == "ERROR" and vm.task is None
    assert VirtualMachineDiagnostic.objects.filter(machine=failed, level="ERROR").exists()


def test_error_server_without_instance_is_in_sync(run, setup, ganeti):
    make_vm(setup, operstate="ERROR")
    code, out, err = run("reconcile-servers", "--all")
    assert code == 0, out + err


def test_fix_applies_as_event_of_the_read_so_newer_jobs_win(run, setup, ganeti):
    """A job that ended after Ganeti was read keeps its result."""
    vm = make_vm(setup)
    future = timezone.now() + datetime.timedelta(minutes=5)
    VirtualMachine.objects.filter(pk=vm.pk).update(backendtime=future)
    code, out, err = run("reconcile-servers", "--all", "--fix-all")
    assert "stale" in out
    vm.refresh_from_db()
    assert not vm.deleted  # the removal event is older than what the DB already knows


def test_unreachable_backend_is_reported_and_others_reconciled(run, setup, ganeti, monkeypatch):
    other = make_backend("cluster2.example.org", updated=timezone.now())
    vm_other = VirtualMachine.objects.create(name="o", userid="alice", backend=other,
                                             flavor=setup["flavor"], imageid="img", operstate="STARTED")
    good = GanetiRapi()
    good.add(vm_other, up=False)
    monkeypatch.setattr(backends_mod, "get_rapi_client",
                        lambda backend: good if backend.pk == other.pk else ganeti)
    ganeti.down = True
    make_vm(setup)
    code, out, err = run("reconcile-servers", "--all", "--fix-all", "--output", "json")
    assert code == 2, out + err
    rows = json.loads(out)
    assert any(r["kind"] == "error" and "did not answer" in r["details"] for r in rows)
    vm_other.refresh_from_db()
    assert vm_other.operstate == "STOPPED"


def test_server_and_backend_filters(run, setup, ganeti):
    a, b = make_vm(setup), make_vm(setup)
    code, out, err = run("reconcile-servers", "--server-id", str(a.id), "--output", "json")
    assert code == 1
    assert set(findings(out)) == {("stale", "server %s" % a.id)}
    code, out, err = run("reconcile", "--server-id", "%s,%s" % (a.id, b.id), "--output", "json")
    assert len(findings(out)) == 2


@pytest.mark.parametrize("argv, text", [
    (["--interval", "abc"], "--interval"),
    (["--interval", "0"], "--interval"),
    (["--backend-id", "99"], "Backend with ID 99"),
    (["--backend-id", "-1"], "--backend-id"),
    (["--server-id", "x"], "--server-id"),
    (["--server-id", "424242"], "424242"),
    (["--output", "xml"], "invalid choice"),
    (["--bogus"], "unrecognized"),
])
def test_bad_input_is_one_line(run, setup, argv, text):
    code, out, err = run("reconcile-servers", *argv)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and text in err, err


def test_staggered_count():
    assert servers.staggered_count(0, 1, 30) == 0
    assert servers.staggered_count(10000, 1, 30) == 334
    assert servers.staggered_count(5, 1, 30) == 1
    assert servers.staggered_count(5, 60, 30) == 5


@pytest.mark.parametrize("total, interval, period", [(97, 1, 30), (10, 1, 30), (61, 2, 7), (1, 1, 1)])
def test_staggered_bound_every_server_once_per_period(run, setup, ganeti, settings, total, interval,
                                                      period):
    """Runs every ``interval`` minutes reconcile every server at least once per
    RECONCILIATION_MIN, also while servers come and go."""
    settings.RECONCILIATION_MIN = period
    vms = [make_vm(setup) for _ in range(total)]
    for vm in vms:
        ganeti.add(vm)
    clock = {"now": datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)}
    last = {}
    runs_per_period = int(period // interval)
    for minute in range(3 * runs_per_period):
        now = clock["now"] + datetime.timedelta(minutes=minute * interval)
        if minute % 5 == 4:  # a new server arrives now and then
            vm = make_vm(setup)
            ganeti.add(vm)
            vms.append(vm)
            last[vm.id] = now
        ids = servers.select_servers([setup["backend"]], interval=interval)
        VirtualMachine.objects.filter(pk__in=ids).update(last_reconciled=now)
        for pk in ids:
            last[pk] = now
        for vm in vms:
            if vm.id in last:
                assert now - last[vm.id] < datetime.timedelta(minutes=period), (minute, vm.id)
    assert set(last) == {vm.id for vm in vms}


def test_progress_bar_only_on_a_terminal():
    import io

    from synnefo.logic.reconciliation.report import Progress

    class Tty(io.StringIO):
        def isatty(self):
            return True
    tty, pipe = Tty(), io.StringIO()
    for stream in (tty, pipe):
        bar = Progress(4, "reconciling servers", stream=stream)
        for _ in range(4):
            bar.step()
        bar.close()
    assert pipe.getvalue() == ""
    assert tty.getvalue().endswith("] 4/4\n") and "\r" in tty.getvalue()


def test_all_mode_pages_and_marks_thousands(run, setup, ganeti):
    """Over more servers than a page (1000): every one is compared with its own
    NICs and marked reconciled; a server whose job cannot be read is not."""
    net = setup["net"]
    vms = VirtualMachine.objects.bulk_create([
        VirtualMachine(name="vm", userid="alice", backend=setup["backend"], flavor=setup["flavor"],
                       imageid="img", operstate="STARTED") for _ in range(1203)])
    VirtualMachine.objects.update(created=OLD, updated=OLD)
    vms = list(VirtualMachine.objects.order_by("id"))
    NetworkInterface.objects.bulk_create([
        NetworkInterface(machine=vm, network=net, index=0, mac="aa:00:00:00:%02x:%02x" % divmod(i, 256))
        for i, vm in enumerate(vms)])
    for i, vm in enumerate(vms):
        mac = "aa:00:00:00:%02x:%02x" % divmod(i, 256)
        if i == 1100:
            mac = "aa:00:00:00:ff:ff"  # drift after the first page
        ganeti.add(vm, nics=[(mac, None, network_name(net.id))])
    VirtualMachine.objects.filter(pk=vms[5].pk).update(task="STOP", task_job_id=9)
    ganeti.down_jobs = True
    code, out, err = run("reconcile-servers", "--all", "--output", "json")
    assert code == 2, out + err
    rows = json.loads(out)
    assert {(r["kind"], r["object"]) for r in rows} == {
        ("unsynced-nics", "server %s" % vms[1100].id), ("error", "server %s" % vms[5].id)}, rows
    unmarked = set(VirtualMachine.objects.filter(last_reconciled__isnull=True).values_list("id", flat=True))
    assert unmarked == {vms[5].id}


def test_nic_fix_reports_ipv6_and_firewall_like_the_hook(run, setup, ganeti):
    net = Network.objects.create(name="v6", subnet="10.8.0.0/29", subnet6="2001:db8:1::/64",
                                 userid="alice", type="PRIVATE_MAC_FILTERED", mac_prefix="aa:00:1",
                                 state="ACTIVE")
    vm = make_vm(setup)
    ganeti.add(vm, nics=[("aa:00:10:00:00:01", None, network_name(net.id))],
               tags=["synnefo:network:0:limited"])
    code, out, err = run("reconcile-servers", "--all", "--fix-unsynced-nics")
    assert code == 0, out + err
    nic = NetworkInterface.objects.get(machine=vm)
    assert nic.ipv6 == "2001:db8:1:0:a800:10ff:fe00:1"
    assert nic.firewall_profile == "PROTECTED"


def test_build_whose_known_create_job_ended_is_finished(run, setup, ganeti):
    """BUILD with an instance and a create job the DB already saw end (a stale
    success message was dropped): the build is finished from Ganeti's job."""
    vm = make_vm(setup, operstate="BUILD", backendjobid=8, backendjobstatus="success")
    ganeti.job(8, "OP_INSTANCE_CREATE", "success")
    ganeti.add(vm, up=False)
    code, out, err = run("reconcile-servers", "--all", "--fix-all", "--output", "json")
    assert code == 0, out + err
    assert [r["kind"] for r in json.loads(out)] == ["stuck-build", "unsynced-state"]
    vm.refresh_from_db()
    assert vm.operstate == "STOPPED"


def test_offline_backend_is_skipped_unless_named(run, setup, ganeti):
    offline = make_backend("cluster3.example.org", offline=True)
    VirtualMachine.objects.create(name="o", userid="alice", backend=offline, flavor=setup["flavor"],
                                  imageid="img", operstate="STARTED")
    code, out, err = run("reconcile-servers", "--all")
    assert code == 0 and "0 server(s) checked" in out, out + err
    code, out, err = run("reconcile-servers", "--all", "--backend-id", str(offline.id), "--output", "json")
    assert code == 2 and "offline" in out, out + err


def test_task_whose_submission_never_finished_is_cleared_after_the_grace(run, setup, ganeti):
    cut = make_vm(setup, operstate="STOPPED", task="START")         # no job id, an hour old
    fresh = make_vm(setup, operstate="STOPPED", task="START", created=timezone.now())
    for vm in (cut, fresh):
        ganeti.add(vm, up=False)
    code, out, err = run("reconcile-servers", "--all", "--fix-pending-tasks", "--output", "json")
    found = findings(out)
    assert set(found) == {("pending-task", "server %s" % cut.id)}, out + err
    assert "submission never finished" in found[("pending-task", "server %s" % cut.id)]["details"]
    assert VirtualMachine.objects.get(pk=cut.pk).task is None
    assert VirtualMachine.objects.get(pk=fresh.pk).task == "START"   # still within the grace
    assert any("submission never finished" in m for m in diagnostics(cut))


def _pending_connect(vm, net, ip, created=OLD):
    from django.db import transaction
    from synnefo.db.models import PendingNic
    with transaction.atomic():
        pool = IPPool.for_network(net)
        pool.reserve(ip)
        pool.save()
    pending = PendingNic.objects.create(machine=vm, network=net, kind="CONNECT", ipv4=ip)
    PendingNic.objects.filter(pk=pending.pk).update(created=created)
    return pending


def test_connect_that_never_reached_ganeti_gives_its_address_back(run, setup, ganeti):
    from synnefo.db.models import PendingNic
    net = setup["net"]
    lost = make_vm(setup, task="CONNECT")                     # task and NIC, no job id, an hour old
    _pending_connect(lost, net, "192.0.2.4")
    made = make_vm(setup)                                     # Ganeti has the NIC: not given back
    _pending_connect(made, net, "192.0.2.5")
    young = make_vm(setup)                                    # within the grace: left alone
    _pending_connect(young, net, "192.0.2.6", created=timezone.now())
    ganeti.add(lost)
    ganeti.add(made, nics=[("aa:00:00:00:00:05", "192.0.2.5", network_name(net.id))])
    ganeti.add(young)
    code, out, err = run("reconcile-servers", "--all", "--fix-pending-tasks", "--fix-unsynced-nics",
                         "--output", "json")
    found = findings(out)
    kinds = {k for k in found if k[1] == "server %s" % lost.id}
    assert kinds == {("pending-task", "server %s" % lost.id)}, out + err
    assert not PendingNic.objects.filter(machine=lost).exists()
    assert VirtualMachine.objects.get(pk=lost.pk).task is None
    pool = IPPool(IPPoolTable.objects.get(network=net), net)
    assert pool.is_available("192.0.2.4")
    assert not pool.is_available("192.0.2.5") and not pool.is_available("192.0.2.6")
    assert NetworkInterface.objects.get(machine=made).ipv4 == "192.0.2.5"
    assert PendingNic.objects.filter(machine=young).exists()
    assert any("never reached Ganeti" in m for m in diagnostics(lost))


def test_nic_left_dirty_after_its_disconnect_ended_is_rebuilt(run, setup, ganeti):
    net = setup["net"]
    ended = make_vm(setup)                            # the disconnect's task ended, the hook's message lost
    add_nic(ended, net, "192.0.2.2", "aa:00:00:00:00:02")
    NetworkInterface.objects.filter(machine=ended).update(dirty=True)
    running = make_vm(setup, task="DISCONNECT", task_job_id=90, backendjobid=90,
                      backendjobstatus="running")     # still running: left alone
    add_nic(running, net, "192.0.2.3", "aa:00:00:00:00:03")
    NetworkInterface.objects.filter(machine=running).update(dirty=True)
    ganeti.add(ended)
    ganeti.add(running)
    ganeti.job(90, "OP_INSTANCE_SET_PARAMS", "running")
    code, out, err = run("reconcile-servers", "--all", "--fix-unsynced-nics", "--output", "json")
    found = findings(out)
    assert set(found) == {("unsynced-nics", "server %s" % ended.id)}, out + err
    assert not NetworkInterface.objects.filter(machine=ended).exists()
    assert IPPool(IPPoolTable.objects.get(network=net), net).is_available("192.0.2.2")
    assert NetworkInterface.objects.filter(machine=running).exists()


def test_nic_on_a_network_being_deleted_is_not_adopted(run, setup, ganeti):
    """Ganeti kept the NIC of a failed connect on a network whose delete was
    accepted since: not rebuilt into the database (reconcile-networks removes
    it from the instance); the server's other NICs are still compared."""
    net = setup["net"]
    doomed = Network.objects.create(name="doomed", userid="alice", subnet="10.0.9.0/29",
                                    type="PRIVATE_MAC_FILTERED", state="ACTIVE", action="DESTROY")
    vm = make_vm(setup)
    add_nic(vm, net, "192.0.2.2", "aa:00:00:00:00:02")
    ganeti.add(vm, nics=[("aa:00:00:00:00:02", "192.0.2.2", network_name(net.id)),
                         ("aa:00:10:00:00:03", "10.0.9.2", network_name(doomed.id))])
    code, out, err = run("reconcile-servers", "--all", "--fix-unsynced-nics", "--output", "json")
    assert code == 0 and not findings(out), out + err
    assert list(vm.nics.values_list("network_id", flat=True)) == [net.id]


def test_delete_whose_removal_job_failed_is_submitted_again(run, setup, ganeti, monkeypatch):
    """A removal job that failed (Ganeti's master died in the middle of it)
    leaves an accepted delete undone: reconciliation submits it again, unless
    the user asked something else of the server since."""
    from synnefo.logic import servers as servers_logic
    monkeypatch.setattr(servers_logic, "get_rapi_client", lambda backend: ganeti)  # the user's DELETE path
    failed = make_vm(setup, operstate="STOPPED", action="DESTROY", backendjobid=40,
                     backendopcode="OP_INSTANCE_REMOVE", backendjobstatus="error",
                     backendlogmsg="Unclean master daemon shutdown")
    since = make_vm(setup, operstate="STOPPED", action="START", backendjobid=41,
                    backendopcode="OP_INSTANCE_REMOVE", backendjobstatus="error")
    for vm in (failed, since):
        ganeti.add(vm, up=False)
    ganeti.job(40, "OP_INSTANCE_REMOVE", "error")
    ganeti.job(41, "OP_INSTANCE_REMOVE", "error")
    code, out, err = run("reconcile-servers", "--all", "--output", "json")
    found = findings(out)
    assert set(found) == {("failed-delete", "server %s" % failed.id)}, out + err
    assert "Unclean master daemon shutdown" in found[("failed-delete", "server %s" % failed.id)]["details"]
    assert "delete_instance" not in ganeti.names()

    code, out, err = run("reconcile-servers", "--all", "--fix-failed-deletes", "--output", "json")
    assert findings(out)[("failed-delete", "server %s" % failed.id)]["result"] == "fixed", out + err
    assert [c[1] for c in ganeti.calls if c[0] == "delete_instance"] == [(instance_name(failed.id),)]
    failed.refresh_from_db()
    assert (failed.task, failed.task_job_id, failed.action) == ("DESTROY", 100, "DESTROY")
    assert any("submitted the removal again" in d for d in diagnostics(failed))
