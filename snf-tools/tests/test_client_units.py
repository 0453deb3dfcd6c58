"""synnefo.tools.client against a canned HTTP server on loopback: faults
become typed exceptions, answers outside the documented status are refused,
waits time out, warn, report progress and stop on ERROR."""

import http.server
import json
import threading

import pytest
from synnefo.tools import client as c
from synnefo.tools.loopback import free_port


class Canned(http.server.BaseHTTPRequestHandler):
    routes = {}   # (method, path) -> (status, body or None, raw text or None)
    queued = {}   # (method, path) -> [(status, body, raw, headers), ...] answered first, in turn
    seen = []
    keys = []    # the X-Idempotency-Key of each request

    def log_message(self, *args):
        pass

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.seen.append((self.command, self.path, self.headers.get("X-Auth-Token"),
                          self.headers.get("Content-Type"), body))
        self.keys.append(self.headers.get("X-Idempotency-Key"))
        route = (self.command, self.path.split("?")[0])
        extra = {}
        if self.queued.get(route):
            status, doc, raw, extra = self.queued[route].pop(0)
        else:
            status, doc, raw = self.routes.get(route, (404, None, "nope"))
        data = raw.encode() if raw is not None else (json.dumps(doc).encode() if doc is not None else b"")
        self.send_response(status)
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = answer


@pytest.fixture
def server():
    Canned.routes, Canned.seen, Canned.queued, Canned.keys = {}, [], {}, []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Canned)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield Canned, f"http://127.0.0.1:{httpd.server_address[1]}/api/v1.1/"
    httpd.shutdown()
    httpd.server_close()


def test_faults_are_typed_and_carry_the_fault(server):
    canned, url = server
    canned.routes[("GET", "/api/v1.1/servers/7")] = (
        404, {"itemNotFound": {"code": 404, "message": "Server not found.", "details": ""}}, None)
    canned.routes[("POST", "/api/v1.1/networks/3/action")] = (
        409, {"buildInProgress": {"code": 409, "message": "Network not active yet", "details": "tb"}}, None)
    api = c.ComputeClient(url, "tok")
    with pytest.raises(c.ItemNotFound) as caught:
        api.get_server(7)
    fault = caught.value
    assert (fault.code, fault.name, fault.message) == (404, "itemNotFound", "Server not found.")
    assert fault.details == ""
    assert fault.method == "GET" and fault.url.endswith("/api/v1.1/servers/7")
    assert "404 itemNotFound: Server not found." in str(fault)
    with pytest.raises(c.BuildInProgress) as caught:
        api.connect(3, 42)
    assert caught.value.details == "tb" and isinstance(caught.value, c.ApiFault)
    method, path, token, ctype, body = canned.seen[-1]
    assert (method, path, token, ctype) == ("POST", "/api/v1.1/networks/3/action", "tok", "application/json")
    assert json.loads(body) == {"add": {"serverRef": 42}}


def test_unknown_fault_names_and_non_faults(server):
    canned, url = server
    canned.routes[("GET", "/api/v1.1/flavors")] = (418, {"teapot": {"code": 418, "message": "short"}}, None)
    canned.routes[("GET", "/api/v1.1/images")] = (500, None, "<html>oops</html>")
    canned.routes[("DELETE", "/api/v1.1/servers/5")] = (200, None, "")  # documented: 204
    api = c.ComputeClient(url, "tok")
    with pytest.raises(c.ApiFault) as caught:
        api.list_flavors()
    assert type(caught.value) is c.ApiFault and caught.value.name == "teapot"
    with pytest.raises(c.UnexpectedAnswer, match="500: <html>oops</html>"):
        api.list_images()
    with pytest.raises(c.UnexpectedAnswer, match="unexpected answer 200"):
        api.delete_server(5)


def test_values_unwrapped_and_304_is_empty(server):
    canned, url = server
    canned.routes[("GET", "/api/v1.1/servers/detail")] = (200, {"servers": {"values": [{"id": 1}]}}, None)
    canned.routes[("GET", "/api/v1.1/networks")] = (304, None, "")
    canned.routes[("GET", "/api/v1.1/servers/1/meta")] = (200, {"metadata": {"values": {"OS": "x"}}}, None)
    canned.routes[("PUT", "/api/v1.1/servers/1/meta/a%2Fb")] = (201, {"meta": {"a/b": "v"}}, None)
    api = c.ComputeClient(url, "tok")
    assert api.list_servers(detail=True) == [{"id": 1}]
    assert api.list_networks(changes_since="2026-01-01T00:00:00+00:00") == []
    assert "changes-since=2026-01-01T00%3A00%3A00%2B00%3A00" in canned.seen[-1][1]
    assert api.server_metadata(1) == {"OS": "x"}
    assert api.set_server_metadata(1, "a/b", "v") == "v"


OUTAGE = {"serviceUnavailable": {"code": 503, "message": "Database unavailable, retry later.",
                                  "details": ""}}


def test_create_is_retried_with_the_same_idempotency_key(server):
    canned, url = server
    route = ("POST", "/api/v1.1/servers")
    canned.queued[route] = [(503, OUTAGE, None, {"Retry-After": "0"})]
    canned.routes[route] = (202, {"server": {"id": 9, "adminPass": "pw"}}, None)
    canned.routes[("POST", "/api/v1.1/networks")] = (202, {"network": {"id": 3}}, None)
    api = c.ComputeClient(url, "tok")
    assert api.create_server("web", "img", 1)["id"] == 9
    assert len(canned.keys) == 2 and canned.keys[0] == canned.keys[1] and len(canned.keys[0]) == 32
    api.create_server("web", "img", 1)
    assert canned.keys[2] != canned.keys[0]  # a new create, a new key
    api.create_network("n", idempotency_key="mine")
    assert canned.keys[3] == "mine"


def test_create_retries_run_out_and_plain_503_is_not_retried(server):
    canned, url = server
    route = ("POST", "/api/v1.1/servers")
    canned.queued[route] = [(503, OUTAGE, None, {"Retry-After": "0"})] * 2
    canned.routes[route] = (202, {"server": {"id": 9}}, None)
    api = c.ComputeClient(url, "tok", create_retries=1)
    with pytest.raises(c.ServiceUnavailable) as caught:
        api.create_server("web", "img", 1)
    assert caught.value.retry_after == 0 and len(canned.keys) == 2
    refused = {"serviceUnavailable": {"code": 503, "message": "Failed to create server: x", "details": ""}}
    canned.queued[route] = [(503, refused, None, {})]
    with pytest.raises(c.ServiceUnavailable) as caught:
        api.create_server("web", "img", 1)
    assert caught.value.retry_after is None and len(canned.keys) == 3


def test_key_reused_for_another_body_is_a_typed_fault(server):
    canned, url = server
    canned.routes[("POST", "/api/v1.1/servers")] = (
        409, {"conflictingRequest": {"code": 409, "message": "used", "details": ""}}, None)
    with pytest.raises(c.ConflictingRequest):
        c.ComputeClient(url, "tok").create_server("web", "img", 1, idempotency_key="k")


def test_connection_failures_are_one_error():
    api = c.ComputeClient(f"http://127.0.0.1:{free_port()}/api/v1.1", "tok", timeout=2)
    with pytest.raises(c.ConnectionFailed, match="cannot reach the API: connection refused$"):
        api.list_servers()


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_wait_for_progress_warning_and_timeout():
    clock = Clock()
    seen, warned = [], []
    states = iter([{"status": "BUILD", "progress": p} for p in (0, 20, 50)] + [{"status": "BUILD"}] * 100)
    with pytest.raises(c.WaitTimeout) as caught:
        c.wait_for(lambda: next(states), lambda s: s["status"] == "ACTIVE", what="server 1 to become ACTIVE",
                   timeout=10, interval=1, progress=lambda s, t: seen.append((s.get("progress"), t)),
                   warn_after=4, on_warning=lambda s, t: warned.append(t), describe=c.describe_server,
                   clock=clock, sleep=clock.sleep)
    assert seen[:3] == [(0, 0.0), (20, 1.0), (50, 2.0)]
    assert warned == [4.0]
    text = str(caught.value)
    assert "server 1 to become ACTIVE: not done after 10 s; last seen: server None status BUILD" in text
    assert clock.now == 10


def test_wait_server_stops_on_error_with_the_diagnostic(server):
    canned, url = server
    canned.routes[("GET", "/api/v1.1/servers/9")] = (200, {"server": {
        "id": 9, "status": "ERROR", "SNF:task_state": "",
        "diagnostics": [{"message": "OpPrereqError: disk template not enabled"}]}}, None)
    api = c.ComputeClient(url, "tok", interval=0.01)
    with pytest.raises(c.UnexpectedState) as caught:
        api.wait_server(9, "ACTIVE", timeout=5)
    assert caught.value.state == "ERROR"
    assert "OpPrereqError: disk template not enabled" in str(caught.value)
    assert api.wait_server(9, "ERROR", timeout=5)["status"] == "ERROR"
