"""snf-vncauthproxy over real sockets: the control channel, one-time
forwardings with VNC authentication (RFB 3.3 and 3.8), WebSocket (plain and
TLS), refusals, garbage, limits, the users file."""

import json
import os
import socket
import ssl
import struct
import time

import pytest
from proxy_helpers import PASSWORD, POOL, USER, ProxyProcess, add_user, vm_console
from synnefo.tools.ganeti_sim.certificate import ensure_certificate
from synnefo.tools.vnc_client import VncError, fetch_framebuffer
from synnefo.util import rfb

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def vm():
    console = vm_console("snf-proxy-test")
    yield console
    console.close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return ensure_certificate(str(tmp_path_factory.mktemp("cert")), "localhost", ["127.0.0.1"])


@pytest.fixture(scope="module")
def proxy(tmp_path_factory, certificate):
    cert, key = certificate
    with ProxyProcess(tmp_path_factory.mktemp("proxy"), "--connect-timeout", "2", "--cert-file", cert,
                      "--key-file", key, "--max-auth-failures", "1000") as proc:
        yield proc
    assert proc.proc.returncode == 0, proc.log()


def forwarding(proxy, vm, kind="vnc", password="one-time"):
    answer = proxy.request(destination_port=vm.port, type=kind, password=password)
    assert answer["status"] == "OK", answer
    assert answer["proxy_address"] == "127.0.0.1" and POOL[0] <= answer["source_port"] <= POOL[1]
    return answer["source_port"]


def refused(port):
    with pytest.raises(VncError, match="cannot connect|closed"):
        fetch_framebuffer("127.0.0.1", port, "one-time", timeout=5)


def test_console_through_the_proxy(proxy, vm):
    port = forwarding(proxy, vm, password="Secret1234")
    fb = fetch_framebuffer("127.0.0.1", port, "Secret1234")
    assert (fb.width, fb.height, fb.name) == (480, 160, "snf-proxy-test")
    assert len(fb.pixels) == 480 * 160 * 4 and fb.pixel(0, 0) == (16, 32, 64)
    # one-time: the port is closed once its client came
    refused(port)
    assert proxy.log_contains("port %d: client 127.0.0.1 authenticated (RFB 3.8)" % port)


def test_rfb_3_3_client(proxy, vm):
    port = forwarding(proxy, vm)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        assert sock.recv(12) == rfb.VERSION_3_8
        sock.sendall(rfb.VERSION_3_3)
        assert struct.unpack(">I", sock.recv(4)) == (rfb.SECURITY_VNC_AUTH,)
        challenge = _recv(sock, 16)
        sock.sendall(rfb.vnc_auth_response(challenge, "one-time"))
        assert _recv(sock, 4) == rfb.RESULT_OK
        sock.sendall(b"\x01")
        width, height, _fmt, length = rfb.SERVER_INIT.unpack(_recv(sock, rfb.SERVER_INIT.size))
        assert (width, height, _recv(sock, length)) == (480, 160, b"snf-proxy-test")


def _recv(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        assert chunk, "connection closed"
        data += chunk
    return data


def test_wrong_password_is_refused_and_ends_the_forwarding(proxy, vm):
    port = forwarding(proxy, vm, password="right-one")
    with pytest.raises(VncError, match="authentication failed: Authentication failed"):
        fetch_framebuffer("127.0.0.1", port, "wrong-one")
    refused(port)   # no second try
    assert proxy.log_contains("port %d: client 127.0.0.1 refused: wrong password" % port)


def test_rfb_3_3_client_with_a_wrong_password(proxy, vm):
    port = forwarding(proxy, vm)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        _recv(sock, 12)
        sock.sendall(rfb.VERSION_3_3)
        _recv(sock, 4)
        sock.sendall(rfb.vnc_auth_response(_recv(sock, 16), "not-it"))
        assert _recv(sock, 4) == rfb.RESULT_FAILED
        assert sock.recv(1) == b""


def test_second_client_is_refused(proxy, vm):
    port = forwarding(proxy, vm)
    first = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        assert first.recv(12) == rfb.VERSION_3_8
        refused(port)
    finally:
        first.close()


def test_late_client_is_refused(proxy, vm):
    port = forwarding(proxy, vm)   # the fixture's proxy waits 2 s
    time.sleep(2.6)
    refused(port)
    assert proxy.log_contains("port %d: no client within 2 s" % port)


def test_websocket_client(proxy, vm):
    port = forwarding(proxy, vm, "vnc-ws", "ws-pass")
    fb = fetch_framebuffer("127.0.0.1", port, "ws-pass", websocket=True, path="/websockify?token=x")
    assert fb.name == "snf-proxy-test" and len(fb.pixels) == 480 * 160 * 4
    # a plain RFB client on a WebSocket forwarding gets nowhere
    port = forwarding(proxy, vm, "vnc-ws")
    with pytest.raises(VncError):
        fetch_framebuffer("127.0.0.1", port, "one-time", timeout=3)


def test_websocket_over_tls(proxy, vm):
    port = forwarding(proxy, vm, "vnc-wss", "wss-pass")
    fb = fetch_framebuffer("127.0.0.1", port, "wss-pass", websocket=True, tls=True)
    assert fb.name == "snf-proxy-test"


def test_websocket_base64_only_is_refused(proxy, vm):
    port = forwarding(proxy, vm, "vnc-ws")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                     b"Sec-WebSocket-Protocol: base64\r\n\r\n")
        assert sock.recv(200).startswith(b"HTTP/1.1 400")


def test_vnc_wss_without_a_certificate(tmp_path, vm):
    with ProxyProcess(tmp_path) as proxy:
        answer = proxy.request(destination_port=vm.port, type="vnc-wss")
    assert answer["status"] == "FAILED" and "vnc-wss is not available" in answer["reason"]


@pytest.mark.parametrize("fields,reason", [
    ({"auth_password": "wrong"}, "authentication failed for user 'cyclades'"),
    ({"auth_user": "nobody"}, "authentication failed for user 'nobody'"),
    ({"auth_user": None}, "authentication failed: auth_user and auth_password are required"),
    ({"destination_port": "11000"}, "destination_port must be an integer"),
    ({"destination_port": 0}, "destination_port must be an integer"),
    ({"destination_address": ""}, "destination_address must be"),
    ({"password": ""}, "password must be a non-empty string"),
    ({"type": "spice"}, "type must be one of vnc, vnc-ws, vnc-wss"),
    ({"source_port": 80}, "source_port must be 0 or in the proxy's pool 25000-25099"),
])
def test_bad_requests_fail_with_a_reason(proxy, vm, fields, reason):
    fields.setdefault("destination_port", vm.port)
    answer = proxy.request(**fields)
    assert answer["status"] == "FAILED" and answer["source_port"] == 0
    assert reason in answer["reason"]


@pytest.mark.parametrize("data,reason", [
    (b"not json at all", "malformed request: not a JSON object"),
    (b"[1, 2, 3]", "malformed request: not a JSON object"),
    (b'{"source_port": 0, ', "malformed request: incomplete JSON"),
    (b'{"a": 1} trailing', "data after the JSON object"),
    (b'{"a": tru}', "malformed request"),
    (b"\xff\xfe\x00garbage\x80", "malformed request: not UTF-8"),
    (os.urandom(3000) + b"\xff", "malformed request"),
    (b"{" + b" " * 5000, "request larger than 4096 bytes"),
    (b'"just a string"', "not a JSON object"),
])
def test_garbage_on_the_control_channel(proxy, vm, data, reason):
    answer = json.loads(proxy.raw(data))
    assert answer["status"] == "FAILED" and reason in answer["reason"]
    # and the proxy still serves
    assert proxy.request(destination_port=vm.port)["status"] == "OK"


def test_unreachable_vnc_server(proxy):
    with socket.create_server(("127.0.0.1", 0)) as sock:
        dead = sock.getsockname()[1]
    answer = proxy.request(destination_port=dead)
    assert answer["status"] == "FAILED" and "cannot connect to the VNC server at 127.0.0.1:%d" % dead \
        in answer["reason"]
    # something that is not an RFB server
    with socket.create_server(("127.0.0.1", 0)) as sock:
        answer = proxy.request(destination_port=sock.getsockname()[1])
        assert answer["status"] == "FAILED" and "does not answer as an unauthenticated RFB server" \
            in answer["reason"]


def test_limits(tmp_path, vm):
    with ProxyProcess(tmp_path, "--max-sessions", "2", "--max-auth-failures", "3") as proxy:
        assert proxy.request(destination_port=vm.port)["status"] == "OK"
        assert proxy.request(destination_port=vm.port)["status"] == "OK"
        answer = proxy.request(destination_port=vm.port)
        assert answer["status"] == "FAILED" and answer["reason"] == "too many console sessions (limit 2)"
        for _ in range(3):
            assert proxy.request(destination_port=vm.port, auth_password="bad")["status"] == "FAILED"
        answer = proxy.request(destination_port=vm.port)
        assert "too many failed authentications from 127.0.0.1" in answer["reason"]


def test_control_channel_over_tls(tmp_path, vm, certificate):
    cert, key = certificate
    with ProxyProcess(tmp_path, "--enable-ssl", "--cert-file", cert, "--key-file", key) as proxy:
        context = ssl.create_default_context(cafile=cert)
        context.check_hostname = False
        answer = proxy.request(tls=context, destination_port=vm.port)
        assert answer["status"] == "OK"
        # a plain-text client gets no answer
        assert proxy.raw(b'{"a": 1}') == b""


def test_users_file(tmp_path):
    path = tmp_path / "users"
    assert add_user(path, "alice", "pw-one").returncode == 0
    assert add_user(path, "bob", "pw-two").returncode == 0
    assert add_user(path, "alice", "pw-three").returncode == 0   # replaced, not added
    text = path.read_text()
    assert [line.split(":")[0] for line in text.splitlines()] == ["bob", "alice"]
    assert "pw-" not in text and oct(path.stat().st_mode & 0o777) == "0o600"
    from synnefo.vncauthproxy.users import UserStore
    store = UserStore(str(path))
    assert store.check("alice", "pw-three") and store.check("alice", "pw-three")
    assert not store.check("alice", "pw-one") and not store.check("carol", "pw-two")
    bad = add_user(path, "bad name", "x")
    assert bad.returncode == 1 and "user names are" in bad.stderr
    empty = add_user(path, "carol", "")
    assert empty.returncode == 1 and "the password is empty" in empty.stderr


def test_start_up_errors(tmp_path):
    proc = ProxyProcess(tmp_path)
    assert add_user(proc.auth_file).returncode == 0
    import subprocess

    from proxy_helpers import proxy_command
    missing = subprocess.run(proxy_command("--foreground", "--auth-file", str(tmp_path / "none")),
                             capture_output=True, text=True, timeout=30)
    assert missing.returncode == 1 and "cannot read the users file" in missing.stderr \
        and "--add-user" in missing.stderr
    no_cert = subprocess.run(proxy_command("--foreground", "--auth-file", proc.auth_file, "--enable-ssl"),
                             capture_output=True, text=True, timeout=30)
    assert no_cert.returncode == 1 and "--enable-ssl needs --cert-file" in no_cert.stderr
    assert USER and PASSWORD
