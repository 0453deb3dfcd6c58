"""Server (VM) operations: the logic behind the compute API (spec 02 §4, 04 §1).

Every entry point takes the caller's ``userid``, finds the VM among that
user's VMs (``ItemNotFound`` otherwise), locks the rows it changes and raises
``synnefo.logic.errors`` exceptions. Ganeti is only asked to do things; state
changes arrive later through the dispatcher.

Concurrency: no database lock is held while Ganeti is asked anything (a slow
cluster would otherwise stall every writer of the locked rows, or on SQLite
every writer at all), and RAPI calls keep to the request budget
(``GANETI_RAPI_REQUEST_TIMEOUT``, no retry). Creation commits the new VM row,
submits the create job, then records the job id under the VM's row lock,
merging what a dispatcher wrote meanwhile; for POST /servers the job is
committed with the row and submitted after the answer
(:mod:`synnefo.logic.create_submit`). Actions record the pending task
(the next GET shows it), submit the job, then record its id the same way; a
failed submission puts the previous task back.
"""

import copy
import json
import logging

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from synnefo.db.models import (
    FIREWALL_PROFILES,
    Flavor,
    Image,
    Network,
    PendingNic,
    User,
    VirtualMachine,
    VirtualMachineDiagnostic,
    VirtualMachineMetadata,
)
from synnefo.logic import allocators, idempotency, outage, outcome, validation
from synnefo.logic.backends import get_rapi_client
from synnefo.logic.console import CONSOLE_TYPES, get_console_client
from synnefo.logic.errors import (
    BadRequest,
    BuildInProgress,
    Forbidden,
    ItemNotFound,
    OverLimit,
    ServiceUnavailable,
)
from synnefo.logic.pools import IPPool, PoolExhausted
from synnefo.logic.users import vm_limit
from synnefo.logic.utils import instance_name, network_name, random_password
from synnefo.rapi import GanetiApiError

log = logging.getLogger(__name__)

FINAL_JOB_STATUSES = ("success", "error", "canceled")
JOB_FIELDS_CLEARED = {"backendjobid": None, "backendopcode": None, "backendjobstatus": None,
                      "backendlogmsg": None}
# What submitting a create job is expected to fail with (Ganeti refused it,
# the backend is offline): answered as ServiceUnavailable. Anything else is a
# bug or an unwrapped error and propagates unchanged (computeFault).
SUBMIT_ERRORS = (GanetiApiError, ServiceUnavailable)


# --- limits -------------------------------------------------------------



def lock_user(userid):
    """The ``User`` row of ``userid``, locked (created if missing, e.g. by admin commands)."""
    user = User.objects.select_for_update().filter(uniq=userid).first()
    if user is None:
        User.objects.get_or_create(uniq=userid)
        user = User.objects.select_for_update().get(uniq=userid)
    return user


# --- lookups ------------------------------------------------------------

def get_vm(userid, vm_id, for_update=False):
    try:
        vm_id = int(vm_id)
    except (TypeError, ValueError):
        raise ItemNotFound("Server not found.")
    query = VirtualMachine.objects.select_related("backend", "flavor")
    if for_update:
        if connection.features.has_select_for_update_of:
            query = query.select_for_update(of=("self",))
        else:  # MariaDB: FOR UPDATE would lock the joined rows too; read them later
            query = VirtualMachine.objects.select_for_update()
    vm = query.filter(pk=vm_id, userid=userid).first()
    if vm is None:
        raise ItemNotFound("Server not found.")
    return vm


def get_image(userid, image_id):
    image = (Image.objects.filter(pk=str(image_id), deleted__isnull=True)
             .exclude(status="deleted").filter(Q(public=True) | Q(owner=userid)).first())
    if image is None:
        raise ItemNotFound("Image not found.")
    return image


def get_flavor(flavor_id):
    try:
        flavor_id = int(flavor_id)
    except (TypeError, ValueError):
        raise ItemNotFound("Flavor not found.")
    flavor = Flavor.objects.filter(pk=flavor_id, deleted=False).first()
    if flavor is None:
        raise ItemNotFound("Flavor not found.")
    return flavor


# --- create -------------------------------------------------------------

def create_instance_payload(vm, nic, flavor, image, password, personality):
    """The RAPI body of CreateInstance (spec 04 §1.1), a fresh dict per call."""
    payload = copy.deepcopy(settings.GANETI_CREATEINSTANCE_KWARGS)
    template = flavor.disk_template
    provider = None
    if template.startswith("ext"):
        template, _, provider = template.partition("_")
    if settings.IGNORE_FLAVOR_DISK_SIZES:
        size = 14000 if "windows" in image.location.lower() else 4000
    else:
        size = flavor.disk * 1024
    disk = {"size": size}
    if provider:
        disk["provider"] = provider
        if provider == "vlmc":
            disk["origin"] = image.location
    osparams = dict(payload.get("osparams") or {})
    osparams.update({
        "img_id": "null" if provider == "vlmc" else image.location,
        "img_passwd": password,
        "img_format": image.disk_format,
        "img_properties": json.dumps({str(k).upper(): v for k, v in (image.properties or {}).items()}),
    })
    if personality:
        osparams["img_personality"] = json.dumps(personality)
    payload.update({
        "mode": "create",
        "name": instance_name(vm.id),
        "disk_template": template,
        "disks": [disk],
        "nics": [nic],
        "ip_check": False,
        "name_check": False,
        "beparams": {"auto_balance": True, "vcpus": flavor.cpu, "memory": flavor.ram},
        "osparams": osparams,
    })
    if settings.GANETI_USE_HOTPLUG:
        payload["hotplug"] = True
    return payload


def masked(payload):
    """A copy of the payload safe for logs."""
    shown = copy.deepcopy(payload)
    if "img_passwd" in shown.get("osparams", {}):
        shown["osparams"]["img_passwd"] = "********"
    if "img_personality" in shown.get("osparams", {}):
        shown["osparams"]["img_personality"] = "<%d bytes>" % len(shown["osparams"]["img_personality"])
    return shown


def allocate_public_ip(backend):
    """``(network, ip)`` for the public NIC of a new VM on ``backend``; ``ip`` is
    ``"pool"`` when ``PUBLIC_USE_POOL`` is off. Locks the pool row."""
    for network in allocators.public_networks_with_free_ip(backend):
        if not settings.PUBLIC_USE_POOL:
            return network, "pool"
        pool = IPPool.for_network(network)
        try:
            ip = pool.get()
        except PoolExhausted:
            continue
        pool.save()
        return network, ip
    raise ServiceUnavailable("Failed to allocate public IP for new VM")


def release_ip(network_id, ip):
    if not ip or ip == "pool":
        return
    network = Network.objects.filter(pk=network_id).first()
    if network is None:
        return
    pool = IPPool.for_network(network)
    try:
        pool.put(ip)
    except ValueError:
        return
    pool.save()


def create(userid, name, flavor_id, image_id, metadata=None, personality=None, backend=None,
           password=None, check_limit=True, idempotency_key=None, queued=False):
    """Create a server; returns ``(vm, password)``.

    Admin-only keywords (``snf-manage server-create``): ``backend`` bypasses the
    allocator, ``password`` replaces the generated one, ``check_limit=False``
    skips the per-user server limit.

    ``idempotency_key`` (the API's ``X-Idempotency-Key``): a create of the
    same user with the same key and parameters within the retention window
    returns the server of the first one (``vm.replayed`` is true; the
    password is the first one's, or ``None`` when it cannot be decrypted);
    other parameters raise ``Conflict``. The key is recorded in the
    transaction that inserts the server.

    ``queued`` (POST /servers): the create job is committed with the server
    and submitted by :mod:`synnefo.logic.create_submit` (a refusal then shows
    as ERROR with Ganeti's reason); otherwise it is submitted here, and a
    refusal raises ``ServiceUnavailable`` with the server removed.

    Call it outside any transaction: the VM row must be committed before the
    create job is submitted (spec 02 §4.3). A database failure after that
    commit raises :class:`outage.Unavailable` saying the server exists.
    """
    from synnefo.logic import create_submit
    validation.server_name(name)
    metadata = validation.metadata(metadata)
    personality = validation.personality(personality)
    key = idempotency.check_key(idempotency_key)
    request_digest = idempotency.digest(name=name, flavor=flavor_id, image=str(image_id),
                                        metadata=metadata, personality=personality)
    password = password or random_password()
    sealed = idempotency.seal(password) if key is not None else ""  # before any lock: slow once

    with transaction.atomic():
        user = lock_user(userid)
        earlier = idempotency.find(userid, "server", key, request_digest)
        if earlier is not None:
            vm = VirtualMachine.objects.filter(pk=earlier.object_id).first()
            if vm is not None:
                vm.replayed = True
                return vm, idempotency.secret_of(earlier)
            earlier.delete()  # its server was purged from the database
        image = get_image(userid, image_id)
        flavor = get_flavor(flavor_id)
        if check_limit and VirtualMachine.objects.filter(
                userid=userid, deleted=False).count() >= vm_limit(user):
            raise OverLimit("Server count limit exceeded for your account.")
        size = allocators.vm_size(flavor)
        charged = False
        if backend is None:
            backend = allocators.allocate(userid, flavor)
            if backend is None:
                raise ServiceUnavailable("No available backends")
            charged = True
        network, ip = allocate_public_ip(backend)
        vm = VirtualMachine.objects.create(
            name=name, userid=userid, backend=backend, backend_hash=backend.hash,
            imageid=str(image_id), flavor=flavor, operstate="BUILD", action="CREATE", task="BUILD")
        for key_, value in metadata.items():
            VirtualMachineMetadata.objects.create(vm=vm, meta_key=key_, meta_value=value)
        # The address is the server's from now on, until Ganeti reports the
        # NIC or the create fails (callbacks.abandon_pending_nics).
        PendingNic.objects.create(machine=vm, network=network, kind="CREATE",
                                  ipv4=None if ip == "pool" else ip)
        idempotency.record(userid, "server", key, request_digest, vm.id, sealed)
        if queued:
            nic = {"ip": ip, "network": network_name(network.id)}
            create_submit.record(vm, create_instance_payload(vm, nic, flavor, image, password,
                                                             personality), charged)
    if queued:
        create_submit.schedule(vm.id)
        try:
            vm.refresh_from_db()
        except outage.DATABASE_ERRORS:
            pass  # committed: the answer describes it from this request
        return vm, password

    # The row is committed; the job is submitted with no lock held (a slow
    # Ganeti must not stall the dispatchers nor, on SQLite, every writer) and
    # recorded after: _record_create_job merges what a dispatcher may have
    # written meanwhile. A database failure from here on leaves the server
    # in place (its job may be running): the answer says so.
    with outage.after_effect(created_message(vm.id, key), retry_safe=key is not None):
        submit = (vm, backend, network, ip, flavor, image, password, personality)
        job_id, failure = _try_submit_create(submit)
        unknown = failure is not None and outcome.may_have_reached(failure)
        if unknown:  # Ganeti may be creating it: look for its job (no lock held)
            job_id = outcome.find_job(get_rapi_client(backend), instance_name(vm.id),
                                      "OP_INSTANCE_CREATE")
        unknown_failure, failure = (failure, None) if unknown else (None, failure)
        # (unknown: keep BUILD and the address until the outcome is known)
        try:
            with transaction.atomic():
                locked = VirtualMachine.objects.select_for_update().get(pk=vm.pk)
                if unknown and job_id is None:
                    _keep_unknown_create(locked, unknown_failure)
                if failure is not None:  # the VM must not stay in BUILD
                    _undo_create(locked, network.id, ip, backend.id if charged else None, size, failure)
                elif job_id is not None:
                    _record_create_job(locked, job_id)
        except outage.DATABASE_ERRORS as exc:
            if failure is not None:
                raise  # not undone: the answer says the server exists (reconciliation ends it)
            # Submitted (or maybe submitted): the server builds whatever the
            # database does now, so the create is accepted; the dispatcher
            # records its job from Ganeti's messages, reconciliation from
            # Ganeti itself.
            log.error("Server %s: its create job %s went to Ganeti but could not be recorded: %s",
                      vm.id, job_id, exc)
            return vm, password
    # Past the undo (committed): the create had no effect.
    if isinstance(failure, SUBMIT_ERRORS):
        raise ServiceUnavailable("Failed to create server: %s" % failure) from failure
    if failure is not None:
        raise failure  # unchanged (a database outage answers as one)
    return locked, password


def created_message(vm_id, key):
    """What an answer past the commit of server ``vm_id`` tells the client."""
    if key is not None:
        return ("server %d was created and may be building; retry with the same %s to get it."
                % (vm_id, idempotency.HEADER))
    return ("server %d was created and may be building; do not create it again, "
            "list your servers instead." % vm_id)


def _try_submit_create(submit):
    """``(job_id, None)``, or ``(None, exception)`` for any failure (logged)."""
    vm, backend = submit[:2]
    try:
        return _submit_create(*submit), None
    except Exception as exc:  # noqa: BLE001 - every failure undoes the create
        log.error("Create of %s on %s failed: %s", instance_name(vm.id), backend, exc,
                  exc_info=not isinstance(exc, SUBMIT_ERRORS))
        return None, exc


def _record_create_job(locked, job_id):
    """Store the create job on the (locked) VM, merging what a dispatcher that
    did not wait for the lock may have written already."""
    locked.refresh_from_db(fields=["backendjobid", "backendjobstatus", "task", "task_job_id",
                                   "operstate"])
    fields = ["updated"]
    if locked.backendjobid is None:
        locked.backendjobid = job_id
        fields.append("backendjobid")
    if locked.task == "BUILD":
        if locked.backendjobid == job_id and locked.backendjobstatus in FINAL_JOB_STATUSES:
            locked.task, locked.task_job_id = None, None  # the job already ended
        else:
            locked.task_job_id = job_id
        fields += ["task", "task_job_id"]
    locked.save(update_fields=fields)
    PendingNic.objects.filter(machine=locked, kind="CREATE", job_id=None).update(job_id=job_id)


def _keep_unknown_create(locked, exc):
    """The create request may have reached Ganeti but its job is not in the
    job list: the server stays in BUILD with its address (no job to wait
    for) and says why; reconciliation finds the instance or declares the
    server gone."""
    log.warning("Create of %s: outcome unknown (%s); left to reconciliation",
                instance_name(locked.id), exc)
    locked.backendlogmsg = outcome.describe(exc)[:1000]
    locked.save(update_fields=["backendlogmsg", "updated"])
    VirtualMachineDiagnostic.objects.create(machine=locked, level="WARNING", source="create-submit",
                                            message=outcome.describe(exc)[:255], details=str(exc))


def _submit_create(vm, backend, network, ip, flavor, image, password, personality):
    """Build the CreateInstance payload and submit it; returns the job id.

    Everything that can fail after the VM row is committed happens here, so
    that :func:`create` undoes the create whatever the failure.
    """
    nic = {"ip": ip, "network": network_name(network.id)}
    payload = create_instance_payload(vm, nic, flavor, image, password, personality)
    log.info("Creating instance %s on %s: %s", instance_name(vm.id), backend, masked(payload))
    return get_rapi_client(backend).create_instance(**payload)


def _undo_create(locked, network_id, ip, backend_id, size, exc):
    """The create job was never submitted (building or submitting it failed,
    for any reason): mark the (locked) VM deleted (kept for bookkeeping, never
    left in BUILD), uncharge the backend, free the IP."""
    with transaction.atomic():
        locked.deleted = True
        locked.operstate = "DESTROYED"
        locked.task = None
        locked.task_job_id = None
        locked.backendjobstatus = "error"
        locked.backendlogmsg = ("Create job could not be submitted: %s" % exc)[:1000]
        locked.save()
        # Lock order as in create: backend row before pool rows.
        if backend_id is not None:
            allocators.uncharge(backend_id, size)
        release_ip(network_id, ip)
        PendingNic.objects.filter(machine=locked).delete()
        idempotency.release("server", locked.id)


# --- actions ------------------------------------------------------------

ACTION_TASKS = {"START": "START", "STOP": "STOP", "REBOOT": "REBOOT", "DESTROY": "DESTROY"}
# The Ganeti opcode of each task's job (to find it when the answer was lost).
TASK_OPCODES = {"START": "OP_INSTANCE_STARTUP", "STOP": "OP_INSTANCE_SHUTDOWN",
                "REBOOT": "OP_INSTANCE_REBOOT", "DESTROY": "OP_INSTANCE_REMOVE",
                "CONNECT": "OP_INSTANCE_SET_PARAMS", "DISCONNECT": "OP_INSTANCE_SET_PARAMS",
                "FIREWALL": "OP_INSTANCE_SET_PARAMS"}
# Ganeti runs the jobs of one instance in order, so an action may be queued
# behind a pending task; it is checked against the power state the pending
# task leads to. Tasks not listed keep the power state (FIREWALL, CONNECT,
# DISCONNECT).
POWER_STATE_AFTER = {"START": "STARTED", "STOP": "STOPPED", "REBOOT": "STARTED"}
# An action that undoes the pending task is refused rather than queued.
UNDOES = {"START": "STOP", "STOP": "START"}
# NIC changes neither queue nor are queued behind (their NIC bookkeeping
# expects one pending change at a time).
EXCLUSIVE_TASKS = ("CONNECT", "DISCONNECT")


def _refuse(message, vm):
    if vm.task:
        message += " (pending '%s' task)" % vm.task
    raise BadRequest(message)


def validate_server_action(vm, action):
    """The 0.15 state rules (spec 08 item 1), with actions queued behind a
    pending task when they can follow it."""
    if vm.deleted:
        raise BadRequest("Server has been deleted.")
    if vm.suspended:
        raise Forbidden("Administratively Suspended VM")
    if action == "DESTROY":
        return
    if vm.task == "BUILD" or vm.operstate == "BUILD":
        raise BuildInProgress("Server is being built.")
    if vm.task and (vm.task == "DESTROY" or UNDOES.get(action) == vm.task
                    or vm.task in EXCLUSIVE_TASKS or action in EXCLUSIVE_TASKS):
        raise BadRequest("Cannot perform '%s' action while server has a pending '%s' task."
                         % (action, vm.task))
    if vm.operstate == "ERROR":
        _refuse("Cannot perform '%s' action while server is in ERROR state." % action, vm)
    power = POWER_STATE_AFTER.get(vm.task, vm.operstate)
    if action == "START" and power != "STOPPED":
        _refuse("Cannot start a server that is not stopped.", vm)
    if action in ("STOP", "REBOOT") and power != "STARTED":
        _refuse("Cannot %s a server that is not started." % action.lower(), vm)
    if action in ("CONNECT", "DISCONNECT", "FIREWALL") and power not in ("STARTED", "STOPPED"):
        _refuse("Cannot perform '%s' action in state %s." % (action, power), vm)


PENDING_FIELDS = ["action", "task", "task_job_id", *JOB_FIELDS_CLEARED]


def run_action(userid, vm_id, action, task, submit, change=None):
    """Validate and record the pending ``task`` (committed: the next GET shows
    it), submit the job with no lock held, then record its id. A failed
    submission puts the previous task back and answers ``ServiceUnavailable``.

    ``action``: the VM's new ``action`` (``None`` keeps it, for FIREWALL);
    ``submit(client, instance_name)`` returns the job id. ``change``, for a
    task that records more than itself (a NIC change, ``networks.connect``),
    is called with the VM row locked each time: ``prepare(vm)`` validates
    (instead of :func:`validate_server_action`) and records what is pending,
    committed with the task; ``record(vm, job_id)`` with the job id;
    ``undo(vm, reached)`` when no job was found, ``reached`` telling whether
    the request may have reached Ganeti all the same."""
    with transaction.atomic():
        vm = get_vm(userid, vm_id, for_update=True)
        if change is None:
            validate_server_action(vm, action or task)
        else:
            change.prepare(vm)
        before = {field: getattr(vm, field) for field in PENDING_FIELDS}
        if action is not None:
            vm.action = action
            for field, value in JOB_FIELDS_CLEARED.items():
                setattr(vm, field, value)
        vm.task, vm.task_job_id = task, None
        vm.save(update_fields=PENDING_FIELDS + ["updated"])
    client, name = None, instance_name(vm.id)
    try:
        client = get_rapi_client(vm.backend)  # an offline backend raises here
        job_id = submit(client, name)
    except (GanetiApiError, ServiceUnavailable) as exc:
        log.error("%s of %s failed: %s", action or task, name, exc)
        reached = outcome.may_have_reached(exc)
        job_id = _lost_answer_job(client, name, task, before["backendjobid"]) if reached else None
        if job_id is None:
            _restore_task(vm.pk, task, before, change, reached)
            if isinstance(exc, ServiceUnavailable):
                raise
            if reached:
                # the effect, if any, still arrives through the update path
                raise outcome.OutcomeUnknown(outcome.describe(exc)) from exc
            raise ServiceUnavailable("Ganeti refused the request: %s" % exc) from exc
        log.info("%s of %s: found its job %s in Ganeti's job list", task, name, job_id)
    except BaseException:
        _restore_task(vm.pk, task, before, change)
        raise
    # The job is submitted: a database failure from here on must not read as "no effect".
    with outage.after_effect("the %s job %s of server %d was submitted to Ganeti and goes "
                             "ahead; check the server before repeating it." % (task, job_id, vm.pk)):
        _record_action_job(vm.pk, task, job_id, change)
        vm.refresh_from_db()
    return vm


def _lost_answer_job(client, name, task, last_job):
    """The job of a ``task`` submission whose answer was lost (it may have
    reached Ganeti), found in the job list after ``last_job``; ``None`` when
    it is not there."""
    opcode = TASK_OPCODES.get(task)
    return outcome.find_job(client, name, opcode, after=last_job) if opcode else None


def _record_action_job(vm_pk, task, job_id, change=None):
    """Store ``job_id`` as the pending task's job, unless another action took
    the task over meanwhile (it records its own job; of two queued jobs of the
    same task, the later one, with the higher id, is waited for), or the job
    already ended (a dispatcher saw it first)."""
    with transaction.atomic():
        vm = VirtualMachine.objects.select_for_update().get(pk=vm_pk)
        if change is not None:  # whoever holds the task now, the job is this change's
            change.record(vm, job_id)
        if vm.task != task or (vm.task_job_id is not None and vm.task_job_id > job_id):
            return
        if vm.backendjobid == job_id and vm.backendjobstatus in FINAL_JOB_STATUSES:
            vm.task, vm.task_job_id = None, None
        else:
            vm.task_job_id = job_id
        vm.save(update_fields=["task", "task_job_id", "updated"])


def _restore_task(vm_pk, task, before, change=None, reached=False):
    """The job was not submitted (or, ``reached``, may have been but is not
    in Ganeti's job list): put back what :func:`run_action` replaced, unless
    another action took the task over meanwhile; ``change`` undoes what it
    recorded in any case."""
    with transaction.atomic():
        vm = VirtualMachine.objects.select_for_update().get(pk=vm_pk)
        if change is not None:
            change.undo(vm, reached)
        if vm.task != task or vm.task_job_id is not None:
            return
        vm.action, vm.task, vm.task_job_id = before["action"], before["task"], before["task_job_id"]
        if vm.backendjobid is None:  # no job message since: the job fields as they were
            for field in JOB_FIELDS_CLEARED:
                setattr(vm, field, before[field])
        elif vm.task_job_id == vm.backendjobid and vm.backendjobstatus in FINAL_JOB_STATUSES:
            vm.task, vm.task_job_id = None, None  # the previous task ended meanwhile
        vm.save(update_fields=PENDING_FIELDS + ["updated"])


def _server_action(userid, vm_id, action, submit):
    return run_action(userid, vm_id, action, ACTION_TASKS[action], submit)


def start(userid, vm_id):
    return _server_action(userid, vm_id, "START", lambda c, name: c.startup_instance(name))


def stop(userid, vm_id):
    return _server_action(userid, vm_id, "STOP", lambda c, name: c.shutdown_instance(name))


def reboot(userid, vm_id, reboot_type="SOFT"):
    if not isinstance(reboot_type, str) or reboot_type.upper() not in ("SOFT", "HARD"):
        raise BadRequest("Malformed Request.")
    kind = reboot_type.lower()
    return _server_action(userid, vm_id, "REBOOT", lambda c, name: c.reboot_instance(name, type=kind))


def destroy(userid, vm_id):
    removed = _destroy_unsubmitted(userid, vm_id)
    if removed is not None:
        return removed
    return _server_action(userid, vm_id, "DESTROY", lambda c, name: c.delete_instance(name))


def _destroy_unsubmitted(userid, vm_id):
    """The server, removed, when its create job was still queued in
    :mod:`synnefo.logic.create_submit` (Ganeti never heard of it); else ``None``."""
    from synnefo.logic import create_submit
    with transaction.atomic():
        vm = get_vm(userid, vm_id, for_update=True)
        validate_server_action(vm, "DESTROY")
        return create_submit.cancel(vm)


# --- operator changes (DB only) --------------------------------------------

def admin_modify(vm, changes):
    """Apply ``changes`` (field -> value) to server ``vm`` in the DB only,
    the row locked; Ganeti is not told. Used by snf-manage server-modify and
    the admin web (suspend / unsuspend). Returns the saved server."""
    with transaction.atomic():
        vm = VirtualMachine.objects.select_for_update().get(pk=vm.pk)
        for field, value in changes.items():
            setattr(vm, field, value)
        vm.save()
    return vm


def set_suspended(vm, suspended):
    """Suspend (or release) ``vm``: a suspended server refuses every user action."""
    return admin_modify(vm, {"suspended": bool(suspended)})


# --- console ------------------------------------------------------------

WILDCARD_ADDRESSES = ("", "0.0.0.0", "::", "[::]")


def _console_endpoint(vm):
    """(host, port) of the instance's VNC server, as Ganeti reports it; a
    server bound to every address is reached at its primary node."""
    client = get_rapi_client(vm.backend)
    name = instance_name(vm.id)
    info = client.get_instance_console(name)
    if info.get("kind") != "vnc":
        detail = info.get("message") or "console kind %r" % info.get("kind")
        raise ServiceUnavailable("The server has no VNC console: Ganeti says: %s" % detail)
    host, port = info.get("host"), info.get("port")
    if host in WILDCARD_ADDRESSES or host is None:
        host = client.get_instance(name).get("pnode")
    if not host or not port:
        raise ServiceUnavailable("Ganeti reports no VNC endpoint for the server.")
    return host, int(port)


def console(userid, vm_id, console_type="vnc"):
    """``{"type", "host", "port", "password"}`` of a one-time console
    (``vnc``, or ``vnc-ws``/``vnc-wss`` for WebSocket clients such as noVNC)."""
    if console_type not in CONSOLE_TYPES:
        raise BadRequest('Type can only be "vnc", "vnc-ws" or "vnc-wss".')
    vm = get_vm(userid, vm_id)
    if vm.deleted:
        raise BadRequest("Server has been deleted.")
    if vm.suspended:
        raise Forbidden("Administratively Suspended VM")
    if vm.operstate != "STARTED":
        raise BadRequest("Server not in ACTIVE state.")
    try:
        host, port = _console_endpoint(vm)
        password = random_password()
        public_host, public_port = get_console_client().open(host, port, password, console_type)
        # a migration while we were setting up would leave the forwarding pointing nowhere
        if (host, port) != _console_endpoint(vm):
            raise ServiceUnavailable("VNC Server settings changed.")
    except GanetiApiError as exc:
        raise ServiceUnavailable("Cannot get the console of the server: %s" % exc)
    return {"type": console_type, "host": public_host, "port": public_port, "password": password}


# --- firewall -----------------------------------------------------------

def firewall_tags():
    return {"ENABLED": settings.GANETI_FIREWALL_ENABLED_TAG,
            "DISABLED": settings.GANETI_FIREWALL_DISABLED_TAG,
            "PROTECTED": settings.GANETI_FIREWALL_PROTECTED_TAG}


def set_firewall_profile(userid, vm_id, profile):
    if profile not in FIREWALL_PROFILES:
        raise BadRequest("Unsupported firewall profile")
    tags = firewall_tags()

    def submit(client, name):
        # Ganeti fails the whole removal when one tag is not on the instance
        # (samples README): remove only the firewall tags it carries.
        carried = set(client.get_instance_tags(name) or [])
        others = [tag for tag in tags.values() if tag in carried and tag != tags[profile]]
        if others:
            client.delete_instance_tags(name, others)
        if tags[profile] not in carried:
            client.add_instance_tags(name, [tags[profile]])
        # A no-op modify so the instance-modify hook reports the new profile.
        os_name = settings.GANETI_CREATEINSTANCE_KWARGS.get("os", "snf-image+default")
        return client.modify_instance(name, os_name=os_name)

    return run_action(userid, vm_id, None, "FIREWALL", submit)


# --- rename and metadata (DB only) ----------------------------------------

def _writable_vm(userid, vm_id):
    vm = get_vm(userid, vm_id, for_update=True)
    if vm.deleted:
        raise BadRequest("Server has been deleted.")
    if vm.suspended:
        raise Forbidden("Administratively Suspended VM")
    return vm


def rename(userid, vm_id, name):
    validation.server_name(name)
    with transaction.atomic():
        vm = _writable_vm(userid, vm_id)
        vm.name = name
        vm.save(update_fields=["name", "updated"])
    return vm


def get_metadata(vm):
    return {m.meta_key: m.meta_value for m in vm.metadata.all()}


def update_metadata(userid, vm_id, items):
    """Upsert ``items``; returns all metadata of the VM."""
    if not isinstance(items, dict):
        raise BadRequest("Malformed request")
    for key, value in items.items():
        validation.metadata_item(key, value)
    with transaction.atomic():
        vm = _writable_vm(userid, vm_id)
        current = get_metadata(vm)
        validation.metadata_count(len(set(current) | set(items)))
        for key, value in items.items():
            VirtualMachineMetadata.objects.update_or_create(vm=vm, meta_key=key,
                                                            defaults={"meta_value": value})
        vm.save(update_fields=["updated"])
        return get_metadata(vm)


def set_metadata_item(userid, vm_id, key, value):
    validation.metadata_item(key, value)
    with transaction.atomic():
        vm = _writable_vm(userid, vm_id)
        current = get_metadata(vm)
        validation.metadata_count(len(set(current) | {key}))
        VirtualMachineMetadata.objects.update_or_create(vm=vm, meta_key=key,
                                                        defaults={"meta_value": value})
        vm.save(update_fields=["updated"])
    return {key: value}


def delete_metadata_item(userid, vm_id, key):
    with transaction.atomic():
        vm = _writable_vm(userid, vm_id)
        deleted, _ = VirtualMachineMetadata.objects.filter(vm=vm, meta_key=key).delete()
        if not deleted:
            raise ItemNotFound("Metadata key not found.")
        vm.save(update_fields=["updated"])
