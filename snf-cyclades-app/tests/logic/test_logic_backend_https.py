"""backend-add through the real RAPI client against a small HTTPS RAPI stand-in."""

import base64
import datetime
import hashlib
import json
import ssl
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.core.management import load_command_class
from django.db import connections
from synnefo.db.models import Backend
from synnefo.logic import backends

NODES = [{"name": "n1", "vm_capable": True, "drained": False, "offline": False, "cnodes": 1,
          "mfree": 3000, "mtotal": 4096, "dfree": 90000, "dtotal": 100000, "pinst_cnt": 1, "ctotal": 4}]


def self_signed(directory):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rapi.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    cert_path, key_path = directory + "/c.pem", directory + "/k.pem"
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return cert_path, key_path, hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        state = self.server.state
        state["requests"].append((self.command, self.path))
        expected = "Basic " + base64.b64encode(b"cyclades:s3cret").decode()
        writes = self.command != "GET"
        if writes and self.headers.get("Authorization") != expected:
            return self.reply(401, {"code": 401, "message": "Unauthorized", "explain": ""})
        path = self.path.split("?")[0]
        if (self.command, path) == ("GET", "/2/info"):
            return self.reply(200, {"name": "127.0.0.1", "software_version": "3.0.2"})
        if (self.command, path) == ("GET", "/2/features"):
            return self.reply(200, ["instance-create-reqv1"])
        if (self.command, path) == ("PUT", "/2/modify"):
            return self.reply(200, 4242)
        if (self.command, path) == ("GET", "/2/nodes"):
            return self.reply(200, NODES)
        return self.reply(404, {"code": 404, "message": "Not Found", "explain": path})

    do_GET = do_PUT = do_POST = do_DELETE = handle_any


@pytest.fixture
def https_rapi():
    directory = tempfile.mkdtemp()
    cert, key, fingerprint = self_signed(directory)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.state = {"requests": []}
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield {"port": httpd.server_address[1], "fingerprint": fingerprint, "state": httpd.state}
    httpd.shutdown()
    httpd.server_close()
    backends.clear_client_cache()


def run(monkeypatch, capsys, *argv):
    monkeypatch.setattr(connections, "close_all", lambda: None)
    code = 0
    try:
        load_command_class("synnefo.logic", argv[0]).run_from_argv(["snf-manage"] + list(argv))
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.django_db
def test_backend_add_with_pinned_fingerprint(https_rapi, monkeypatch, capsys):
    monkeypatch.setenv("PW", "s3cret")
    args = ["backend-add", "--clustername", "127.0.0.1", "--port", str(https_rapi["port"]),
            "--user", "cyclades", "--password-env", "PW", "--fingerprint", https_rapi["fingerprint"]]
    code, out, err = run(monkeypatch, capsys, *args)
    assert code == 0, err
    backend = Backend.objects.get()
    assert backend.ssl_fingerprint == https_rapi["fingerprint"] and backend.drained
    assert (backend.mfree, backend.ctotal) == (3000, 4)
    assert ("PUT", "/2/modify") in https_rapi["state"]["requests"]


@pytest.mark.django_db
def test_backend_add_refused_wrong_password_and_untrusted_cert(https_rapi, monkeypatch, capsys):
    base = ["backend-add", "--clustername", "127.0.0.1", "--port", str(https_rapi["port"]),
            "--user", "cyclades"]
    monkeypatch.setenv("PW", "wrong")
    monkeypatch.setenv("PW_OK", "s3cret")
    code, out, err = run(monkeypatch, capsys, *base, "--password-env", "PW", "--fingerprint",
                         https_rapi["fingerprint"])
    assert code != 0 and "write access" in err and len(err.strip().splitlines()) == 1
    code, out, err = run(monkeypatch, capsys, *base, "--password-env", "PW_OK")  # system CAs: untrusted
    assert code != 0 and len(err.strip().splitlines()) == 1
    code, out, err = run(monkeypatch, capsys, *base, "--password-env", "PW_OK", "--fingerprint", "00" * 32)
    assert code != 0
    assert not Backend.objects.exists()
