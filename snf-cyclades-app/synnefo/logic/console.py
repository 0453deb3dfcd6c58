"""VNC console clients (spec 05).

``CONSOLE_BACKEND`` selects how a console is opened:

* ``"direct"``: hand out the instance's own VNC endpoint (primary node and
  ``network_port``); for lab setups where users can reach the nodes.
* ``"vncauthproxy"``: ask a local snf-vncauthproxy 1.x daemon, over its UNIX
  control socket ``VNCAUTHPROXY_SOCKET``, for a one-shot, password-protected
  forwarding; the answer names ``CONSOLE_HOST`` (default: this host's FQDN)
  and the port the proxy chose.
* a dotted path to a class with the same interface as :class:`ConsoleClient`.
"""

import importlib
import json
import socket

from django.conf import settings
from synnefo.logic.errors import ServiceUnavailable

MAX_REPLY = 1024


class ConsoleClient:
    """Interface: ``open(dest_host, dest_port, password) -> (host, port)``."""

    def open(self, dest_host, dest_port, password):
        raise NotImplementedError


class DirectConsole(ConsoleClient):
    def open(self, dest_host, dest_port, password):
        return dest_host, dest_port


class VncAuthProxyConsole(ConsoleClient):
    """Client of the snf-vncauthproxy 1.x control protocol (one JSON request
    and one JSON reply per UNIX-socket connection)."""

    def __init__(self, path=None, timeout=None, public_host=None):
        self.path = path or settings.VNCAUTHPROXY_SOCKET
        self.timeout = timeout if timeout is not None else settings.VNCAUTHPROXY_TIMEOUT
        self.public_host = public_host or settings.CONSOLE_HOST or socket.getfqdn()

    def request(self, payload):
        data = json.dumps(payload).encode("utf-8")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(self.timeout)
                sock.connect(self.path)
                sock.sendall(data)
                sock.shutdown(socket.SHUT_WR)
                chunks = []
                while True:
                    chunk = sock.recv(MAX_REPLY)
                    if not chunk:
                        break
                    chunks.append(chunk)
                    if sum(len(c) for c in chunks) > 64 * MAX_REPLY:
                        break
        except OSError as exc:
            raise ServiceUnavailable("Cannot contact vncauthproxy: %s" % exc)
        try:
            reply = json.loads(b"".join(chunks).decode("utf-8"))
        except ValueError:
            raise ServiceUnavailable("vncauthproxy returned a malformed reply")
        if not isinstance(reply, dict):
            raise ServiceUnavailable("vncauthproxy returned a malformed reply")
        return reply

    def open(self, dest_host, dest_port, password):
        reply = self.request({"source_port": 0, "destination_address": dest_host,
                              "destination_port": int(dest_port), "password": password})
        if reply.get("status") != "OK" or not reply.get("source_port"):
            raise ServiceUnavailable("vncauthproxy returned error status")
        return self.public_host, int(reply["source_port"])


def get_console_client():
    name = getattr(settings, "CONSOLE_BACKEND", "direct") or "direct"
    if name == "direct":
        return DirectConsole()
    if name == "vncauthproxy":
        return VncAuthProxyConsole()
    module, _, attr = name.rpartition(".")
    if not module:
        raise ServiceUnavailable("Unknown CONSOLE_BACKEND %r" % name)
    return getattr(importlib.import_module(module), attr)()
