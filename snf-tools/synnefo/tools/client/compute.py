"""The compute API client: servers, actions, metadata, addresses, flavors,
images, networks and the console, over HTTP with JSON (no Django)."""

import datetime
import re
import time
import urllib.parse
import uuid

import requests
from synnefo.tools.client import waiting
from synnefo.tools.client.errors import (
    ConnectionFailed,
    ServiceUnavailable,
    UnexpectedAnswer,
    fault_from_answer,
)

FIREWALL_PROFILES = ("ENABLED", "DISABLED", "PROTECTED")


def values(document, key):
    """``document[key]["values"]``: the API wraps every list (and the metadata
    maps of detailed objects) as ``{"values": ...}``."""
    inner = document[key]
    return inner["values"] if isinstance(inner, dict) and "values" in inner else inner


def server_nics(server):
    """The NICs of a detailed server, by index (``[]`` when it has none)."""
    return list((server.get("attachments") or {}).get("values", []))


def server_metadata(server):
    """The metadata of a detailed server or image (``{}`` when it has none)."""
    return dict((server.get("metadata") or {}).get("values", {}))


def describe_server(server):
    """One line about a detailed server, for messages."""
    task = server.get("SNF:task_state")
    parts = [f"server {server.get('id')} status {server.get('status')}"]
    if server.get("status") == "BUILD" and server.get("progress") is not None:
        parts.append(f"progress {server['progress']}%")
    if task:
        parts.append(f"task {task}")
    nics = server_nics(server)
    if nics:
        parts.append("NICs " + ", ".join(f"{n['id']} on network {n['network_id']}" for n in nics))
    diagnostics = server.get("diagnostics") or []
    if diagnostics and server.get("status") in ("ERROR", "BUILD"):
        parts.append(f"last diagnostic: {diagnostics[0].get('message')}")
    return ", ".join(parts)


def describe_network(network):
    return f"network {network.get('id')} status {network.get('status')}"


def _server_failure(status):
    """A ``fail`` callable for server waits: ERROR or DELETED end every other wait."""
    def fail(server):
        current = server.get("status")
        if current == status or current not in ("ERROR", "DELETED"):
            return None
        diagnostics = server.get("diagnostics") or []
        if diagnostics:
            return diagnostics[0].get("message") or current
        return f"the server is {current}"
    return fail


class Reply:
    """An HTTP answer: ``status``, decoded JSON ``body`` (None when empty), ``headers``."""

    def __init__(self, status, body, headers):
        self.status, self.body, self.headers = status, body, headers


class ComputeClient:
    """A client of one user of the compute API at ``api_url`` (``.../api/v1.1``).

    Every call raises an :class:`~synnefo.tools.client.errors.ApiFault`
    subclass for an API fault, :class:`ConnectionFailed` when the API cannot
    be reached and :class:`UnexpectedAnswer` for an answer that is neither the
    documented success status nor a fault. ``timeout`` bounds each request;
    ``interval`` is the default polling period of the ``wait_*`` calls.
    Creates carry an ``X-Idempotency-Key`` and are retried with it up to
    ``create_retries`` times when the API cannot be reached or answers an
    outage (serviceUnavailable with Retry-After): a retried create never
    makes a second server or network.
    A client is not thread-safe: use one per thread.
    """

    def __init__(self, api_url, token, *, timeout=30.0, interval=1.0, verify=True, user_agent=None,
                 create_retries=2):
        self.api_url = api_url.rstrip("/")
        self.create_retries = create_retries
        self.timeout = timeout
        self.interval = interval
        self.session = requests.Session()
        self.session.verify = verify
        self.session.headers["X-Auth-Token"] = token
        self.session.headers["Accept"] = "application/json"
        if user_agent:
            self.session.headers["User-Agent"] = user_agent

    def close(self):
        self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- transport ---------------------------------------------------------------
    def url(self, path):
        return self.api_url + "/" + path.lstrip("/")

    def request(self, method, path, body=None, params=None, expected=(200,), headers=None):
        """Send one request; the :class:`Reply` when its status is in ``expected``.
        A fault carries ``retry_after``: the answer's Retry-After (seconds) or None."""
        url = self.url(path)
        kwargs = {"params": params, "timeout": self.timeout, "headers": headers}
        if body is not None:
            kwargs["json"] = body
        try:
            answer = self.session.request(method, url, **kwargs)
        except requests.RequestException as exc:
            raise ConnectionFailed(method, url, _reason(exc, self.timeout)) from None
        text = answer.text
        try:
            decoded = answer.json() if text.strip() else None
        except ValueError:
            decoded = None
            if answer.status_code in expected:
                raise UnexpectedAnswer(method, url, answer.status_code, text) from None
        if answer.status_code in expected:
            return Reply(answer.status_code, decoded, answer.headers)
        fault = fault_from_answer(answer.status_code, decoded, method, url)
        if fault is not None:
            fault.retry_after = _seconds(answer.headers.get("Retry-After"))
            raise fault
        raise UnexpectedAnswer(method, url, answer.status_code, text)

    def create(self, path, body, idempotency_key=None):
        """``POST path`` of a create (202) with an ``X-Idempotency-Key`` (a new
        random one unless given), retried with the same key (``create_retries``)."""
        headers = {"X-Idempotency-Key": idempotency_key or uuid.uuid4().hex}
        for attempt in range(self.create_retries + 1):
            try:
                return self.request("POST", path, body, expected=(202,), headers=headers)
            except (ConnectionFailed, ServiceUnavailable) as exc:
                wait = getattr(exc, "retry_after", None) if isinstance(exc, ServiceUnavailable) \
                    else self.interval
                if wait is None or attempt == self.create_retries:
                    raise  # a 503 without Retry-After is no outage: not retried
                time.sleep(min(wait, 30))
        raise AssertionError("unreachable")

    def _get(self, path, params=None, expected=(200,)):
        return self.request("GET", path, params=params, expected=expected).body

    # -- versions ----------------------------------------------------------------
    def version(self):
        """The version document of the API (``GET /api/v1.1/``)."""
        return self._get("/")["version"]

    # -- servers -----------------------------------------------------------------
    def list_servers(self, detail=False, changes_since=None):
        """The caller's servers (compact or detailed). With ``changes_since``
        (an aware datetime or ISO text) only those updated since, deleted ones
        included; ``[]`` when nothing changed (304)."""
        return self._list("servers", detail, changes_since)

    def get_server(self, server_id):
        return self._get(f"/servers/{int(server_id)}")["server"]

    def create_server(self, name, image_id, flavor_id, metadata=None, personality=None,
                      idempotency_key=None):
        """Create a server: its detailed form with ``adminPass``, status BUILD
        (see :meth:`create` for ``idempotency_key``)."""
        server = {"name": name, "imageRef": image_id, "flavorRef": int(flavor_id)}
        if metadata is not None:
            server["metadata"] = metadata
        if personality is not None:
            server["personality"] = personality
        return self.create("/servers", {"server": server}, idempotency_key).body["server"]

    def rename_server(self, server_id, name):
        self.request("PUT", f"/servers/{int(server_id)}", {"server": {"name": name}}, expected=(204,))

    def delete_server(self, server_id):
        self.request("DELETE", f"/servers/{int(server_id)}", expected=(204,))

    # -- actions -----------------------------------------------------------------
    def action(self, server_id, name, args=None, expected=(202,)):
        """``POST /servers/{id}/action`` with ``{name: args}``; the decoded answer."""
        reply = self.request("POST", f"/servers/{int(server_id)}/action", {name: args or {}},
                             expected=expected)
        return reply.body

    def reboot(self, server_id, hard=False):
        self.action(server_id, "reboot", {"type": "HARD" if hard else "SOFT"})

    def start(self, server_id):
        self.action(server_id, "start")

    def shutdown(self, server_id):
        self.action(server_id, "shutdown")

    def set_firewall_profile(self, server_id, profile):
        """``profile``: ENABLED, DISABLED or PROTECTED (applied to the public NIC)."""
        self.action(server_id, "firewallProfile", {"profile": profile})

    def console(self, server_id, console_type="vnc"):
        """A one-shot console: ``{"type", "host", "port", "password"}``."""
        return self.action(server_id, "console", {"type": console_type}, expected=(200,))["console"]

    # -- addresses, stats, diagnostics ---------------------------------------------
    def server_addresses(self, server_id, network_id=None):
        """All NICs of a server, or (``network_id``) its NIC on that network."""
        if network_id is None:
            return values(self._get(f"/servers/{int(server_id)}/ips"), "addresses")
        return self._get(f"/servers/{int(server_id)}/ips/{network_id}")["network"]

    def server_stats(self, server_id):
        return self._get(f"/servers/{int(server_id)}/stats")["stats"]

    def server_diagnostics(self, server_id):
        return self._get(f"/servers/{int(server_id)}/diagnostics")

    # -- metadata (servers and images) -------------------------------------------------
    def server_metadata(self, server_id):
        return self._metadata(f"/servers/{int(server_id)}")

    def update_server_metadata(self, server_id, items):
        """Merge ``items`` into the server's metadata; all of them afterwards."""
        return self._update_metadata(f"/servers/{int(server_id)}", items)

    def get_server_metadata(self, server_id, key):
        return self._get_meta(f"/servers/{int(server_id)}", key)

    def set_server_metadata(self, server_id, key, value):
        return self._set_meta(f"/servers/{int(server_id)}", key, value)

    def delete_server_metadata(self, server_id, key):
        self._delete_meta(f"/servers/{int(server_id)}", key)

    def image_metadata(self, image_id):
        return self._metadata(f"/images/{_quote(image_id)}")

    def update_image_metadata(self, image_id, items):
        return self._update_metadata(f"/images/{_quote(image_id)}", items)

    def get_image_metadata(self, image_id, key):
        return self._get_meta(f"/images/{_quote(image_id)}", key)

    def set_image_metadata(self, image_id, key, value):
        return self._set_meta(f"/images/{_quote(image_id)}", key, value)

    def delete_image_metadata(self, image_id, key):
        self._delete_meta(f"/images/{_quote(image_id)}", key)

    def _metadata(self, base):
        return dict(values(self._get(f"{base}/meta"), "metadata"))

    def _update_metadata(self, base, items):
        reply = self.request("POST", f"{base}/meta", {"metadata": dict(items)}, expected=(201,))
        return reply.body["metadata"]

    def _get_meta(self, base, key):
        return self._get(f"{base}/meta/{_quote(key)}")["meta"][key]

    def _set_meta(self, base, key, value):
        body = {"meta": {key: value}}
        return self.request("PUT", f"{base}/meta/{_quote(key)}", body, expected=(201,)).body["meta"][key]

    def _delete_meta(self, base, key):
        self.request("DELETE", f"{base}/meta/{_quote(key)}", expected=(204,))

    # -- flavors and images ---------------------------------------------------------
    def list_flavors(self, detail=False):
        return values(self._get("/flavors/detail" if detail else "/flavors"), "flavors")

    def get_flavor(self, flavor_id):
        return self._get(f"/flavors/{int(flavor_id)}")["flavor"]

    def list_images(self, detail=False, changes_since=None):
        return self._list("images", detail, changes_since)

    def get_image(self, image_id):
        return self._get(f"/images/{_quote(image_id)}")["image"]

    def delete_image(self, image_id):
        self.request("DELETE", f"/images/{_quote(image_id)}", expected=(204,))

    # -- networks ----------------------------------------------------------------------
    def list_networks(self, detail=False, changes_since=None):
        return self._list("networks", detail, changes_since)

    def get_network(self, network_id):
        return self._get(f"/networks/{_quote(network_id)}")["network"]

    def create_network(self, name, cidr=None, network_type=None, dhcp=None, gateway=None,
                       cidr6=None, gateway6=None, idempotency_key=None):
        """Create a private network (status PENDING until every backend has it)."""
        body = {"name": name}
        for key, value in (("cidr", cidr), ("type", network_type), ("dhcp", dhcp),
                           ("gateway", gateway), ("cidr6", cidr6), ("gateway6", gateway6)):
            if value is not None:
                body[key] = value
        return self.create("/networks", {"network": body}, idempotency_key).body["network"]

    def rename_network(self, network_id, name):
        self.request("PUT", f"/networks/{_quote(network_id)}", {"network": {"name": name}},
                     expected=(204,))

    def delete_network(self, network_id):
        self.request("DELETE", f"/networks/{_quote(network_id)}", expected=(204,))

    def connect(self, network_id, server_id):
        """Connect a server to a network (a new NIC)."""
        self.request("POST", f"/networks/{_quote(network_id)}/action",
                     {"add": {"serverRef": int(server_id)}}, expected=(202,))

    def disconnect(self, network_id, attachment_id):
        """Remove a NIC (``nic-<server>-<index>``) from a network."""
        self.request("POST", f"/networks/{_quote(network_id)}/action",
                     {"remove": {"attachment": attachment_id}}, expected=(202,))

    def _list(self, collection, detail, changes_since):
        params = None
        if changes_since is not None:
            if isinstance(changes_since, datetime.datetime):
                changes_since = changes_since.isoformat()
            params = {"changes-since": changes_since}
        path = f"/{collection}/detail" if detail else f"/{collection}"
        reply = self.request("GET", path, params=params, expected=(200, 304))
        return [] if reply.status == 304 else list(values(reply.body, collection))

    # -- waits ---------------------------------------------------------------------------
    def wait_server(self, server_id, status, timeout, *, interval=None, progress=None,
                    warn_after=None, on_warning=None):
        """Poll until the server shows ``status`` with no task pending; return it.

        A server reaching ERROR or DELETED instead raises
        :class:`UnexpectedState` with its last diagnostic as the reason;
        after ``timeout`` seconds :class:`WaitTimeout`. ``progress(server,
        elapsed)`` sees every poll; ``on_warning(server, elapsed)`` is called
        once after ``warn_after`` seconds."""
        return waiting.wait_for(
            lambda: self.get_server(server_id),
            lambda s: s.get("status") == status and not s.get("SNF:task_state"),
            what=f"server {server_id} to become {status}", timeout=timeout,
            interval=self.interval if interval is None else interval, progress=progress,
            fail=_server_failure(status), warn_after=warn_after, on_warning=on_warning,
            describe=describe_server)

    def wait_server_nics(self, server_id, check, timeout, *, what, interval=None, progress=None):
        """Poll until ``check(nics)`` is true for the server's NICs (no task pending)."""
        return waiting.wait_for(
            lambda: self.get_server(server_id),
            lambda s: not s.get("SNF:task_state") and check(server_nics(s)),
            what=f"server {server_id}: {what}", timeout=timeout,
            interval=self.interval if interval is None else interval, progress=progress,
            fail=_server_failure("ACTIVE"), describe=describe_server)

    def wait_network(self, network_id, status, timeout, *, interval=None, progress=None):
        """Poll until the network shows ``status``; ERROR raises :class:`UnexpectedState`."""
        def fail(network):
            current = network.get("status")
            return f"the network is {current}" if current != status and current == "ERROR" else None
        return waiting.wait_for(
            lambda: self.get_network(network_id), lambda n: n.get("status") == status,
            what=f"network {network_id} to become {status}", timeout=timeout,
            interval=self.interval if interval is None else interval, progress=progress,
            fail=fail, describe=describe_network)

    def wait_gone(self, collection, object_id, timeout, *, interval=None, progress=None):
        """Poll until ``object_id`` is out of the plain list of ``collection``
        (``servers`` or ``networks``)."""
        lister = {"servers": self.list_servers, "networks": self.list_networks}[collection]
        wanted = str(object_id)

        def listed():
            return [o for o in lister() if str(o["id"]) == wanted]
        return waiting.wait_for(
            listed, lambda found: not found, what=f"{collection[:-1]} {object_id} to leave the list",
            timeout=timeout, interval=self.interval if interval is None else interval,
            progress=progress)


def _quote(value):
    return urllib.parse.quote(str(value), safe="")


def _reason(exc, timeout):
    """What went wrong, without urllib3's wrapping (``connection refused``,
    ``timed out after 30 s``, the TLS error...)."""
    text = str(exc)
    if isinstance(exc, requests.Timeout):
        return f"no answer within {timeout:g} s"
    errno_text = re.search(r"\[Errno -?\d+\] ([^'\")]+)", text)
    if errno_text:
        return errno_text.group(1).strip().lower()
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS failure: " + text[-300:]
    return text[-300:] or exc.__class__.__name__


def _seconds(value):
    """A Retry-After value in seconds (an HTTP date is not used by the API), or None."""
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return None
