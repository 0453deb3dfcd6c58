"""Repairs are applied as the Ganeti message that was lost.

Every state change reconciliation makes is a message handed to the
dispatcher's own handlers (:func:`synnefo.logic.callbacks.handle`), so the
transition rules, the ordering guard, the IP pool bookkeeping and the task
bookkeeping are the ones of :mod:`synnefo.logic.state`, never a second copy.
Each repair also leaves a diagnostic on the server (source
``reconciliation``) that says what changed and why.
"""

import datetime

from django.db import transaction
from synnefo.db.models import VirtualMachine, VirtualMachineDiagnostic
from synnefo.logic import callbacks
from synnefo.logic.utils import instance_name, network_name

SOURCE = "reconciliation"


def event_time(moment):
    """A datetime as the ``[seconds, microseconds]`` of Ganeti messages."""
    moment = moment or datetime.datetime.now(datetime.UTC)
    seconds = int(moment.timestamp())
    return [seconds, moment.microsecond]


def op_status(vm_id, opcode, status, when, job_id=0, logmsg=None):
    """Apply an op-status event of server ``vm_id``; returns the handler's outcome."""
    message = {"type": "ganeti-op-status", "instance": instance_name(vm_id), "operation": opcode,
               "status": status, "jobId": int(job_id or 0), "event_time": when}
    if logmsg is not None:
        message["logmsg"] = logmsg
    return callbacks.handle(message)


def net_status(vm_id, nics, when):
    """Apply a net-status event (the server's NICs as Ganeti has them)."""
    return callbacks.handle({"type": "ganeti-net-status", "instance": instance_name(vm_id),
                             "nics": nics, "event_time": when})


def network_status(network_id, cluster, opcode, status, when, job_id=0):
    """Apply a network-status event of network ``network_id`` on ``cluster``."""
    return callbacks.handle({"type": "ganeti-network-status", "network": network_name(network_id),
                             "cluster": cluster, "operation": opcode, "status": status,
                             "jobId": int(job_id or 0), "event_time": when})


def diagnose(vm_id, text, details=None, level="WARNING"):
    """Leave ``text`` on the server: what reconciliation changed and why."""
    with transaction.atomic():
        vm = VirtualMachine.objects.select_for_update().filter(pk=vm_id).first()
        if vm is None:
            return
        VirtualMachineDiagnostic.objects.create(
            machine=vm, level=level, source=SOURCE,
            source_date=datetime.datetime.now(datetime.UTC),
            message=("Reconciliation: %s" % text)[:255], details=details)
        vm.save(update_fields=["updated"])  # the server's answer changed: changes-since sees it
