"""VNC console clients (spec 05, docs/console.rst).

``CONSOLE_BACKEND`` selects how a console is opened:

* ``"vncauthproxy"`` (default): ask one of the snf-vncauthproxy daemons of
  ``CYCLADES_VNCAUTHPROXY_OPTS`` (control protocol of GRNET snf-vncauthproxy
  1.7: one JSON request and one JSON answer over TCP, optionally TLS) for a
  one-time forwarding protected by the console password; the answer names the
  proxy's address and port, never the Ganeti node.
* ``"direct"``: hand out the instance's own VNC endpoint (Ganeti node and
  port). Its password protects nothing; only for labs where users may reach
  the nodes (``snf-manage check`` warns about it).
* a dotted path to a class with the interface of :class:`ConsoleClient`.
"""

import importlib
import json
import logging
import random
import socket
import ssl

from django.conf import settings
from synnefo.logic.errors import BadRequest, ServiceUnavailable

log = logging.getLogger(__name__)

CONSOLE_TYPES = ("vnc", "vnc-ws", "vnc-wss")
MAX_REPLY = 65536


class ConsoleClient:
    """Interface: ``open(dest_host, dest_port, password, console_type) -> (host, port)``."""

    def open(self, dest_host, dest_port, password, console_type="vnc"):
        raise NotImplementedError


class DirectConsole(ConsoleClient):
    def open(self, dest_host, dest_port, password, console_type="vnc"):
        if console_type != "vnc":
            raise BadRequest('Console type "%s" needs a VNC authentication proxy; this deployment '
                             'hands out VNC endpoints directly (CONSOLE_BACKEND "direct").' % console_type)
        return dest_host, dest_port


class ProxyDown(Exception):
    """The proxy could not be asked (connection, TLS, timeout, garbled answer)."""


def proxy_options():
    """``CYCLADES_VNCAUTHPROXY_OPTS`` as a list of dicts (a single dict is allowed)."""
    opts = settings.CYCLADES_VNCAUTHPROXY_OPTS
    if isinstance(opts, dict):
        opts = [opts]
    if not isinstance(opts, (list, tuple)) or not opts or not all(isinstance(o, dict) for o in opts):
        raise ServiceUnavailable("The console proxies are not configured (CYCLADES_VNCAUTHPROXY_OPTS).")
    return list(opts)


class VncAuthProxyConsole(ConsoleClient):
    """Client of the snf-vncauthproxy (1.7) TCP control protocol.

    The proxies are tried starting from a random one; a proxy that cannot be
    reached is skipped for the next. A proxy that answers FAILED ends the
    attempt with its reason (another proxy would most likely say the same).
    """

    def __init__(self, proxies=None, timeout=None):
        self.proxies = proxies if proxies is not None else proxy_options()
        self.timeout = timeout if timeout is not None else settings.VNCAUTHPROXY_TIMEOUT

    def open(self, dest_host, dest_port, password, console_type="vnc"):
        request = {"source_port": 0, "destination_address": dest_host,
                   "destination_port": int(dest_port), "password": password, "type": console_type}
        start = random.randrange(len(self.proxies))
        errors = []
        for opts in self.proxies[start:] + self.proxies[:start]:
            name = "%s:%s" % (opts.get("server_address", "127.0.0.1"), opts.get("server_port", 24999))
            try:
                reply = self.request(opts, request)
            except ProxyDown as exc:
                log.warning("vncauthproxy %s: %s", name, exc)
                errors.append("%s: %s" % (name, exc))
                continue
            if reply.get("status") != "OK":
                reason = reply.get("reason") or "no reason given"
                log.warning("vncauthproxy %s refused a %s forwarding to %s:%s: %s",
                            name, console_type, dest_host, dest_port, reason)
                raise ServiceUnavailable("The console proxy refused the forwarding: %s" % reason)
            port = reply.get("source_port")
            if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
                raise ServiceUnavailable("The console proxy %s answered without a port." % name)
            host = opts.get("public_address") or reply.get("proxy_address") or opts.get("server_address")
            return host, port
        raise ServiceUnavailable("No console proxy answers (%s)." % "; ".join(errors))

    def request(self, opts, payload):
        """One request to the proxy of ``opts`` -> its answer (a dict); ProxyDown otherwise."""
        body = dict(payload, auth_user=opts.get("auth_user", ""), auth_password=opts.get("auth_password", ""))
        address = (opts.get("server_address", "127.0.0.1"), int(opts.get("server_port", 24999)))
        try:
            with socket.create_connection(address, timeout=self.timeout) as raw:
                sock = raw
                if opts.get("enable_ssl"):
                    sock = _tls_context(opts).wrap_socket(raw, server_hostname=address[0])
                sock.sendall(json.dumps(body).encode("utf-8") + b"\n")
                data = b""
                while True:
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                    if data.endswith(b"\n") or len(data) > MAX_REPLY:
                        break
        except (OSError, ssl.SSLError) as exc:
            raise ProxyDown(getattr(exc, "strerror", None) or str(exc) or type(exc).__name__) from None
        try:
            reply = json.loads(data.decode("utf-8"))
        except ValueError:
            raise ProxyDown("malformed answer %r" % data[:80]) from None
        if not isinstance(reply, dict):
            raise ProxyDown("malformed answer %r" % data[:80])
        return reply


def _tls_context(opts):
    """TLS toward a proxy: with ``ca_cert`` the certificate must be signed by
    it; with ``strict`` it must also name the proxy (and, without
    ``ca_cert``, check out against the system CAs). Neither: encryption only."""
    ca_cert = opts.get("ca_cert") or None
    context = ssl.create_default_context(cafile=ca_cert)
    if not opts.get("strict"):
        context.check_hostname = False
        if not ca_cert:
            context.verify_mode = ssl.CERT_NONE
    return context


def get_console_client():
    name = getattr(settings, "CONSOLE_BACKEND", "vncauthproxy") or "vncauthproxy"
    if name == "direct":
        return DirectConsole()
    if name == "vncauthproxy":
        return VncAuthProxyConsole()
    module, _, attr = name.rpartition(".")
    if not module:
        raise ServiceUnavailable("Unknown CONSOLE_BACKEND %r" % name)
    return getattr(importlib.import_module(module), attr)()
