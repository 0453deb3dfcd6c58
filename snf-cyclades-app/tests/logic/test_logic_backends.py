"""backends.get_rapi_client, resource statistics; console clients."""

import json
import socket
import threading

import pytest
from logic_helpers import FakeRapi, make_backend
from synnefo.logic import backends, console, errors
from synnefo.rapi import GanetiRapiClient


def test_get_rapi_client_cached_by_hash(db):
    backends.clear_client_cache()
    backend = make_backend("c1.example.org", ssl_fingerprint="ab" * 32)
    client = backends.get_rapi_client(backend)
    assert isinstance(client, GanetiRapiClient)
    assert client.host == "c1.example.org" and client.username == "u"
    assert backends.get_rapi_client(backend) is client
    backend.password = "changed"
    backend.save()
    assert backends.get_rapi_client(backend) is not client
    backend.offline = True
    with pytest.raises(errors.ServiceUnavailable):
        backends.get_rapi_client(backend)
    with pytest.raises(errors.ServiceUnavailable):
        backends.get_rapi_client(None)
    backends.clear_client_cache()


def test_request_budget_and_patient_clients(db, settings):
    """API requests get short calls without retries; work off the request
    path (stats refresh, backend-add) gets the long timeout and GET retries."""
    settings.GANETI_RAPI_REQUEST_TIMEOUT, settings.GANETI_RAPI_TIMEOUT = 4, 40
    backends.clear_client_cache()
    backend = make_backend("c2.example.org")
    quick = backends.get_rapi_client(backend)
    assert (quick.transport.timeout, quick.transport.retries) == (4, 0)
    with backends.patient_rapi_calls():
        patient = backends.get_rapi_client(backend)
    assert patient is not quick
    assert (patient.transport.timeout, patient.transport.retries) == (40, 3)
    assert backends.get_rapi_client(backend) is quick  # outside again: the request budget
    backends.clear_client_cache()


def test_dispatcher_starts_the_stats_refresher_unless_turned_off(db, settings, rapi):
    from synnefo.logic import dispatcher
    stop = threading.Event()
    settings.BACKEND_STATS_REFRESH_INTERVAL = 0
    assert dispatcher.start_stats_refresher(settings, stop) is None
    settings.BACKEND_STATS_REFRESH_INTERVAL = 3600
    refresher = dispatcher.start_stats_refresher(settings, stop)
    try:
        assert refresher.daemon and refresher.is_alive()
    finally:
        stop.set()
        refresher.join(10)
    assert not refresher.is_alive()


def test_update_resources_sums_usable_nodes(db, monkeypatch):
    fake = FakeRapi()
    base = {"vm_capable": True, "drained": False, "offline": False, "cnodes": 1, "mfree": 1,
            "mtotal": 2, "dfree": 3, "dtotal": 4, "pinst_cnt": 5, "ctotal": 6}
    fake.nodes = [dict(base), dict(base), dict(base, drained=True), dict(base, offline=True),
                  dict(base, vm_capable=False), dict(base, cnodes=0)]
    monkeypatch.setattr(backends, "get_rapi_client", lambda b: fake)
    backend = make_backend()
    backends.update_resources(backend)
    backend.refresh_from_db()
    assert (backend.mfree, backend.mtotal, backend.dfree, backend.dtotal, backend.pinst_cnt,
            backend.ctotal) == (2, 4, 6, 8, 10, 12)
    assert not backends.stats_are_stale(backend)


def test_backend_mac_prefix(db):
    from synnefo.db.models import Network
    backend = make_backend(index=11)
    net = Network(mac_prefix="aa:00:1")
    assert backends.backend_mac_prefix(net, backend) == "aa:00:1b"


class FakeProxy:
    """A TCP control channel that records requests and answers ``reply``."""

    def __init__(self, reply):
        self.reply, self.received = reply, []
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                data = b""
                while not data.endswith(b"\n"):
                    chunk = conn.recv(1024)
                    if not chunk:
                        break
                    data += chunk
                self.received.append(json.loads(data))
                conn.sendall(json.dumps(self.reply).encode() + b"\n")

    def opts(self, **extra):
        return dict({"server_address": "127.0.0.1", "server_port": self.port, "auth_user": "cyclades",
                     "auth_password": "s3cret"}, **extra)

    def close(self):
        self.server.close()


def _dead_port():
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return sock.getsockname()[1]


def test_vncauthproxy_console(settings):
    proxy = FakeProxy({"status": "OK", "source_port": 25123, "proxy_address": "console.example.org"})
    try:
        settings.CONSOLE_BACKEND = "vncauthproxy"
        settings.CYCLADES_VNCAUTHPROXY_OPTS = [proxy.opts()]
        client = console.get_console_client()
        assert client.open("node1", 11000, "Secret123", "vnc-ws") == ("console.example.org", 25123)
        assert proxy.received == [{"source_port": 0, "destination_address": "node1",
                                   "destination_port": 11000, "password": "Secret123", "type": "vnc-ws",
                                   "auth_user": "cyclades", "auth_password": "s3cret"}]
        # public_address overrides what the proxy answers
        settings.CYCLADES_VNCAUTHPROXY_OPTS = proxy.opts(public_address="vnc.example.org")
        assert console.get_console_client().open("node1", 11000, "x") == ("vnc.example.org", 25123)
        proxy.reply = {"status": "FAILED", "source_port": 0, "reason": "authentication failed"}
        with pytest.raises(errors.ServiceUnavailable, match="refused the forwarding: authentication failed"):
            console.get_console_client().open("node1", 11000, "x")
    finally:
        proxy.close()


def test_vncauthproxy_next_proxy_when_one_is_down(settings):
    proxy = FakeProxy({"status": "OK", "source_port": 25124, "proxy_address": "p2"})
    try:
        down = {"server_address": "127.0.0.1", "server_port": _dead_port()}
        settings.CYCLADES_VNCAUTHPROXY_OPTS = [down, proxy.opts(), down]
        for _ in range(6):   # whichever is picked first, the live one answers
            assert console.get_console_client().open("n", 1, "x") == ("p2", 25124)
    finally:
        proxy.close()
    settings.CYCLADES_VNCAUTHPROXY_OPTS = [down]
    with pytest.raises(errors.ServiceUnavailable, match="No console proxy answers"):
        console.get_console_client().open("n", 1, "x")
    settings.CYCLADES_VNCAUTHPROXY_OPTS = []
    with pytest.raises(errors.ServiceUnavailable, match="not configured"):
        console.get_console_client()


def test_console_backend_selection(settings):
    assert isinstance(console.get_console_client(), console.VncAuthProxyConsole)   # the default
    settings.CONSOLE_BACKEND = "direct"
    assert isinstance(console.get_console_client(), console.DirectConsole)
    settings.CONSOLE_BACKEND = "synnefo.logic.console.DirectConsole"
    assert isinstance(console.get_console_client(), console.DirectConsole)


def test_direct_console_is_warned_about(settings):
    from django.core import checks
    settings.CONSOLE_BACKEND = "direct"
    warnings = [m for m in checks.run_checks() if m.id == "synnefo.W001"]
    assert len(warnings) == 1 and "no authentication" in warnings[0].msg
    settings.CONSOLE_BACKEND = "vncauthproxy"
    assert not [m for m in checks.run_checks() if m.id == "synnefo.W001"]
