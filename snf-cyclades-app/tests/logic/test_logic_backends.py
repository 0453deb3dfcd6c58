"""backends.get_rapi_client, resource statistics; console clients."""

import json
import os
import socket
import tempfile
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


def test_vncauthproxy_console(settings):
    directory = tempfile.mkdtemp()
    path = os.path.join(directory, "ctrl.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    received = []

    def serve(reply):
        conn, _ = server.accept()
        with conn:
            data = b""
            while True:
                chunk = conn.recv(1024)
                if not chunk:
                    break
                data += chunk
            received.append(json.loads(data))
            conn.sendall(json.dumps(reply).encode())

    settings.CONSOLE_BACKEND = "vncauthproxy"
    settings.VNCAUTHPROXY_SOCKET = path
    settings.CONSOLE_HOST = "api.example.org"
    thread = threading.Thread(target=serve, args=({"source_port": 51234, "status": "OK"},))
    thread.start()
    client = console.get_console_client()
    assert client.open("node1", 11000, "Secret123") == ("api.example.org", 51234)
    thread.join(5)
    assert received == [{"source_port": 0, "destination_address": "node1",
                         "destination_port": 11000, "password": "Secret123"}]
    thread = threading.Thread(target=serve, args=({"source_port": 0, "status": "FAILED"},))
    thread.start()
    with pytest.raises(errors.ServiceUnavailable, match="error status"):
        client.open("node1", 11000, "Secret123")
    thread.join(5)
    server.close()
    os.unlink(path)
    with pytest.raises(errors.ServiceUnavailable):
        client.open("node1", 11000, "x")


def test_console_backend_selection(settings):
    settings.CONSOLE_BACKEND = "direct"
    assert isinstance(console.get_console_client(), console.DirectConsole)
    settings.CONSOLE_BACKEND = "synnefo.logic.console.DirectConsole"
    assert isinstance(console.get_console_client(), console.DirectConsole)
