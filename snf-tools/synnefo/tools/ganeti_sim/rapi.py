"""The RAPI v2 request handler: auth, routing, JSON in and out, Ganeti's errors.

Reads answer from :class:`~.cluster.Cluster` views; changes become jobs
through :mod:`.opcodes` and :class:`~.jobs.JobQueue`. ``/sim/config`` is the
simulator's own resource (job duration, failure rules).
"""

import base64
import binascii
import hmac
import json
import logging
import re
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, unquote, urlsplit

from synnefo.tools.ganeti_sim import opcodes
from synnefo.tools.ganeti_sim.errors import RapiError
from synnefo.tools.ganeti_sim.jobs import KNOWN_JOB_FIELDS

log = logging.getLogger(__name__)

FEATURES = ["instance-create-reqv1", "instance-reinstall-reqv1", "node-migrate-reqv1", "node-evac-res1"]
MAX_BODY = 4 * 1024 * 1024
WRITE_METHODS = ("PUT", "POST", "DELETE")


class Route:
    def __init__(self, pattern, **methods):
        self.regex = re.compile("^" + pattern + "$")
        self.methods = methods


def not_found(what, name):
    return RapiError(404, "%s '%s' not known" % (what, name), "unknown_entity")


class RapiHandler(BaseHTTPRequestHandler):
    """One instance per request; ``self.server`` carries ``cluster``, ``queue``,
    ``config`` and ``users`` ({name: (password, can_write)})."""

    server_version = "snf-ganeti-sim"
    protocol_version = "HTTP/1.1"

    # -- plumbing ----------------------------------------------------------

    def log_message(self, fmt, *args):
        log.debug("%s %s", self.address_string(), fmt % args)

    def do_GET(self):
        self._dispatch("GET")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_POST(self):
        self._dispatch("POST")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def do_PATCH(self):
        self._dispatch("PATCH")

    def do_HEAD(self):
        self._dispatch("HEAD")

    def _dispatch(self, method):
        try:
            body = self._read_body()
            parts = urlsplit(self.path)
            self.query = {k: v for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            handler, args = self._route(parts.path, method)
            self._authenticate(method)
            answer = handler(self, *args, body)
            self._send(200, answer)
        except RapiError as exc:
            if exc.status in (400, 413) and self.headers.get("Content-Length") and not self._body_read:
                self.close_connection = True  # the body was not consumed
            if exc.status >= 500:
                log.error("%s %s: %s", method, self.path, exc.message)
            self._send(exc.status, exc.body(), exc.headers)
        except Exception as exc:  # noqa: BLE001 - any bug becomes a 500, never a dropped connection
            log.exception("%s %s failed", method, self.path)
            self._send(500, {"code": 500, "message": "Internal error: %s" % exc, "explain": None})

    def _read_body(self):
        self._body_read = False
        length = self.headers.get("Content-Length")
        if not length:
            return None
        try:
            length = int(length)
        except ValueError:
            raise RapiError(400, "Invalid Content-Length header") from None
        if length < 0 or length > MAX_BODY:
            raise RapiError(413, "Request body too large")
        raw = self.rfile.read(length)
        self._body_read = True
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise RapiError(400, "Unable to parse JSON data", str(exc)) from None

    def _send(self, status, data, headers=None):
        payload = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _route(self, path, method):
        for route in ROUTES:
            match = route.regex.match(path)
            if match:
                handler = route.methods.get(method)
                if handler is None:
                    allowed = ", ".join(sorted(route.methods))
                    raise RapiError(405, "Method %s is unsupported for this resource" % method,
                                    "allowed: %s" % allowed, headers={"Allow": allowed})
                return handler, [unquote(g) for g in match.groups()]
        raise RapiError(404, "Resource not found: %s" % path)

    def _authenticate(self, method):
        challenge = {"WWW-Authenticate": 'Basic realm="Ganeti Remote API"'}
        header = self.headers.get("Authorization") or ""
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic" or not encoded:
            raise RapiError(401, "Unauthorized", "authentication required", headers=challenge)
        try:
            user, _, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise RapiError(401, "Unauthorized", "malformed credentials", headers=challenge) from None
        known = self.server.users.get(user)
        if known is None or not hmac.compare_digest(known[0].encode(), password.encode()):
            raise RapiError(401, "Unauthorized", "bad user name or password", headers=challenge)
        if method in WRITE_METHODS and not known[1]:
            raise RapiError(403, "Forbidden", "user %s may not make changes" % user)

    def q(self, name, default=None):
        values = self.query.get(name)
        return values[-1] if values else default

    def bulk(self):
        return self.q("bulk") not in (None, "", "0", "false", "False")

    def submit(self, op_input, resource):
        return self.server.queue.submit(op_input, resource)

    @property
    def flat_query(self):
        return {key: values[-1] for key, values in self.query.items()}

    # -- cluster -----------------------------------------------------------

    def get_version(self, body):
        return 2

    def get_root(self, body):
        return []

    def get_info(self, body):
        with self.server.cluster.lock:
            return self.server.cluster.info()

    def get_features(self, body):
        return list(FEATURES)

    def get_os(self, body):
        return ["%s+default" % name for name in self.server.cluster.os_names]

    def put_modify(self, body):
        return self.submit(opcodes.cluster_set_params(body, self.flat_query), "cluster_modify")

    def get_cluster_tags(self, body):
        with self.server.cluster.lock:
            return list(self.server.cluster.tags)

    def put_cluster_tags(self, body):
        return self._tags("OP_TAGS_SET", "cluster", None, "tags")

    def delete_cluster_tags(self, body):
        return self._tags("OP_TAGS_DEL", "cluster", None, "tags")

    def _tags(self, op_id, kind, name, resource):
        op = opcodes.tags_change(op_id, kind, name, self.query.get("tag") or [], self.flat_query)
        return self.submit(op, resource)

    def get_nodes(self, body):
        cluster = self.server.cluster
        with cluster.lock:
            if self.bulk():
                return [cluster.node_view()]
            return [{"id": cluster.node_name, "uri": "/2/nodes/%s" % cluster.node_name}]

    def get_node(self, name, body):
        cluster = self.server.cluster
        with cluster.lock:
            if name != cluster.node_name:
                raise not_found("Node", name)
            return cluster.node_view()

    def get_groups(self, body):
        cluster = self.server.cluster
        with cluster.lock:
            if self.bulk():
                return [cluster.group_view()]
            return [{"name": "default", "uri": "/2/groups/default"}]

    def get_group(self, name, body):
        cluster = self.server.cluster
        with cluster.lock:
            if name != "default":
                raise not_found("Group", name)
            return cluster.group_view()

    # -- instances ---------------------------------------------------------

    def _instance(self, name):
        inst = self.server.cluster.instances.get(name)
        if inst is None:
            raise not_found("Instance", name)
        return inst

    def get_instances(self, body):
        cluster = self.server.cluster
        with cluster.lock:
            names = sorted(cluster.instances)
            if self.bulk():
                return [cluster.instance_view(cluster.instances[n]) for n in names]
            return [{"id": n, "uri": "/2/instances/%s" % n} for n in names]

    def post_instances(self, body):
        return self.submit(opcodes.instance_create(body, self.flat_query), "instances")

    def get_instance(self, name, body):
        with self.server.cluster.lock:
            return self.server.cluster.instance_view(self._instance(name))

    def delete_instance(self, name, body):
        return self.submit(opcodes.instance_remove(name, body, self.flat_query), "instances_name")

    def put_startup(self, name, body):
        return self.submit(opcodes.instance_startup(name, body, self.flat_query), "instances_name_startup")

    def put_shutdown(self, name, body):
        return self.submit(opcodes.instance_shutdown(name, body, self.flat_query), "instances_name_shutdown")

    def post_reboot(self, name, body):
        return self.submit(opcodes.instance_reboot(name, body, self.flat_query), "instances_name_reboot")

    def put_instance_modify(self, name, body):
        return self.submit(opcodes.instance_set_params(name, body, self.flat_query), "instances_name_modify")

    def put_rename(self, name, body):
        return self.submit(opcodes.instance_rename(name, body, self.flat_query), "instances_name_rename")

    def get_console(self, name, body):
        cluster = self.server.cluster
        with cluster.lock:
            inst = self._instance(name)
            if not inst["oper_state"]:
                raise RapiError(400, "Instance %s is not running" % name, "wrong_state")
            if inst.get("network_port") is None:
                return {"instance": name, "kind": "message",
                        "message": "Console not available for %s hypervisor" % cluster.hypervisor}
            return {"instance": name, "kind": "vnc", "host": cluster.console_host or cluster.node_name,
                    "port": inst["network_port"],
                    "display": inst["network_port"] - 5900}

    def get_instance_tags(self, name, body):
        with self.server.cluster.lock:
            return list(self._instance(name)["tags"])

    def put_instance_tags(self, name, body):
        return self._tags("OP_TAGS_SET", "instance", name, "instances_name_tags")

    def delete_instance_tags(self, name, body):
        return self._tags("OP_TAGS_DEL", "instance", name, "instances_name_tags")

    # -- jobs --------------------------------------------------------------

    def get_jobs(self, body):
        queue = self.server.queue
        with self.server.cluster.lock:
            ids = sorted(queue.jobs)
            if self.bulk():
                return [queue.view(queue.jobs[i]) for i in ids]
            return [{"id": i, "uri": "/2/jobs/%d" % i} for i in ids]

    def get_job(self, job_id, body):
        queue = self.server.queue
        with self.server.cluster.lock:
            job = queue.jobs.get(int(job_id))
            if job is None:  # Ganeti answers 200 with null fields
                return {name: None for name in ("id", "ops", "status", "summary", "opstatus", "received_ts",
                                                "start_ts", "end_ts", "oplog", "opresult")}
            return queue.view(job)

    def delete_job(self, job_id, body):
        return self.server.queue.cancel(int(job_id))

    def get_job_wait(self, job_id, body):
        if not isinstance(body, dict):
            raise RapiError(400, "The body must be an object with 'fields'")
        fields = body.get("fields")
        if not isinstance(fields, list) or not fields or not all(f in KNOWN_JOB_FIELDS for f in fields):
            raise RapiError(400, "'fields' must be a non-empty list of job fields (%s)"
                            % ", ".join(KNOWN_JOB_FIELDS))
        serial = body.get("previous_log_serial")
        if serial is not None and (isinstance(serial, bool) or not isinstance(serial, int)):
            raise RapiError(400, "'previous_log_serial' must be an integer or null")
        previous = body.get("previous_job_info")
        if previous is not None and not isinstance(previous, list):
            raise RapiError(400, "'previous_job_info' must be a list or null")
        try:
            return self.server.queue.wait_for_change(int(job_id), fields, previous, serial,
                                                     timeout=self.server.wait_timeout)
        except KeyError:
            raise RapiError(404, "Job %s not found" % job_id) from None

    # -- networks ----------------------------------------------------------

    def _network(self, name):
        net = self.server.cluster.networks.get(name)
        if net is None:
            raise not_found("Network", name)
        return net

    def get_networks(self, body):
        cluster = self.server.cluster
        with cluster.lock:
            names = sorted(cluster.networks)
            if self.bulk():
                return [cluster.network_view(cluster.networks[n]) for n in names]
            return [{"name": n, "uri": "/2/networks/%s" % n} for n in names]

    def post_networks(self, body):
        return self.submit(opcodes.network_add(body, self.flat_query), "networks")

    def get_network(self, name, body):
        with self.server.cluster.lock:
            return self.server.cluster.network_view(self._network(name))

    def delete_network(self, name, body):
        return self.submit(opcodes.network_remove(name, body, self.flat_query), "networks_name")

    def put_network_connect(self, name, body):
        return self.submit(opcodes.network_connect(name, body, self.flat_query), "networks_name_connect")

    def put_network_disconnect(self, name, body):
        op = opcodes.network_disconnect(name, body, self.flat_query)
        return self.submit(op, "networks_name_disconnect")

    def put_network_modify(self, name, body):
        return self.submit(opcodes.network_set_params(name, body, self.flat_query), "networks_name_modify")

    def get_network_tags(self, name, body):
        with self.server.cluster.lock:
            return list(self._network(name)["tags"])

    def put_network_tags(self, name, body):
        return self._tags("OP_TAGS_SET", "network", name, "networks_name_tags")

    def delete_network_tags(self, name, body):
        return self._tags("OP_TAGS_DEL", "network", name, "networks_name_tags")

    # -- the simulator's own resource ----------------------------------------

    def get_sim_config(self, body):
        return self.server.config.to_dict()

    def put_sim_config(self, body):
        try:
            self.server.config.update(body)
        except ValueError as exc:
            raise RapiError(400, "Invalid simulator configuration: %s" % exc) from None
        log.info("configuration changed: %s", self.server.config.to_dict())
        return self.server.config.to_dict()


H = RapiHandler
NAME = r"([^/]+)"
ROUTES = [
    Route(r"/version", GET=H.get_version),
    Route(r"/2/?", GET=H.get_root),
    Route(r"/2/info", GET=H.get_info),
    Route(r"/2/features", GET=H.get_features),
    Route(r"/2/os", GET=H.get_os),
    Route(r"/2/modify", PUT=H.put_modify),
    Route(r"/2/tags", GET=H.get_cluster_tags, PUT=H.put_cluster_tags, DELETE=H.delete_cluster_tags),
    Route(r"/2/nodes", GET=H.get_nodes),
    Route(r"/2/nodes/" + NAME, GET=H.get_node),
    Route(r"/2/groups", GET=H.get_groups),
    Route(r"/2/groups/" + NAME, GET=H.get_group),
    Route(r"/2/instances", GET=H.get_instances, POST=H.post_instances),
    Route(r"/2/instances/" + NAME, GET=H.get_instance, DELETE=H.delete_instance),
    Route(r"/2/instances/%s/startup" % NAME, PUT=H.put_startup),
    Route(r"/2/instances/%s/shutdown" % NAME, PUT=H.put_shutdown),
    Route(r"/2/instances/%s/reboot" % NAME, POST=H.post_reboot),
    Route(r"/2/instances/%s/modify" % NAME, PUT=H.put_instance_modify),
    Route(r"/2/instances/%s/rename" % NAME, PUT=H.put_rename),
    Route(r"/2/instances/%s/console" % NAME, GET=H.get_console),
    Route(r"/2/instances/%s/tags" % NAME, GET=H.get_instance_tags, PUT=H.put_instance_tags,
          DELETE=H.delete_instance_tags),
    Route(r"/2/jobs", GET=H.get_jobs),
    Route(r"/2/jobs/(\d+)", GET=H.get_job, DELETE=H.delete_job),
    Route(r"/2/jobs/(\d+)/wait", GET=H.get_job_wait),
    Route(r"/2/networks", GET=H.get_networks, POST=H.post_networks),
    Route(r"/2/networks/" + NAME, GET=H.get_network, DELETE=H.delete_network),
    Route(r"/2/networks/%s/connect" % NAME, PUT=H.put_network_connect),
    Route(r"/2/networks/%s/disconnect" % NAME, PUT=H.put_network_disconnect),
    Route(r"/2/networks/%s/modify" % NAME, PUT=H.put_network_modify),
    Route(r"/2/networks/%s/tags" % NAME, GET=H.get_network_tags, PUT=H.put_network_tags,
          DELETE=H.delete_network_tags),
    Route(r"/sim/config", GET=H.get_sim_config, PUT=H.put_sim_config),
]
