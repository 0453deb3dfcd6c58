"""What one Ganeti backend reports, read once per reconciliation run.

One bulk instance list per backend (``GET /2/instances?bulk=1``); networks,
node groups and single jobs only when a check needs them, each read at most
once. ``taken_at`` is when the first list was read: a repair is applied
as an event of that moment, so any job that ends after it (a user action
racing with reconciliation) still wins through the ordering guard.
"""

import datetime

from synnefo.logic import backends as backend_mod
from synnefo.logic.callbacks import network_id_of
from synnefo.logic.errors import ServiceUnavailable
from synnefo.logic.state import FINAL_JOB_STATUSES
from synnefo.logic.utils import vm_id_of
from synnefo.rapi import GanetiApiError

UNREACHABLE = (GanetiApiError, ServiceUnavailable, OSError)


class BackendUnreachable(Exception):
    """The backend did not answer (or is offline)."""


class BackendView:
    def __init__(self, backend):
        self.backend = backend
        self._instances = None
        self._networks = None
        self._groups = None
        self._jobs = {}
        self.taken_at = None

    @property
    def client(self):
        try:
            return backend_mod.get_rapi_client(self.backend)
        except ServiceUnavailable as exc:
            raise BackendUnreachable(str(exc)) from exc

    def _call(self, method, *args):
        try:
            return getattr(self.client, method)(*args)
        except UNREACHABLE as exc:
            raise BackendUnreachable("%s: %s" % (method, exc)) from exc

    # -- instances ---------------------------------------------------------

    def _reading(self):
        if self.taken_at is None:
            self.taken_at = datetime.datetime.now(datetime.UTC)

    def instances(self):
        """``{instance name: bulk view}``."""
        if self._instances is None:
            self._reading()
            answer = self._call("get_instances", True) or []
            self._instances = {inst["name"]: inst for inst in answer if isinstance(inst, dict)}
        return self._instances

    def ours(self):
        """``{vm id: bulk view}`` of the instances named ``<prefix><id>``."""
        result = {}
        for name, inst in self.instances().items():
            vm_id = vm_id_of(name)
            if vm_id is not None:
                result[vm_id] = inst
        return result

    # -- networks and groups ---------------------------------------------------

    def networks(self):
        """``{network id: bulk view}`` of our Ganeti networks (``<prefix>net-<id>``)."""
        if self._networks is None:
            self._reading()
            answer = self._call("get_networks", True) or []
            self._networks = {}
            for net in answer:
                net_id = network_id_of(net.get("name")) if isinstance(net, dict) else None
                if net_id is not None:
                    self._networks[net_id] = net
        return self._networks

    def groups(self):
        if self._groups is None:
            self._groups = list(self._call("get_groups") or [])
        return self._groups

    # -- jobs ----------------------------------------------------------------

    def job(self, job_id):
        """The job's RAPI view, or ``None`` when Ganeti does not know it."""
        if job_id is None:
            return None
        if job_id not in self._jobs:
            try:
                self._jobs[job_id] = self.client.get_job(job_id)
            except GanetiApiError as exc:
                if exc.code is None or exc.code >= 500:
                    raise BackendUnreachable("get_job %s: %s" % (job_id, exc)) from exc
                self._jobs[job_id] = None  # unknown job (null fields, 404)
            except (ServiceUnavailable, OSError) as exc:
                raise BackendUnreachable("get_job %s: %s" % (job_id, exc)) from exc
        return self._jobs[job_id]


def job_status(job):
    return (job or {}).get("status")


def job_is_final(job):
    return job_status(job) in FINAL_JOB_STATUSES


def job_opcode(job):
    ops = (job or {}).get("ops") or []
    if ops and isinstance(ops[0], dict):
        return ops[0].get("OP_ID")
    return None


def job_end_time(job):
    """The job's end time (``[s, us]``), falling back to its start/receive time."""
    for key in ("end_ts", "start_ts", "received_ts"):
        value = (job or {}).get(key)
        if isinstance(value, (list, tuple)) and len(value) == 2:
            return [int(value[0]), int(value[1])]
    return None


def job_error(job):
    """A one-line error of a failed job (its first op's result)."""
    for result in (job or {}).get("opresult") or []:
        if isinstance(result, list) and len(result) == 2:
            kind, detail = result
            if isinstance(detail, list) and detail:
                detail = detail[0]
            return "%s: %s" % (kind, detail)
    return None
