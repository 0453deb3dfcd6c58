"""Servers vs Ganeti instances (``snf-manage reconcile-servers``).

Per backend: one bulk instance list, compared with the servers of the DB;
single jobs are read only for servers with a pending task, an unfinished job
or a build. Each finding has a kind (:data:`KINDS`); a repair is the Ganeti
message that was lost, applied through the dispatcher's handlers
(:mod:`.events`), and a diagnostic on the server.

Staggered mode (no ``--all``): each run checks the
``ceil(servers / RECONCILIATION_MIN x interval)`` servers reconciled longest
ago (``VirtualMachine.last_reconciled``, never-reconciled first), so a run
every ``interval`` minutes reconciles every server at least once per
``RECONCILIATION_MIN`` minutes.
"""

import datetime
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

from django.conf import settings
from django.db.models import Count, F
from django.utils import timezone
from synnefo.db.models import Backend, Flavor, Network, NetworkInterface, PendingNic, VirtualMachine
from synnefo.logic import create_submit, servers, state
from synnefo.logic.errors import LogicError
from synnefo.logic.reconciliation import events
from synnefo.logic.reconciliation.ganeti import (
    BackendUnreachable,
    BackendView,
    job_end_time,
    job_error,
    job_is_final,
    job_opcode,
    job_status,
    network_id_of,
)
from synnefo.logic.reconciliation.report import FAILED, FIXED, Progress
from synnefo.logic.utils import instance_name
from synnefo.rapi import GanetiApiError
from synnefo.util import nics as nic_util

log = logging.getLogger(__name__)

# kind -> (fix option, what the finding means)
KINDS = {
    "stale": ("--fix-stale", "in the DB but not in Ganeti: the server is marked deleted"),
    "orphan": ("--fix-orphans", "a Ganeti instance named with our prefix that no server owns: "
                                "destroyed only with --fix-orphans"),
    "deleted": ("--fix-deleted", "deleted in the DB but still in Ganeti: the instance is removed"),
    "unsynced-state": ("--fix-unsynced-state", "the server's state differs from the instance's"),
    "unsynced-nics": ("--fix-unsynced-nics", "the NICs (index, network, IP, MAC) differ"),
    "unsynced-flavor": ("--fix-unsynced-flavor", "CPUs or RAM differ from the server's flavor"),
    "stuck-build": ("--fix-stuck-build", "in BUILD although its create job has ended or never "
                                         "reached Ganeti"),
    "pending-task": ("--fix-pending-tasks", "a job ended but its message never arrived"),
    "failed-delete": ("--fix-failed-deletes", "its delete was accepted but Ganeti's removal job "
                                              "failed: the removal is submitted again"),
}
FIX_ALL = tuple(k for k in KINDS if k != "orphan")
IN_PROGRESS = object()
ID_CHUNK = 5000
TASK_OPCODES = {"BUILD": "OP_INSTANCE_CREATE", "START": "OP_INSTANCE_STARTUP",
                "STOP": "OP_INSTANCE_SHUTDOWN", "REBOOT": "OP_INSTANCE_REBOOT",
                "DESTROY": "OP_INSTANCE_REMOVE"}


@dataclass
class Issue:
    kind: str
    vm_id: int | None
    obj: str
    details: str
    repair: Callable[[], str]


# --- selection ----------------------------------------------------------------

def staggered_count(total, interval, period):
    """Servers one run checks so that every server is checked at least once per ``period``
    minutes when a run starts every ``interval`` minutes."""
    if total <= 0:
        return 0
    if interval >= period:
        return total
    return min(total, math.ceil(total * interval / period))


def select_servers(backends, server_ids=None, interval=None):
    """Ids of the non-deleted servers to check on ``backends``: ``server_ids``,
    all of them (``interval`` None) or the staggered share, reconciled longest ago first."""
    query = VirtualMachine.objects.filter(deleted=False, backend__in=backends)
    if server_ids:
        return list(query.filter(pk__in=server_ids).order_by("id").values_list("id", flat=True))
    if interval is None:
        return list(query.order_by("id").values_list("id", flat=True))
    count = staggered_count(query.count(), interval, settings.RECONCILIATION_MIN)
    ordered = query.order_by(F("last_reconciled").asc(nulls_first=True), "id")
    return list(ordered.values_list("id", flat=True)[:count])


def _chunks(values, size=ID_CHUNK):
    values = list(values)
    for i in range(0, len(values), size):
        yield values[i:i + size]


# --- comparison -----------------------------------------------------------------

def ganeti_nics(inst, subnets6=None):
    """The instance's NICs as the hook reports them (net-status ``nics``);
    ``subnets6``: ``{network id: IPv6 subnet}`` for their EUI-64 addresses."""
    macs = inst.get("nic.macs") or []
    names = inst.get("nic.networks.names") or []
    ips = inst.get("nic.ips") or []
    firewalls = nic_util.firewall_tags(inst.get("tags") or [])
    nics = []
    for index, mac in enumerate(macs):
        nic = {"mac": mac, "ip": ips[index] if index < len(ips) else None,
               "network": names[index] if index < len(names) else None}
        subnet6 = (subnets6 or {}).get(network_id_of(nic["network"]))
        if subnet6:
            try:
                nic["ipv6"] = nic_util.eui64(mac, subnet6)
            except ValueError:
                pass
        if index in firewalls:
            nic["firewall"] = firewalls[index]
        nics.append(nic)
    return nics


def nic_keys(nics, known_networks):
    """Comparable ``(index, network id, mac, ipv4)`` of Ganeti NICs on known networks
    (NICs on other networks are skipped, as the dispatcher does)."""
    keys = []
    for index, nic in enumerate(nics):
        net_id = network_id_of(nic.get("network"))
        if net_id in known_networks:
            keys.append((index, net_id, str(nic["mac"]).lower(), nic.get("ip") or None))
    return keys


def _watched_jobs(vm):
    jobs = []
    if vm.task and vm.task_job_id is not None:
        jobs.append(vm.task_job_id)
    if vm.backendjobid is not None and vm.backendjobstatus not in state.FINAL_JOB_STATUSES \
            and vm.backendjobid not in jobs:
        jobs.append(vm.backendjobid)
    return jobs


class ServerChecker:
    """Compares the servers of one backend with its instances."""

    def __init__(self, view, now=None):
        self.view = view
        self.backend = view.backend
        self.now = now or datetime.datetime.now(datetime.UTC)
        self.grace = datetime.timedelta(seconds=settings.RECONCILIATION_BUILD_GRACE)
        # Servers whose create job is not submitted yet (read after Ganeti was):
        # their submitter decides their build, never reconciliation.
        self.queued = create_submit.queued_ids(self.backend.id)
        self._unsubmitted = None

    def unsubmitted_connects(self, vm_id):
        """The connects of server ``vm_id`` whose job id was never recorded,
        older than the grace (one query per backend and run: there are few)."""
        if self._unsubmitted is None:
            self._unsubmitted = {}
            for row in PendingNic.objects.filter(
                    machine__backend=self.backend, kind="CONNECT", job_id__isnull=True,
                    created__lt=self.now - self.grace).values("id", "machine_id", "network_id", "ipv4"):
                self._unsubmitted.setdefault(row["machine_id"], []).append(SimpleNamespace(**row))
        return self._unsubmitted.get(vm_id, [])

    @property
    def when(self):
        return events.event_time(self.view.taken_at)

    def _issue(self, issues, kind, vm, details, repair):
        issues.append(Issue(kind, vm.id if vm is not None else None,
                            "server %s" % vm.id if vm is not None else "", details, repair))

    def check(self, vm, inst, nics, known_networks):
        """The issues of server ``vm`` (``inst``: its instance's bulk view or None)."""
        issues = []
        if state.as_utc(vm.updated) > self.view.taken_at:
            return issues  # changed after Ganeti was read: the next run compares it
        if vm.id in self.queued:
            return issues  # its create job waits for a submitter (create_submit)
        operstate = self._lost_jobs(vm, issues)
        if operstate is IN_PROGRESS:
            return []
        if operstate == "DESTROYED":
            return issues
        if inst is None:
            self._missing(vm, operstate, issues)
            return issues
        operstate = self._build(vm, operstate, issues)
        if operstate is IN_PROGRESS:
            return issues
        if self._failed_delete(vm, issues):
            return issues
        self._state(vm, inst, operstate, issues)
        self._nics(vm, inst, nics, known_networks, issues)
        self._unsubmitted_connects(vm, inst, nics, issues)
        self._flavor(vm, inst, issues)
        return issues

    # -- jobs whose message was lost -----------------------------------------

    def _task_without_job(self, vm):
        """A task whose submission was cut short: no job id past the grace."""
        return bool(vm.task and vm.task != "BUILD" and vm.task_job_id is None
                    and self.now - state.as_utc(vm.updated) > self.grace)

    def _lost_jobs(self, vm, issues):
        operstate = vm.operstate
        if self._task_without_job(vm):
            # The API took the task, then its submission was cut short (the
            # database or the API worker went away) before the job id was
            # written: no message will ever clear it. The state rules below
            # still apply whatever Ganeti did.
            self._issue(issues, "pending-task", vm,
                        "task %s has no job: its submission never finished" % vm.task,
                        self._clear_task(vm.id, vm.task, None))
        for job_id in _watched_jobs(vm):
            job = self.view.job(job_id)
            if job is None:
                if vm.task and job_id == vm.task_job_id and vm.task != "BUILD":
                    self._issue(issues, "pending-task", vm,
                                "task %s waits for job %s, which Ganeti does not know"
                                % (vm.task, job_id), self._clear_task(vm.id, vm.task, job_id))
                continue
            if not job_is_final(job):
                return IN_PROGRESS
            opcode = job_opcode(job) or TASK_OPCODES.get(vm.task or "")
            if opcode is None:
                continue
            status = job_status(job)
            effect = state.vm_effect(opcode, status, operstate)
            if effect.operstate:
                operstate = effect.operstate
            self._issue(issues, "pending-task", vm,
                        "job %s (%s) ended '%s' but its message never arrived" % (job_id, opcode, status),
                        self._replay(vm.id, job_id, opcode, status, job))
        return operstate

    def _replay(self, vm_id, job_id, opcode, status, job):
        def repair():
            when = job_end_time(job) or self.when
            events.op_status(vm_id, opcode, status, when, job_id=job_id, logmsg=job_error(job))
            events.diagnose(vm_id, "applied the lost outcome of job %s: %s %s" % (job_id, opcode, status))
            return "replayed job %s" % job_id
        return repair

    def _clear_task(self, vm_id, task, job_id):
        """Clear ``task`` if it still waits for ``job_id`` (None: for no job at all)."""
        def repair():
            job = {"task_job_id__isnull": True} if job_id is None else {"task_job_id": job_id}
            VirtualMachine.objects.filter(pk=vm_id, task=task, **job).update(
                task=None, task_job_id=None, updated=timezone.now())  # changes-since sees it
            why = ("its submission never finished" if job_id is None
                   else "Ganeti does not know its job %s" % job_id)
            events.diagnose(vm_id, "cleared task %s: %s" % (task, why))
            return "task cleared"
        return repair

    # -- no instance ---------------------------------------------------------

    def _old_enough(self, vm):
        return self.now - state.as_utc(vm.created) > self.grace

    def _missing(self, vm, operstate, issues):
        if operstate == "ERROR":
            return  # a failed build leaves no instance
        if operstate == "BUILD":
            job = self.view.job(vm.backendjobid) if vm.backendjobid is not None else None
            if job_status(job) == "success":
                self._stale(vm, issues, "its create job %s succeeded but the instance is gone"
                            % vm.backendjobid)
            elif job is None and self._old_enough(vm):
                self._issue(issues, "stuck-build", vm,
                            "in BUILD for more than %ss and neither the instance nor its create job "
                            "is in Ganeti" % settings.RECONCILIATION_BUILD_GRACE,
                            self._event(vm.id, "OP_INSTANCE_CREATE", "error",
                                        "marked ERROR: its create job never reached Ganeti",
                                        logmsg="Reconciliation: the create job never reached Ganeti"))
            return
        self._stale(vm, issues, "%s in the DB, no instance %s in Ganeti"
                    % (operstate, instance_name(vm.id)))

    def _stale(self, vm, issues, why):
        self._issue(issues, "stale", vm, why,
                    self._event(vm.id, "OP_INSTANCE_REMOVE", "success",
                                "marked deleted: %s" % why))

    def _event(self, vm_id, opcode, status, text, logmsg=None):
        def repair():
            events.diagnose(vm_id, text)
            outcome = events.op_status(vm_id, opcode, status, self.when, logmsg=logmsg)
            return "%s %s: %s" % (opcode, status, outcome)
        return repair

    # -- instance present ------------------------------------------------------

    def _build(self, vm, operstate, issues):
        if operstate != "BUILD":
            return operstate
        job = self.view.job(vm.backendjobid) if vm.backendjobid is not None else None
        if job is None:
            if not self._old_enough(vm):
                return IN_PROGRESS  # its create job may not be recorded yet
            status, why = "success", "the instance exists and its create job is gone"
        elif not job_is_final(job):
            return IN_PROGRESS
        else:
            status, why = job_status(job), "its create job %s ended '%s'" % (vm.backendjobid,
                                                                            job_status(job))
        effect = state.vm_effect("OP_INSTANCE_CREATE", status, operstate)
        self._issue(issues, "stuck-build", vm, "in BUILD but %s" % why,
                    self._event(vm.id, "OP_INSTANCE_CREATE", status,
                                "build ended (%s): %s" % (status, why), logmsg=job_error(job)))
        return effect.operstate or operstate

    def _failed_delete(self, vm, issues):
        """The last thing asked of the server was its delete (``action``
        DESTROY, nothing asked since), Ganeti's removal job failed and the
        instance is still there: submit the removal again (task DESTROY, as
        the user's DELETE does; the dispatcher marks it deleted once it is
        done). A definite refusal fails again, each time with its reason on
        the server."""
        if not (vm.action == "DESTROY" and vm.task is None and vm.backendopcode == "OP_INSTANCE_REMOVE"
                and vm.backendjobstatus in ("error", "canceled")):
            return False

        def repair():
            servers.destroy(vm.userid, vm.id)  # a refusal (LogicError) is a failed fix
            events.diagnose(vm.id, "submitted the removal again: the delete was accepted and "
                            "job %s failed" % vm.backendjobid)
            return "removal submitted again"
        reason = VirtualMachine.objects.filter(pk=vm.id).values_list("backendlogmsg", flat=True).first()
        self._issue(issues, "failed-delete", vm, "delete accepted, removal job %s ended '%s'%s; the "
                    "instance is still in Ganeti" % (vm.backendjobid, vm.backendjobstatus,
                                                    " (%s)" % reason.strip() if reason else ""), repair)
        return True

    def _state(self, vm, inst, operstate, issues):
        up = inst.get("oper_state")
        if up is None:
            return
        if up and operstate in ("STOPPED", "ERROR"):
            self._issue(issues, "unsynced-state", vm, "%s in the DB, running in Ganeti" % operstate,
                        self._event(vm.id, "OP_INSTANCE_STARTUP", "success",
                                    "%s -> STARTED: the instance runs in Ganeti" % operstate))
        elif not up and operstate == "STARTED":
            self._issue(issues, "unsynced-state", vm, "STARTED in the DB, down in Ganeti",
                        self._event(vm.id, "OP_INSTANCE_SHUTDOWN", "success",
                                    "STARTED -> STOPPED: the instance is down in Ganeti"))

    def _nics(self, vm, inst, nics, known_networks, issues):
        if any(n.dirty for n in nics) and vm.task:
            return  # a disconnect is pending (once its task ended, a NIC still marked
            #        dirty only means the hook's message was lost: compare)
        wanted = ganeti_nics(inst, known_networks)
        theirs = nic_keys(wanted, known_networks)
        ours = [(n.index, n.network_id, n.mac, n.ipv4) for n in nics]
        if sorted(theirs) == sorted(ours):
            return
        show = lambda keys: ", ".join("%d:net %s %s %s" % (i, net, ip or "-", mac)  # noqa: E731
                                      for i, net, mac, ip in keys) or "none"
        details = "DB: %s; Ganeti: %s" % (show(ours), show(theirs))

        def repair():
            events.diagnose(vm.id, "NICs rebuilt from Ganeti", details=details)
            return "NICs: %s" % events.net_status(vm.id, wanted, self.when)
        self._issue(issues, "unsynced-nics", vm, details, repair)

    def _unsubmitted_connects(self, vm, inst, nics, issues):
        """A connect cut short before its job id was written (the API answered
        that Ganeti may have it) whose NIC Ganeti still does not have after
        the grace: it never reached Ganeti, its address goes back."""
        if vm.task == "CONNECT" and not self._task_without_job(vm):
            return  # still in flight
        known_macs = {n.mac for n in nics}
        theirs = [(network_id_of(nic["network"]), nic["ip"], nic["mac"]) for nic in ganeti_nics(inst)]
        for pending in self.unsubmitted_connects(vm.id):
            made = any(net == pending.network_id and (ip == pending.ipv4 if pending.ipv4 else
                                                     mac not in known_macs)
                       for net, ip, mac in theirs)
            if made:
                continue  # the NIC check above rebuilds it from Ganeti
            self._issue(issues, "pending-task", vm,
                        "connect to network %s (%s) never reached Ganeti"
                        % (pending.network_id, pending.ipv4 or "no address"),
                        self._give_back_connect(vm.id, pending))

    def _give_back_connect(self, vm_id, pending):
        def repair():
            from synnefo.logic import callbacks
            if not callbacks.abandon_unsubmitted_connect(pending.id):
                return "already settled"
            events.diagnose(vm_id, "gave back %s: its connect to network %s never reached Ganeti"
                            % (pending.ipv4 or "a NIC without address", pending.network_id))
            return "address given back" if pending.ipv4 else "pending NIC removed"
        return repair

    def _flavor(self, vm, inst, issues):
        be = inst.get("beparams") or {}
        cpu, ram = be.get("vcpus"), be.get("maxmem", be.get("memory"))
        if cpu is None or ram is None or (cpu, ram) == (vm.flavor.cpu, vm.flavor.ram):
            return
        details = "flavor %s (%s CPUs, %s MiB), Ganeti: %s CPUs, %s MiB" % (
            vm.flavor.name, vm.flavor.cpu, vm.flavor.ram, cpu, ram)

        def repair():
            old = vm.flavor
            flavor = Flavor.objects.filter(cpu=cpu, ram=ram, disk=old.disk,
                                           disk_template=old.disk_template).first()
            if flavor is None:  # not offered to users: made only to describe this server
                flavor = Flavor.objects.create(cpu=cpu, ram=ram, disk=old.disk,
                                               disk_template=old.disk_template, deleted=True)
            VirtualMachine.objects.filter(pk=vm.id).update(flavor=flavor, updated=timezone.now())
            events.diagnose(vm.id, "flavor %s -> %s: the instance has %s CPUs, %s MiB"
                            % (old.name, flavor.name, cpu, ram))
            return "flavor now %s" % flavor.name
        self._issue(issues, "unsynced-flavor", vm, details, repair)

    # -- instances that no server owns ------------------------------------------

    def unowned(self, instances):
        """Orphan instances and instances of servers deleted in the DB."""
        issues = []
        owners = {}
        if instances:  # one range query: no list of thousands of ids
            owners = {pk: (deleted, backend_id) for pk, deleted, backend_id in
                      VirtualMachine.objects.filter(pk__gte=min(instances), pk__lte=max(instances))
                      .values_list("id", "deleted", "backend_id") if pk in instances}
        for vm_id in sorted(instances):
            name = instances[vm_id]["name"]
            owner = owners.get(vm_id)
            if owner is None:
                issues.append(Issue("orphan", None, "instance %s" % name,
                                    "no server %s in the DB" % vm_id, self._remove(name)))
            elif owner[0]:
                issues.append(Issue("deleted", vm_id, "server %s" % vm_id,
                                    "deleted in the DB, instance %s still in Ganeti" % name,
                                    self._remove(name, vm_id)))
            elif owner[1] != self.backend.id:
                issues.append(Issue("orphan", vm_id, "instance %s" % name,
                                    "server %s belongs to backend %s" % (vm_id, owner[1]),
                                    self._remove(name)))
        return issues

    def _remove(self, name, vm_id=None):
        def repair():
            job = self.view.client.delete_instance(name)
            if vm_id is not None:
                events.diagnose(vm_id, "removed instance %s left in Ganeti after the server was "
                                       "deleted (job %s)" % (name, job))
            return "removal job %s" % job
        return repair


# --- the run --------------------------------------------------------------------

SERVER_FIELDS = ("id", "userid", "operstate", "action", "task", "task_job_id", "backendjobid",
                 "backendopcode", "backendjobstatus", "created", "updated", "flavor_id")
NIC_FIELDS = ("machine_id", "index", "network_id", "mac", "ipv4", "ipv6", "dirty")


def load_servers(query, limit=None):
    """The servers of ``query`` by id as plain records (what the checks read; model
    instances would cost most of a run over thousands of servers)."""
    flavors = {}
    records = []
    rows = query.order_by("id").values(*SERVER_FIELDS)
    for row in rows[:limit] if limit else rows:
        record = SimpleNamespace(**row)
        if row["flavor_id"] not in flavors:
            flavors[row["flavor_id"]] = Flavor.objects.get(pk=row["flavor_id"])
        record.flavor = flavors[row["flavor_id"]]
        records.append(record)
    return records


def load_nics(query):
    """``{server id: [NIC records by index]}`` of a NetworkInterface query."""
    nics = {}
    for row in query.order_by("machine_id", "index").values(*NIC_FIELDS):
        nics.setdefault(row["machine_id"], []).append(SimpleNamespace(**row))
    return nics


def _backends(backend_id):
    query = Backend.objects.order_by("id")
    if backend_id is not None:
        query = query.filter(pk=backend_id)
    return list(query)


def _pages(backend, ids=None, size=1000):
    """The servers to check on ``backend`` in pages of records: ``ids`` (a
    selection), or every non-deleted one (keyset pages, no id lists)."""
    base = VirtualMachine.objects.filter(deleted=False, backend=backend)
    if ids is not None:
        for chunk in _chunks(ids, size):
            yield load_servers(base.filter(pk__in=chunk)), load_nics(
                NetworkInterface.objects.filter(machine_id__in=chunk))
        return
    last = 0
    while True:
        page = load_servers(base.filter(pk__gt=last), size)
        if not page:
            return
        yield page, load_nics(NetworkInterface.objects.filter(
            machine__backend=backend, machine__deleted=False, machine_id__gt=last,
            machine_id__lte=page[-1].id))
        last = page[-1].id


def reconcile(report, fixes=(), backend_id=None, server_ids=None, interval=None, progress=None):
    """Compare servers with Ganeti, repair the ``fixes`` kinds; findings go to
    ``report``. Returns the number of servers checked."""
    fixes = set(fixes)
    all_backends = _backends(backend_id)
    for backend in all_backends:
        if backend.offline and backend_id is not None:
            report.error(backend, "backend is offline: not reconciled")
    backends = [b for b in all_backends if not b.offline]
    every = interval is None and not server_ids
    by_backend = {}
    if every:
        counts = dict(VirtualMachine.objects.filter(deleted=False, backend__in=backends)
                      .order_by().values_list("backend_id").annotate(n=Count("id")))
        total = sum(counts.values())
    else:
        selected = select_servers(backends, server_ids, interval)
        for chunk in _chunks(selected):
            for pk, b_id in VirtualMachine.objects.filter(pk__in=chunk).values_list("id", "backend_id"):
                by_backend.setdefault(b_id, []).append(pk)
        counts = {b_id: len(ids) for b_id, ids in by_backend.items()}
        total = len(selected)
    bar = Progress(total, "reconciling servers", enabled=progress)
    checked = 0
    for backend in backends:
        view = BackendView(backend)
        try:
            instances = view.ours()
        except BackendUnreachable as exc:
            report.error(backend, "backend did not answer: %s" % exc)
            bar.step(counts.get(backend.id, 0))
            continue
        checker = ServerChecker(view)
        _apply(report, backend, [] if server_ids else checker.unowned(instances), fixes)
        done = []
        for vms, nics in _pages(backend, None if every else by_backend.get(backend.id, [])):
            wanted_nets = {network_id_of(n) for vm in vms for n in
                           (instances.get(vm.id) or {}).get("nic.networks.names") or []}
            # NICs on a network being deleted are never adopted (the
            # dispatcher skips them too): reconcile-networks removes them.
            known = dict(Network.objects.filter(pk__in=[n for n in wanted_nets if n is not None])
                         .exclude(action="DESTROY").values_list("id", "subnet6"))
            for vm in vms:
                try:
                    found = checker.check(vm, instances.get(vm.id), nics.get(vm.id, []), known)
                except BackendUnreachable as exc:
                    report.error(backend, "backend did not answer: %s" % exc, "server %s" % vm.id)
                    found = None
                if found is not None:
                    _apply(report, backend, found, fixes)
                    done.append(vm.id)
                bar.step()
            checked += len(vms)
        _mark_reconciled(backend, done, checker.now)
    bar.close()
    return checked


def _mark_reconciled(backend, done, now):
    """``last_reconciled = now`` for the servers ``done`` (a long list as id ranges)."""
    if len(done) <= 1000:
        VirtualMachine.objects.filter(pk__in=done).update(last_reconciled=now)
        return
    start = None
    previous = None
    for pk in sorted(done) + [None]:
        if start is not None and (pk is None or pk != previous + 1):
            VirtualMachine.objects.filter(backend=backend, pk__gte=start, pk__lte=previous) \
                .update(last_reconciled=now)
            start = None
        if start is None:
            start = pk
        previous = pk


def _apply(report, backend, issues, fixes):
    for issue in issues:
        finding = report.add(issue.kind, backend, issue.obj, issue.details)
        if issue.kind not in fixes:
            continue
        try:
            result = issue.repair()
        except (GanetiApiError, BackendUnreachable, LogicError, state.InvalidMessage, OSError) as exc:
            log.error("Reconciliation of %s (%s) failed: %s", issue.obj, issue.kind, exc)
            finding.result = FAILED
            finding.details += " (fix failed: %s)" % exc
            continue
        finding.result = FIXED
        log.info("Reconciliation %s %s: %s", issue.kind, issue.obj, result)
