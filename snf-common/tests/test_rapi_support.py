"""Shared test infrastructure for the synnefo.rapi tests (no tests of the client here).

* ``make_cert``: a self-signed certificate made with ``cryptography``.
* ``FakeRapi``: a threaded HTTPS server on 127.0.0.1 / ::1 that answers from a
  route table (by default the captured Ganeti 3.0.2 answers in data/rapi/)
  and records every request it gets.
"""

import datetime
import hashlib
import ipaddress
import json
import os
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "rapi")
INSTANCE = "ci-inst1.gnt.test"
NETWORK = "ci-net"

# Answers "drop" the connection without an HTTP response when a route returns it.
DROP = object()


def load(name):
    with open(os.path.join(DATA, name)) as f:
        return json.load(f)


class Cert:
    def __init__(self, cert_path, key_path, fingerprint):
        self.cert_path = cert_path
        self.key_path = key_path
        self.fingerprint = fingerprint  # SHA-256 of the DER certificate, lowercase hex


def make_cert(directory, name, dns_names=("localhost",), ips=("127.0.0.1", "::1")):
    """Write <name>.pem / <name>-key.pem (self-signed, usable as its own CA file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_names[0] if dns_names else name)])
    now = datetime.datetime.now(datetime.UTC)
    alt = [x509.DNSName(d) for d in dns_names] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path = os.path.join(directory, "%s.pem" % name)
    key_path = os.path.join(directory, "%s-key.pem" % name)
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    fingerprint = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    return Cert(cert_path, key_path, fingerprint)


def default_routes():
    job3 = load("rapi-GET-2-jobs-3-OP_INSTANCE_SHUTDOWN.json")
    instance = load("rapi-GET-2-instances-NAME.json")
    return {
        ("GET", "/2/info"): load("rapi-GET-2-info.json"),
        ("GET", "/2/features"): ["instance-create-reqv1", "instance-reinstall-reqv1"],
        ("GET", "/2/instances"): lambda req: (
            load("rapi-GET-2-instances-bulk.json") if req.query.get("bulk") == ["1"]
            else [{"id": INSTANCE, "uri": "/2/instances/" + INSTANCE}]),
        ("GET", "/2/instances/" + INSTANCE): instance,
        ("GET", "/2/instances/%s/console" % INSTANCE): {"instance": INSTANCE, "kind": "vnc",
                                                        "host": "vm.gnt.test", "port": 11000},
        ("GET", "/2/instances/%s/tags" % INSTANCE): ["ci"],
        ("GET", "/2/jobs"): lambda req: (
            [job3] if req.query.get("bulk") == ["1"] else load("rapi-GET-2-jobs.json")),
        ("GET", "/2/jobs/3"): job3,
        ("GET", "/2/networks"): lambda req: (
            [load("rapi-GET-2-networks-NAME.json")] if req.query.get("bulk") == ["1"]
            else [{"name": NETWORK, "uri": "/2/networks/" + NETWORK}]),
        ("GET", "/2/networks/" + NETWORK): load("rapi-GET-2-networks-NAME.json"),
        ("GET", "/2/nodes"): lambda req: (
            [{"name": "vm.gnt.test", "mfree": 1024, "vm_capable": True}] if req.query.get("bulk") == ["1"]
            else [{"id": "vm.gnt.test", "uri": "/2/nodes/vm.gnt.test"}]),
        ("GET", "/2/groups"): lambda req: (
            [{"name": "default", "node_cnt": 1}] if req.query.get("bulk") == ["1"]
            else [{"name": "default", "uri": "/2/groups/default"}]),
    }


class Request:
    """What the server saw."""

    def __init__(self, method, raw_path, headers, body):
        parts = urlsplit(raw_path)
        self.method = method
        self.path = parts.path
        self.query = parse_qs(parts.query, keep_blank_values=True)
        self.headers = headers
        self.raw_body = body
        self.body = json.loads(body) if body else None

    def __repr__(self):
        return "<%s %s %s %r>" % (self.method, self.path, self.query, self.body)


class Reply:
    """An explicit answer: status, JSON (or raw text) body, extra headers, delay."""

    def __init__(self, status=200, body=None, text=None, content_type="application/json", delay=0):
        self.status = status
        self.body = body
        self.text = text
        self.content_type = content_type
        self.delay = delay


def ganeti_error(status, message, explain):
    return Reply(status, {"code": status, "message": message, "explain": explain})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep test output clean
        pass

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        req = Request(self.command, self.path, dict(self.headers), body)
        server = self.server.fake
        server.requests.append(req)
        route = server.routes.get((req.method, req.path))
        if route is None:
            answer = ganeti_error(404, "Not Found", "No resource %s %s" % (req.method, req.path))
        else:
            answer = route(req) if callable(route) else route
        if answer is DROP:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if not isinstance(answer, Reply):
            answer = Reply(200, answer)
        if answer.delay:
            time.sleep(answer.delay)
        payload = (answer.text if answer.text is not None else json.dumps(answer.body)).encode()
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address, family):
        self.address_family = family
        super().__init__(address, _Handler)


class FakeRapi:
    """HTTPS RAPI stand-in. ``routes[(method, path)]`` is a JSON value, a
    ``Reply``, ``DROP`` or a callable ``(Request) -> one of those``."""

    def __init__(self, cert, host="127.0.0.1"):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.host = host
        self.requests = []
        self.routes = default_routes()
        self.httpd = _Server((host, 0), family)
        self.httpd.fake = self
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert.cert_path, cert.key_path)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def last(self):
        return self.requests[-1]


def free_port():
    """A port nothing listens on (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
