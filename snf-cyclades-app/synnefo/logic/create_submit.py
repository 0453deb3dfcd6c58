"""Create jobs submitted to Ganeti after POST /servers has answered.

Why (issue 12 item 5, ``docs/benchmarks.rst``, "Creates"): a create used to
hold its API thread for the whole RAPI submission, so that N creates in
flight waited in line behind the API's threads and the POST latency grew with
N. Now the request commits, in one transaction, the server (BUILD, its
address, the limit check: :func:`synnefo.logic.servers.create`) and a
:class:`~synnefo.db.models.CreateSubmission` row holding the encrypted
CreateInstance body, and answers 202. Then:

* :func:`schedule` hands the server to this process's submitter threads
  (``CREATE_SUBMIT_THREADS``; 0: submitted at once in the calling thread);
* :func:`submit` claims the row (a conditional UPDATE: one claimant at a
  time, for ``LEASE`` seconds), submits, and records the outcome under the
  server's row lock, deleting the row in the same transaction: the job id
  (as the synchronous path does); on a definite refusal the server goes to
  ERROR with Ganeti's reason, its address back to the pool and the backend
  uncharged; when the answer was lost (``synnefo.logic.outcome``) the job is
  looked up in Ganeti's job list, and if it is not there the server keeps
  BUILD and its address for reconciliation to decide;
* :class:`Sweeper` (a thread of every ``snf-dispatcher``) submits the rows
  an API process left behind: unclaimed for ``ORPHAN_AFTER`` seconds (the
  process stopped before its threads took them) or whose claim expired (it
  stopped during the submission). A row claimed before is submitted only
  after Ganeti's job list shows no create job of its instance.
* :func:`cancel`: a DELETE of a server whose job is still queued here
  removes the row and the server without asking Ganeti; while the job is
  being sent, it answers BuildInProgress.
* Reconciliation leaves servers with a row alone (:func:`queued_ids`).
"""

import datetime
import json
import logging
import os
import queue
import threading

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from synnefo.db import secrets
from synnefo.db.models import CreateSubmission, VirtualMachine, VirtualMachineDiagnostic
from synnefo.logic import allocators, backends, outcome
from synnefo.logic.errors import BuildInProgress
from synnefo.logic.utils import instance_name

log = logging.getLogger(__name__)

LEASE = datetime.timedelta(seconds=60)  # far above a submission's RAPI budget
ORPHAN_AFTER = datetime.timedelta(seconds=30)
SOURCE = "create-submit"


# --- the row -------------------------------------------------------------

def record(vm, payload, charged):
    """In the create's transaction: the job to submit for ``vm``."""
    CreateSubmission.objects.create(machine=vm, payload=secrets.encrypt(json.dumps(payload)),
                                    charged=charged)


def _unclaimed(now):
    return Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)


def claim(vm_id):
    """The row of ``vm_id``, claimed for ``LEASE``; ``None`` when it is gone
    or another submitter holds it."""
    now = timezone.now()
    taken = CreateSubmission.objects.filter(_unclaimed(now), pk=vm_id).update(
        claimed_until=now + LEASE, attempts=F("attempts") + 1)
    if taken != 1:
        return None
    return CreateSubmission.objects.select_related("machine__backend", "machine__flavor").get(pk=vm_id)


def queued_ids(backend_id=None):
    """Ids of the servers whose create job is not submitted yet."""
    query = CreateSubmission.objects.all()
    if backend_id is not None:
        query = query.filter(machine__backend_id=backend_id)
    return set(query.values_list("machine_id", flat=True))


def orphans(now=None):
    """Ids of the rows the sweeper takes: left unclaimed too long, or whose claim expired."""
    now = now or timezone.now()
    return list(CreateSubmission.objects.filter(
        Q(claimed_until__isnull=True, created__lt=now - ORPHAN_AFTER) | Q(claimed_until__lt=now))
        .order_by("machine_id").values_list("machine_id", flat=True))


# --- submitting -------------------------------------------------------------

def submit(vm_id):
    """Claim, submit and record the create job of ``vm_id``. Returns
    ``"submitted"``, ``"failed"`` (ERROR), ``"unknown"`` (left to
    reconciliation) or ``"skipped"`` (no row, or claimed elsewhere).

    A database error propagates and leaves the row claimed: once the claim
    expires the sweeper tries again, after reading Ganeti's job list."""
    row = claim(vm_id)
    if row is None:
        return "skipped"
    vm = row.machine
    name = instance_name(vm.id)
    job_id, failure, client = None, None, None
    try:
        client = backends.get_rapi_client(vm.backend)  # an offline backend raises here
        if row.attempts > 1:  # an earlier claimant may have sent it
            job_id = outcome.find_job(client, name, "OP_INSTANCE_CREATE")
        if job_id is None:
            payload = json.loads(secrets.decrypt(row.payload, what="the create job of %s" % name))
            from synnefo.logic.servers import masked
            log.info("Creating instance %s on %s: %s", name, vm.backend, masked(payload))
            job_id = client.create_instance(**payload)
    except Exception as exc:  # noqa: BLE001 - every failure has an outcome below
        from synnefo.logic.servers import SUBMIT_ERRORS
        log.error("Create of %s on %s failed: %s", name, vm.backend, exc,
                  exc_info=not isinstance(exc, SUBMIT_ERRORS))
        failure = exc
    unknown = failure is not None and outcome.may_have_reached(failure)
    if unknown:
        job_id = outcome.find_job(client, name, "OP_INSTANCE_CREATE")
    return _record(row, job_id, failure, unknown)


def _record(row, job_id, failure, unknown):
    from synnefo.logic import servers
    with transaction.atomic():
        locked = VirtualMachine.objects.select_for_update().get(pk=row.machine_id)
        if job_id is not None:
            servers._record_create_job(locked, job_id)
            result = "submitted"
        elif unknown:
            servers._keep_unknown_create(locked, failure)
            result = "unknown"
        else:
            _fail(locked, row, failure)
            result = "failed"
        CreateSubmission.objects.filter(pk=row.pk).delete()
    return result


def _fail(locked, row, exc):
    """Ganeti refused the create (or it could not be sent): the (locked)
    server goes to ERROR with the reason, its address back to its pool,
    the backend uncharged. The server stays, counted by the limit, until its
    owner deletes it, as after a failed create job."""
    from synnefo.logic import callbacks
    reason = ("Create job could not be submitted: %s" % exc)[:1000]
    locked.operstate = "ERROR"
    locked.task, locked.task_job_id = None, None
    locked.backendopcode, locked.backendjobstatus, locked.backendlogmsg = (
        "OP_INSTANCE_CREATE", "error", reason)
    locked.save()
    VirtualMachineDiagnostic.objects.create(machine=locked, level="ERROR", source=SOURCE,
                                            message=reason[:255], details=str(exc))
    # Lock order as in create: backend row before pool rows.
    if row.charged and locked.backend_id is not None:
        allocators.uncharge(locked.backend_id, allocators.vm_size(locked.flavor))
    callbacks.abandon_pending_nics(locked, "OP_INSTANCE_CREATE", None)


def cancel(vm):
    """DELETE of ``vm`` (locked by the caller, in its transaction): when its
    create job is still queued here, the row goes and so does the server,
    without asking Ganeti (address back, backend uncharged); returns the
    server. ``None`` when it has no row. Raises ``BuildInProgress`` while a
    submitter is sending the job (the DELETE could reach Ganeti first), or
    until the sweeper settles a claim that expired."""
    from synnefo.logic import callbacks
    # Never claimed: Ganeti cannot have it (a claim that expired may have sent
    # it: the sweeper finds out first).
    never_claimed = CreateSubmission.objects.filter(pk=vm.pk, claimed_until__isnull=True, attempts=0)
    row = never_claimed.first()
    if row is None or not never_claimed.delete()[0]:
        if CreateSubmission.objects.filter(pk=vm.pk).exists():
            raise BuildInProgress("The server's create request is being sent to Ganeti: "
                                  "try again in a moment.")
        return None
    vm.deleted, vm.operstate, vm.action = True, "DESTROYED", "DESTROY"
    vm.task, vm.task_job_id = None, None
    vm.backendlogmsg = "Deleted before its create job was sent to Ganeti"
    vm.save()
    if row.charged and vm.backend_id is not None:
        allocators.uncharge(vm.backend_id, allocators.vm_size(vm.flavor))
    callbacks.release_vm_nics(vm)
    return vm


# --- where submit runs -------------------------------------------------------

class SubmitPool:
    """``size`` daemon threads submitting the ids put on a queue."""

    def __init__(self, size):
        self.size = size
        self.queue = queue.Queue()
        self.pid = os.getpid()
        self.threads = [threading.Thread(target=self._work, name="create-submit-%d" % i, daemon=True)
                        for i in range(size)]
        for thread in self.threads:
            thread.start()

    def put(self, vm_id):
        self.queue.put(vm_id)

    def join(self):
        """Wait until every id put so far is done (tests, shutdown)."""
        self.queue.join()

    def _work(self):
        while True:
            vm_id = self.queue.get()
            try:
                submit_logged(vm_id)
            finally:
                self.queue.task_done()


def submit_logged(vm_id, own_connection=True):
    """:func:`submit`, any exception logged (the row waits for the sweeper).
    ``own_connection``: the calling thread owns its database connection (a
    submitter or the sweeper), which is closed after a failure; a request
    (``CREATE_SUBMIT_THREADS = 0``) leaves its connection to Django."""
    try:
        return submit(vm_id)
    except Exception:  # noqa: BLE001 - a submitter thread outlives any one failure
        log.exception("Create of server %s not submitted; the sweeper will retry", vm_id)
        if own_connection:
            try:
                connection.close()  # a broken connection must not serve the next one
            except DatabaseError:
                pass
        return "error"


_pool = None
_pool_lock = threading.Lock()


def pool():
    """This process's pool (started on first use, again after a fork)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool.pid != os.getpid() or _pool.size != settings.CREATE_SUBMIT_THREADS:
            _pool = SubmitPool(settings.CREATE_SUBMIT_THREADS)
        return _pool


def schedule(vm_id):
    """Submit the (committed) create of ``vm_id``: by this process's
    submitter threads, or at once when ``CREATE_SUBMIT_THREADS`` is 0."""
    if settings.CREATE_SUBMIT_THREADS <= 0:
        return submit_logged(vm_id, own_connection=False)
    pool().put(vm_id)
    return "queued"


# --- the sweeper (snf-dispatcher) --------------------------------------------------

def sweep():
    """Submit every orphaned row; returns ``{vm_id: result}``."""
    return {vm_id: submit_logged(vm_id) for vm_id in orphans()}


class Sweeper(threading.Thread):
    """A daemon thread of ``snf-dispatcher``: :func:`sweep` every
    ``CREATE_SUBMIT_SWEEP_INTERVAL`` seconds until ``stop_event`` is set."""

    def __init__(self, stop_event, interval=None):
        super().__init__(name="create-sweeper", daemon=True)
        self.stop_event = stop_event
        self.interval = settings.CREATE_SUBMIT_SWEEP_INTERVAL if interval is None else interval

    def run(self):
        while not self.stop_event.wait(self.interval):
            try:
                done = sweep()
                if done:
                    log.info("Submitted %d create jobs left behind: %s", len(done), done)
            except DatabaseError as exc:
                log.warning("Create sweep skipped: %s", exc)
                connection.close()
            except Exception:  # noqa: BLE001 - the thread must outlive any one failure
                log.exception("Create sweep failed")
