"""``GanetiRapiClient``: one method per RAPI resource Cyclades uses.

GETs return Ganeti's decoded JSON (list calls without ``bulk`` return plain
names / job ids); job-submitting calls return the job id as ``int``.
"""

import logging
import time
from urllib.parse import quote

from synnefo.rapi.errors import GanetiApiError, GanetiConnectionError, GanetiJobTimeout, GanetiNotFound
from synnefo.rapi.transport import Transport

log = logging.getLogger(__name__)

JOB_STATUS_SUCCESS = "success"
JOB_STATUS_ERROR = "error"
JOB_STATUS_CANCELED = "canceled"
JOB_FINAL_STATUSES = frozenset([JOB_STATUS_SUCCESS, JOB_STATUS_ERROR, JOB_STATUS_CANCELED])

_POLL_PAUSE = 0.2  # pause when a wait answer brings no status change
# Ganeti holds a /wait request up to ~10 s; allow at least this long per long-poll
# whatever the client's (shorter) default timeout is.
LONG_POLL_TIMEOUT = 15


def _seg(name):
    """Quote one path segment (instance, network... names)."""
    return quote(str(name), safe="")


def _job_id(answer):
    try:
        return int(answer)
    except (TypeError, ValueError):
        raise GanetiApiError("expected a job id from Ganeti, got %r" % (answer,))


def _names(answer):
    """Non-bulk list answers are ``[{"id"|"name": ..., "uri": ...}]`` (instances,
    nodes and jobs use ``id``; groups and networks ``name``): keep the ids."""
    result = []
    for item in answer or []:
        if isinstance(item, dict):
            item = item["id"] if "id" in item else item.get("name")
        result.append(item)
    return result


class GanetiRapiClient:
    """Client for one Ganeti cluster's RAPI (``https://host:port/2/...``).

    ``verify``: True (system CAs), False, or a CA file path; ``fingerprint``
    pins the server certificate (SHA-256 hex, colons optional) instead.
    ``dry_run``: add ``dry-run=1`` to every job-submitting call (tests).
    ``retries``/``backoff``: GET retry policy on connection errors.
    """

    def __init__(self, host, port=5080, username=None, password=None, verify=True,
                 fingerprint=None, timeout=30, retries=3, backoff=0.2, dry_run=False):
        self.host = host
        self.port = port
        self.username = username
        self.dry_run = dry_run
        self.transport = Transport(host, port, username, password, verify=verify,
                                   fingerprint=fingerprint, timeout=timeout,
                                   retries=retries, backoff=backoff)

    def __repr__(self):
        return "<GanetiRapiClient %s>" % self.transport.base_url

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.transport.close()

    # -- plumbing ----------------------------------------------------------

    def _get(self, path, query=None, body=None, timeout=None):
        return self.transport.request("GET", path, query, body, timeout=timeout)

    def _submit(self, method, path, query=None, body=None):
        """A job-submitting call (never retried); returns the job id."""
        query = dict(query or {})
        if self.dry_run:
            query["dry-run"] = True
        return _job_id(self.transport.request(method, path, query, body))

    # -- cluster -----------------------------------------------------------

    def get_info(self):
        return self._get("/info")

    def get_features(self):
        """Cluster feature list; ``[]`` for a RAPI that predates ``/2/features``."""
        try:
            return self._get("/features") or []
        except GanetiNotFound:
            return []

    def modify_cluster(self, **body):
        return self._submit("PUT", "/modify", body=body)

    def get_nodes(self, bulk=False):
        answer = self._get("/nodes", {"bulk": True} if bulk else None)
        return answer if bulk else _names(answer)

    def get_node(self, name):
        return self._get("/nodes/%s" % _seg(name))

    def get_groups(self, bulk=False):
        answer = self._get("/groups", {"bulk": True} if bulk else None)
        return answer if bulk else _names(answer)

    def get_group(self, name):
        return self._get("/groups/%s" % _seg(name))

    def get_cluster_tags(self):
        return self._get("/tags")

    def add_cluster_tags(self, tags):
        return self._submit("PUT", "/tags", {"tag": list(tags)})

    def delete_cluster_tags(self, tags):
        return self._submit("DELETE", "/tags", {"tag": list(tags)})

    # -- instances ---------------------------------------------------------

    def get_instances(self, bulk=False):
        answer = self._get("/instances", {"bulk": True} if bulk else None)
        return answer if bulk else _names(answer)

    def get_instance(self, name):
        return self._get("/instances/%s" % _seg(name))

    def create_instance(self, **body):
        """POST /2/instances (request version 1); ``mode`` defaults to
        ``create``: Ganeti 3.0 refuses a body without it."""
        body = dict(body)
        body["__version__"] = 1
        body.setdefault("mode", "create")
        return self._submit("POST", "/instances", body=body)

    def delete_instance(self, name):
        return self._submit("DELETE", "/instances/%s" % _seg(name))

    def startup_instance(self, name):
        return self._submit("PUT", "/instances/%s/startup" % _seg(name))

    def shutdown_instance(self, name, timeout=None):
        """``timeout``: Ganeti's shutdown timeout in seconds (not the HTTP timeout)."""
        body = {} if timeout is None else {"timeout": int(timeout)}
        return self._submit("PUT", "/instances/%s/shutdown" % _seg(name), body=body)

    def reboot_instance(self, name, type="soft"):  # noqa: A002 - Ganeti's parameter name
        if type not in ("soft", "hard", "full"):
            raise ValueError("reboot type must be soft, hard or full, not %r" % (type,))
        return self._submit("POST", "/instances/%s/reboot" % _seg(name), {"type": type})

    def modify_instance(self, name, **body):
        return self._submit("PUT", "/instances/%s/modify" % _seg(name), body=body)

    def rename_instance(self, name, new_name, ip_check=False, name_check=False):
        body = {"new_name": new_name, "ip_check": ip_check, "name_check": name_check}
        return self._submit("PUT", "/instances/%s/rename" % _seg(name), body=body)

    def get_instance_console(self, name):
        return self._get("/instances/%s/console" % _seg(name))

    def get_instance_tags(self, name):
        return self._get("/instances/%s/tags" % _seg(name))

    def add_instance_tags(self, name, tags):
        return self._submit("PUT", "/instances/%s/tags" % _seg(name), {"tag": list(tags)})

    def delete_instance_tags(self, name, tags):
        return self._submit("DELETE", "/instances/%s/tags" % _seg(name), {"tag": list(tags)})

    # -- jobs --------------------------------------------------------------

    def get_jobs(self, bulk=False):
        answer = self._get("/jobs", {"bulk": True} if bulk else None)
        return answer if bulk else [int(i) for i in _names(answer)]

    def get_job(self, job_id):
        """Job status dict. Ganeti answers 200 with null fields for an unknown
        job: that raises ``GanetiNotFound`` (code 404) here."""
        job_id = int(job_id)
        answer = self._get("/jobs/%d" % job_id)
        if not isinstance(answer, dict) or answer.get("status") is None:
            raise GanetiNotFound("job %d is not known to the cluster" % job_id, 404,
                                 "Ganeti answered with null fields")
        return answer

    def wait_for_job_change(self, job_id, fields, previous_job_info, previous_log_serial, timeout=None):
        """One long-poll of ``/2/jobs/<id>/wait``: ``{"job_info": [...],
        "log_entries": [...]}``, or ``None`` if nothing changed in Ganeti's
        own wait period. ``timeout`` overrides the HTTP timeout."""
        body = {
            "fields": list(fields),
            "previous_job_info": previous_job_info,
            "previous_log_serial": previous_log_serial,
        }
        return self._get("/jobs/%d/wait" % int(job_id), body=body, timeout=timeout)

    def cancel_job(self, job_id):
        return self.transport.request("DELETE", "/jobs/%d" % int(job_id))

    def wait_for_job(self, job_id, timeout):
        """Block until the job is final; return its status (``success``,
        ``error`` or ``canceled``). Raises ``GanetiJobTimeout`` after
        ``timeout`` seconds, ``GanetiNotFound`` for an unknown job."""
        job_id = int(job_id)
        deadline = time.monotonic() + timeout
        job_info, log_serial, status, last_error = None, None, None, None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            cap = max(self.transport.timeout or 0, LONG_POLL_TIMEOUT)
            http_timeout = max(0.5, min(cap, remaining + 1.0))
            try:
                answer = self.wait_for_job_change(job_id, ["status"], job_info, log_serial,
                                                  timeout=http_timeout)
            except GanetiConnectionError as exc:
                if exc.timed_out:
                    last_error = exc
                    continue  # a long-poll that outlived our HTTP timeout: poll again
                raise
            changed = False
            if isinstance(answer, dict) and answer.get("job_info"):
                new_status = answer["job_info"][0]
                if new_status is None:
                    raise GanetiNotFound("job %d is not known to the cluster" % job_id, 404, None)
                changed = new_status != status
                status, job_info = new_status, answer["job_info"]
                for entry in answer.get("log_entries") or []:
                    if entry and isinstance(entry[0], int):
                        log_serial = max(log_serial or 0, entry[0])
                if status in JOB_FINAL_STATUSES:
                    return status
            if not changed:
                time.sleep(min(_POLL_PAUSE, max(0.0, deadline - time.monotonic())))
        raise GanetiJobTimeout("job %d not finished after %ss (last status: %s)" % (job_id, timeout, status),
                               job_id=job_id, last_status=status) from last_error

    # -- networks ----------------------------------------------------------

    def get_networks(self, bulk=False):
        answer = self._get("/networks", {"bulk": True} if bulk else None)
        return answer if bulk else _names(answer)

    def get_network(self, name):
        return self._get("/networks/%s" % _seg(name))

    def create_network(self, **body):
        return self._submit("POST", "/networks", body=body)

    def connect_network(self, name, group_name, mode, link, depends=None, conflicts_check=None):
        body = {"group_name": group_name, "network_mode": mode, "network_link": link}
        if depends is not None:
            body["depends"] = depends
        if conflicts_check is not None:
            body["conflicts_check"] = conflicts_check
        return self._submit("PUT", "/networks/%s/connect" % _seg(name), body=body)

    def disconnect_network(self, name, group_name, depends=None):
        body = {"group_name": group_name}
        if depends is not None:
            body["depends"] = depends
        return self._submit("PUT", "/networks/%s/disconnect" % _seg(name), body=body)

    def delete_network(self, name, depends=None):
        body = {"depends": depends} if depends is not None else None
        return self._submit("DELETE", "/networks/%s" % _seg(name), body=body)

    def modify_network(self, name, **body):
        return self._submit("PUT", "/networks/%s/modify" % _seg(name), body=body)

    def get_network_tags(self, name):
        return self._get("/networks/%s/tags" % _seg(name))

    def add_network_tags(self, name, tags):
        return self._submit("PUT", "/networks/%s/tags" % _seg(name), {"tag": list(tags)})

    def delete_network_tags(self, name, tags):
        return self._submit("DELETE", "/networks/%s/tags" % _seg(name), {"tag": list(tags)})
