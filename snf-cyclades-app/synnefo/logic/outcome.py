"""Job submissions whose outcome is unknown (issue 10 item 5).

A RAPI call that timed out waiting for its answer, or whose connection was
lost after the request was sent, may have queued a job in Ganeti all the
same. Such a failure is never undone blindly (the server would be marked
destroyed and its address handed to the next server while Ganeti goes on to
create the instance): the caller looks the job up in Ganeti's job list by
opcode and instance name, and when it cannot find it, keeps every resource
and leaves the verdict to reconciliation (``snf-manage reconcile-servers``).
"""

import logging
import re

from synnefo.logic.errors import ServiceUnavailable
from synnefo.rapi import GanetiApiError

log = logging.getLogger(__name__)

SUMMARY_RE = re.compile(r"^([A-Z0-9_]+)\((.*)\)$")


class OutcomeUnknown(ServiceUnavailable):
    """The request may or may not have reached Ganeti and no job of it was
    found: the resources it took are kept until reconciliation decides."""


def may_have_reached(exc):
    """Could the failed request ``exc`` have been received by Ganeti?"""
    return bool(getattr(exc, "may_have_reached", False))


def find_job(client, instance, opcode, after=None):
    """Id of the newest job in ``client``'s job list whose first op is
    ``opcode`` on ``instance`` (and whose id is above ``after``), or
    ``None`` (not found, or the list itself cannot be read)."""
    wanted = opcode[3:] if opcode.startswith("OP_") else opcode
    try:
        jobs = client.get_jobs(bulk=True) or []
    except GanetiApiError as exc:
        log.warning("Cannot read the job list to find the %s of %s: %s", opcode, instance, exc)
        return None
    found = None
    for job in jobs:
        summary = (job.get("summary") or [""])[0] if isinstance(job, dict) else ""
        match = SUMMARY_RE.match(summary or "")
        if not match or match.group(1) != wanted or match.group(2) != instance:
            continue
        job_id = int(job["id"])
        if (after is None or job_id > after) and (found is None or job_id > found):
            found = job_id
    return found


def describe(exc):
    return ("Ganeti may have received the request but its answer was lost (%s); "
            "the outcome is left to reconciliation" % exc)
