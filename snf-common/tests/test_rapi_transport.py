"""synnefo.rapi transport: error mapping, TLS (CA file, fingerprint pinning), retries, IPv6, timeouts."""

import socket
import threading
import types

import pytest
from synnefo.rapi import (
    GanetiApiError,
    GanetiConnectionError,
    GanetiNotFound,
    GanetiRapiClient,
    normalize_fingerprint,
)
from synnefo.rapi import transport as transport_mod
from synnefo.rapi.transport import encode_query, format_host
from test_rapi_support import DROP, FakeRapi, Reply, free_port, ganeti_error, make_cert


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("rapi-certs"))
    return {
        "good": make_cert(d, "good"),
        # a certificate for another name: only fingerprint pinning accepts it on 127.0.0.1
        "other": make_cert(d, "other", dns_names=("cluster.example.org",), ips=()),
    }


@pytest.fixture
def server(certs):
    srv = FakeRapi(certs["good"]).start()
    yield srv
    srv.stop()


@pytest.fixture
def other_server(certs):
    srv = FakeRapi(certs["other"]).start()
    yield srv
    srv.stop()


@pytest.fixture
def sleeps(monkeypatch):
    """Record (and skip) the retry back-off sleeps."""
    calls = []
    # replace the module's view of ``time`` only: the test server's own sleeps stay real
    monkeypatch.setattr(transport_mod, "time", types.SimpleNamespace(sleep=calls.append))
    return calls


def client_for(srv, certs, **kw):
    kw.setdefault("verify", certs["good"].cert_path)
    kw.setdefault("timeout", 5)
    return GanetiRapiClient(srv.host, srv.port, "snf", "pw", **kw)


# -- helpers --------------------------------------------------------------


def test_format_host_brackets_ipv6_only():
    assert format_host("::1") == "[::1]"
    assert format_host("2001:db8::5") == "[2001:db8::5]"
    assert format_host("[::1]") == "[::1]"
    assert format_host("10.0.0.1") == "10.0.0.1"
    assert format_host("ganeti.example.org") == "ganeti.example.org"


def test_base_url():
    assert GanetiRapiClient("::1", 5080).transport.url("/info") == "https://[::1]:5080/2/info"
    assert GanetiRapiClient("cl.example.org").transport.url("/jobs") == "https://cl.example.org:5080/2/jobs"


def test_encode_query_booleans_lists_and_none():
    assert encode_query({"bulk": True, "force": False, "x": None, "tag": ["a", "b"], "type": "soft"}) == [
        ("bulk", 1), ("force", 0), ("tag", "a"), ("tag", "b"), ("type", "soft")]


def test_normalize_fingerprint():
    hexfp = "ab" * 32
    assert normalize_fingerprint(":".join(["AB"] * 32)) == hexfp
    assert normalize_fingerprint(hexfp.upper()) == hexfp
    with pytest.raises(ValueError):
        normalize_fingerprint("abcd")
    with pytest.raises(ValueError):
        GanetiRapiClient("127.0.0.1", fingerprint="zz" * 32)


def test_client_has_its_own_session():
    a, b = GanetiRapiClient("h1"), GanetiRapiClient("h2")
    assert a.transport.session is not b.transport.session


# -- HTTP error mapping ---------------------------------------------------


def test_404_with_ganeti_body(server, certs):
    server.routes[("GET", "/2/instances/x")] = ganeti_error(404, "Not Found", "Instance 'x' not known")
    with client_for(server, certs) as c, pytest.raises(GanetiNotFound) as exc:
        c.get_instance("x")
    err = exc.value
    assert isinstance(err, GanetiApiError)
    assert err.code == 404
    assert err.details == "Instance 'x' not known"
    assert "Not Found" in err.message and "Instance 'x' not known" in err.message
    assert "404" in str(err)


@pytest.mark.parametrize("status,message", [(401, "Unauthorized"), (403, "Forbidden"),
                                            (500, "Internal Server Error"), (400, "Bad Request")])
def test_errors_with_json_body(server, certs, status, message):
    explain = "explanation for %d" % status
    server.routes[("GET", "/2/info")] = ganeti_error(status, message, explain)
    with client_for(server, certs) as c, pytest.raises(GanetiApiError) as exc:
        c.get_info()
    err = exc.value
    assert not isinstance(err, (GanetiNotFound, GanetiConnectionError))
    assert (err.code, err.details) == (status, explain)
    assert err.message == "%s: %s" % (message, explain)


def test_error_json_without_explain(server, certs):
    server.routes[("GET", "/2/info")] = Reply(403, {"code": 403, "message": "Forbidden"})
    with client_for(server, certs) as c, pytest.raises(GanetiApiError) as exc:
        c.get_info()
    assert (exc.value.code, exc.value.message, exc.value.details) == (403, "Forbidden", None)


def test_500_without_json_body(server, certs):
    server.routes[("GET", "/2/info")] = Reply(500, text="<html>proxy exploded</html>",
                                                content_type="text/html")
    with client_for(server, certs) as c, pytest.raises(GanetiApiError) as exc:
        c.get_info()
    err = exc.value
    assert err.code == 500
    assert err.message == "Internal Server Error"
    assert err.details == "<html>proxy exploded</html>"


def test_404_without_json_body(server, certs):
    server.routes[("GET", "/2/info")] = Reply(404, text="", content_type="text/plain")
    with client_for(server, certs) as c, pytest.raises(GanetiNotFound) as exc:
        c.get_info()
    assert exc.value.code == 404 and exc.value.details is None


def test_http_errors_are_not_retried(server, certs, sleeps):
    server.routes[("GET", "/2/info")] = ganeti_error(500, "Internal Server Error", "boom")
    with client_for(server, certs) as c, pytest.raises(GanetiApiError):
        c.get_info()
    assert len(server.requests) == 1 and sleeps == []


def test_invalid_json_in_success_answer(server, certs):
    server.routes[("GET", "/2/info")] = Reply(200, text="not json", content_type="text/plain")
    with client_for(server, certs) as c, pytest.raises(GanetiApiError) as exc:
        c.get_info()
    assert exc.value.code == 200 and exc.value.details == "not json"


# -- connection failures and retries --------------------------------------


def test_connection_refused(sleeps):
    port = free_port()
    c = GanetiRapiClient("127.0.0.1", port, verify=False, retries=3, backoff=0.1)
    with pytest.raises(GanetiConnectionError) as exc:
        c.get_info()
    err = exc.value
    assert isinstance(err, GanetiApiError) and err.code is None and not err.timed_out
    assert not err.may_have_reached  # never sent: safe to undo
    assert "cannot connect" in err.message and "127.0.0.1:%d" % port in err.message
    # 1 try + 3 retries, exponential back-off
    assert sleeps == pytest.approx([0.1, 0.2, 0.4])


def test_connection_refused_submit_not_retried(sleeps):
    c = GanetiRapiClient("127.0.0.1", free_port(), verify=False, retries=3)
    with pytest.raises(GanetiConnectionError):
        c.startup_instance("x")
    with pytest.raises(GanetiConnectionError):
        c.create_instance(name="x")
    with pytest.raises(GanetiConnectionError):
        c.delete_instance("x")
    assert sleeps == []


def test_get_retried_after_dropped_connections(server, certs, sleeps):
    hits = []

    def flaky(req):
        hits.append(req)
        return DROP if len(hits) <= 2 else {"name": "cluster.gnt.test"}

    server.routes[("GET", "/2/info")] = flaky
    with client_for(server, certs, retries=3) as c:
        assert c.get_info() == {"name": "cluster.gnt.test"}
    assert len(hits) == 3 and len(sleeps) == 2


def test_get_gives_up_after_retries(server, certs, sleeps):
    server.routes[("GET", "/2/info")] = DROP
    with client_for(server, certs, retries=2) as c, pytest.raises(GanetiConnectionError):
        c.get_info()
    assert len(server.requests) == 3 and len(sleeps) == 2


@pytest.mark.parametrize("method,path,call", [
    ("POST", "/2/instances", lambda c: c.create_instance(name="x")),
    ("PUT", "/2/instances/x/shutdown", lambda c: c.shutdown_instance("x")),
    ("DELETE", "/2/instances/x", lambda c: c.delete_instance("x")),
    ("DELETE", "/2/jobs/4", lambda c: c.cancel_job(4)),
])
def test_non_get_dropped_connection_not_retried(server, certs, sleeps, method, path, call):
    server.routes[(method, path)] = DROP
    with client_for(server, certs, retries=3) as c, pytest.raises(GanetiConnectionError) as exc:
        call(c)
    assert len(server.requests) == 1 and sleeps == []
    # the request was sent, the answer lost: Ganeti may have queued the job
    assert exc.value.may_have_reached and "lost the connection" in exc.value.message


def test_read_timeout(server, certs, sleeps):
    server.routes[("GET", "/2/info")] = Reply(200, {}, delay=2)
    with client_for(server, certs, timeout=0.3) as c, pytest.raises(GanetiConnectionError) as exc:
        c.get_info()
    assert exc.value.timed_out and "timed out" in exc.value.message
    assert sleeps == []  # a read timeout may mean Ganeti got the request: not retried
    assert exc.value.may_have_reached


def test_connect_timeout_on_silent_listener(sleeps):
    # A listener that never accepts/answers: the TLS handshake never completes.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(0)
        c = GanetiRapiClient("127.0.0.1", s.getsockname()[1], verify=False, timeout=0.3, retries=0)
        with pytest.raises(GanetiConnectionError) as exc:
            c.get_info()
    assert exc.value.timed_out
    # requests reports a TLS handshake that times out as a read timeout, like
    # one after the request was sent: counted as possibly received (the safe
    # side: a submission is then looked up or left to reconciliation)
    assert exc.value.may_have_reached


# -- TLS ------------------------------------------------------------------


def test_verify_with_ca_file(server, certs):
    with client_for(server, certs, verify=certs["good"].cert_path) as c:
        assert c.get_info()["name"] == "cluster.gnt.test"


def test_verify_with_system_cas_rejects_self_signed(server, certs, sleeps):
    with client_for(server, certs, verify=True) as c, pytest.raises(GanetiConnectionError) as exc:
        c.get_info()
    assert "TLS verification" in exc.value.message
    assert "certificate" in exc.value.details.lower()
    assert sleeps == []  # TLS failures are not retried


def test_verify_with_wrong_ca_file(server, certs):
    with client_for(server, certs, verify=certs["other"].cert_path) as c, \
            pytest.raises(GanetiConnectionError) as exc:
        c.get_info()
    assert "TLS verification" in exc.value.message


def test_verify_checks_hostname(other_server, certs):
    # CA file is right, but the certificate is for cluster.example.org, not 127.0.0.1
    with client_for(other_server, certs, verify=certs["other"].cert_path) as c, \
            pytest.raises(GanetiConnectionError):
        c.get_info()


def test_verify_false(server, certs):
    with client_for(server, certs, verify=False) as c:
        assert c.get_info()["name"] == "cluster.gnt.test"


@pytest.mark.parametrize("fmt", [str, str.upper, lambda h: ":".join(h[i:i + 2] for i in range(0, 64, 2))])
def test_fingerprint_pinning_accepts_exact_certificate(other_server, certs, fmt):
    # Self-signed, wrong hostname: accepted because the digest matches.
    fp = fmt(certs["other"].fingerprint)
    with client_for(other_server, certs, verify=True, fingerprint=fp) as c:
        assert c.get_info()["name"] == "cluster.gnt.test"
        assert c.get_instances() == ["ci-inst1.gnt.test"]


def test_fingerprint_pinning_rejects_other_certificate(server, certs, sleeps):
    wrong = certs["other"].fingerprint
    with client_for(server, certs, fingerprint=wrong) as c, pytest.raises(GanetiConnectionError) as exc:
        c.get_info()
    err = exc.value
    assert "does not match the pinned SHA-256 fingerprint" in err.message
    assert wrong in err.message
    assert certs["good"].fingerprint in err.details  # urllib3 reports what it got
    assert server.requests == []  # nothing was sent to the impostor
    assert sleeps == []


def test_fingerprint_mismatch_on_submit(server, certs):
    with client_for(server, certs, fingerprint=certs["other"].fingerprint) as c, \
            pytest.raises(GanetiConnectionError):
        c.startup_instance("x")
    assert server.requests == []


# -- IPv6 -----------------------------------------------------------------


def _ipv6_available():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_available(), reason="no IPv6 loopback")
@pytest.mark.parametrize("pin", [False, True])
def test_ipv6_literal(certs, pin):
    srv = FakeRapi(certs["good"], host="::1").start()
    try:
        kw = {"fingerprint": certs["good"].fingerprint} if pin else {"verify": certs["good"].cert_path}
        with GanetiRapiClient("::1", srv.port, "snf", "pw", timeout=5, **kw) as c:
            assert c.transport.base_url == "https://[::1]:%d" % srv.port
            assert c.get_info()["name"] == "cluster.gnt.test"
        host = {k.lower(): v for k, v in srv.last().headers.items()}["host"]
        assert host == "[::1]:%d" % srv.port
    finally:
        srv.stop()


# -- concurrency ------------------------------------------------------------


def test_client_usable_from_threads(server, certs):
    errors = []
    with client_for(server, certs) as c:
        def work():
            try:
                for _ in range(5):
                    c.get_info()
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == [] and len(server.requests) == 20


@pytest.mark.parametrize("value", [None, ""])
def test_unset_verify_means_system_cas(value):
    assert GanetiRapiClient("h", verify=value).transport.session.verify is True


def test_missing_ca_file(server, certs, tmp_path):
    with client_for(server, certs, verify=str(tmp_path / "nope.pem")) as c, \
            pytest.raises(GanetiConnectionError) as exc:
        c.get_info()
    assert "TLS setup" in exc.value.message and "nope.pem" in exc.value.details


def test_verify_true_uses_the_system_trust_store(server, other_server, certs, monkeypatch):
    # OpenSSL's default verify paths honour SSL_CERT_FILE: stand-in for a CA the
    # admin installed system-wide (requests' certifi bundle would not know it).
    monkeypatch.setenv("SSL_CERT_FILE", certs["good"].cert_path)
    with client_for(server, certs, verify=True) as c:
        assert c.get_info()["name"] == "cluster.gnt.test"
    monkeypatch.setenv("SSL_CERT_FILE", certs["other"].cert_path)
    with client_for(other_server, certs, verify=True) as c, pytest.raises(GanetiConnectionError):
        c.get_info()  # trusted CA, but the certificate is not for 127.0.0.1
