"""GanetiRapiClient resource methods and wait_for_job against an in-test HTTPS server."""

import base64
import types

import pytest
from synnefo.rapi import (
    GanetiApiError,
    GanetiConnectionError,
    GanetiJobTimeout,
    GanetiNotFound,
    GanetiRapiClient,
)
from synnefo.rapi import client as client_mod
from synnefo.rapi import transport as transport_mod
from test_rapi_support import DROP, INSTANCE, NETWORK, FakeRapi, Reply, free_port, load, make_cert


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    return make_cert(str(tmp_path_factory.mktemp("rapi-cert")), "rapi")


@pytest.fixture
def server(cert):
    srv = FakeRapi(cert).start()
    yield srv
    srv.stop()


@pytest.fixture
def client(server, cert):
    c = GanetiRapiClient("127.0.0.1", server.port, "snf", "s3cret", verify=cert.cert_path, timeout=5)
    yield c
    c.close()


def submit(job_id=42):
    return lambda req: job_id


# -- read-only calls ------------------------------------------------------


def test_get_info_returns_captured_answer(client, server):
    info = client.get_info()
    assert info == load("rapi-GET-2-info.json")
    assert info["software_version"] == "3.0.2"
    req = server.last()
    assert (req.method, req.path, req.query, req.body) == ("GET", "/2/info", {}, None)


def test_headers_and_basic_auth(client, server):
    client.get_info()
    headers = {k.lower(): v for k, v in server.last().headers.items()}
    assert headers["accept"] == "application/json"
    assert headers["authorization"] == "Basic " + base64.b64encode(b"snf:s3cret").decode()


def test_json_content_type_on_bodies(client, server):
    server.routes[("PUT", "/2/instances/%s/modify" % INSTANCE)] = submit()
    client.modify_instance(INSTANCE, os_name="snf-image+default")
    headers = {k.lower(): v for k, v in server.last().headers.items()}
    assert headers["content-type"] == "application/json"


def test_no_auth_header_without_credentials(server, cert):
    with GanetiRapiClient("127.0.0.1", server.port, verify=cert.cert_path) as c:
        c.get_info()
    assert "authorization" not in {k.lower() for k in server.last().headers}


def test_get_features(client, server):
    assert "instance-create-reqv1" in client.get_features()
    assert server.last().path == "/2/features"


def test_get_features_missing_on_old_rapi(client, server):
    del server.routes[("GET", "/2/features")]
    assert client.get_features() == []


def test_get_instances_plain_returns_names(client, server):
    assert client.get_instances() == [INSTANCE]
    assert server.last().query == {}


def test_get_instances_bulk(client, server):
    instances = client.get_instances(bulk=True)
    assert instances == load("rapi-GET-2-instances-bulk.json")
    assert server.last().query == {"bulk": ["1"]}


def test_get_instance(client, server):
    assert client.get_instance(INSTANCE)["name"] == INSTANCE
    assert server.last().path == "/2/instances/" + INSTANCE


def test_get_instance_not_found(client):
    with pytest.raises(GanetiNotFound) as exc:
        client.get_instance("nope")
    assert exc.value.code == 404


def test_instance_name_is_quoted(client, server):
    with pytest.raises(GanetiNotFound):
        client.get_instance("a/b c")
    assert server.last().path == "/2/instances/a%2Fb%20c"


def test_get_instance_console_and_tags(client, server):
    assert client.get_instance_console(INSTANCE)["kind"] == "vnc"
    assert server.last().path == "/2/instances/%s/console" % INSTANCE
    assert client.get_instance_tags(INSTANCE) == ["ci"]
    assert server.last().path == "/2/instances/%s/tags" % INSTANCE


def test_get_jobs(client, server):
    assert client.get_jobs() == list(range(1, 12))
    assert client.get_jobs(bulk=True)[0]["id"] == 3
    assert server.last().query == {"bulk": ["1"]}


def test_get_job(client, server):
    job = client.get_job("3")
    assert job["status"] == "success" and job["opresult"] == [None]
    assert server.last().path == "/2/jobs/3"


def test_get_unknown_job_null_fields_is_not_found(client, server):
    # Ganeti answers 200 with null fields for a job it does not know.
    server.routes[("GET", "/2/jobs/999")] = {"id": None, "status": None, "ops": None, "opresult": None}
    with pytest.raises(GanetiNotFound) as exc:
        client.get_job(999)
    assert exc.value.code == 404


def test_get_networks(client, server):
    assert client.get_networks() == [NETWORK]
    assert client.get_networks(bulk=True)[0]["network"] == "203.0.113.0/24"
    assert client.get_network(NETWORK)["group_list"] == [["default", "bridged", "br-gnt", ""]]
    assert server.last().path == "/2/networks/" + NETWORK


def test_get_nodes_and_groups(client, server):
    assert client.get_nodes() == ["vm.gnt.test"]
    assert client.get_nodes(bulk=True)[0]["mfree"] == 1024
    assert server.last().query == {"bulk": ["1"]}
    assert client.get_groups() == ["default"]
    assert client.get_groups(bulk=True)[0]["name"] == "default"


# -- job-submitting calls -------------------------------------------------

P = "/2/instances/" + INSTANCE

SUBMITS = [
    # (id, call, method, path, query, body)
    ("create", lambda c: c.create_instance(mode="create", name="snf-1", disks=[{"size": 1024}]),
     "POST", "/2/instances", {},
     {"mode": "create", "name": "snf-1", "disks": [{"size": 1024}], "__version__": 1}),
    ("delete", lambda c: c.delete_instance(INSTANCE), "DELETE", P, {}, None),
    ("startup", lambda c: c.startup_instance(INSTANCE), "PUT", P + "/startup", {}, None),
    ("shutdown", lambda c: c.shutdown_instance(INSTANCE), "PUT", P + "/shutdown", {}, {}),
    ("shutdown-timeout", lambda c: c.shutdown_instance(INSTANCE, timeout=60),
     "PUT", P + "/shutdown", {}, {"timeout": 60}),
    ("reboot", lambda c: c.reboot_instance(INSTANCE), "POST", P + "/reboot", {"type": ["soft"]}, None),
    ("reboot-hard", lambda c: c.reboot_instance(INSTANCE, type="hard"),
     "POST", P + "/reboot", {"type": ["hard"]}, None),
    ("modify", lambda c: c.modify_instance(INSTANCE, nics=[["add", {"network": "snf-net-1"}]], hotplug=True),
     "PUT", P + "/modify", {}, {"nics": [["add", {"network": "snf-net-1"}]], "hotplug": True}),
    ("rename", lambda c: c.rename_instance(INSTANCE, "snf-7"),
     "PUT", P + "/rename", {}, {"new_name": "snf-7", "ip_check": False, "name_check": False}),
    ("add-tags", lambda c: c.add_instance_tags(INSTANCE, ["a", "b:c"]),
     "PUT", P + "/tags", {"tag": ["a", "b:c"]}, None),
    ("delete-tags", lambda c: c.delete_instance_tags(INSTANCE, ["a"]),
     "DELETE", P + "/tags", {"tag": ["a"]}, None),
    ("create-network", lambda c: c.create_network(network_name="snf-net-1", network="10.0.0.0/24",
                                                  conflicts_check=True, add_reserved_ips=None),
     "POST", "/2/networks", {},
     {"network_name": "snf-net-1", "network": "10.0.0.0/24", "conflicts_check": True,
      "add_reserved_ips": None}),
    ("connect",
     lambda c: c.connect_network("snf-net-1", "default", "bridged", "br0", depends=[[5, ["success"]]]),
     "PUT", "/2/networks/snf-net-1/connect", {},
     {"group_name": "default", "network_mode": "bridged", "network_link": "br0",
      "depends": [[5, ["success"]]]}),
    ("connect-conflicts", lambda c: c.connect_network("n", "g", "routed", "rt", conflicts_check=True),
     "PUT", "/2/networks/n/connect", {},
     {"group_name": "g", "network_mode": "routed", "network_link": "rt", "conflicts_check": True}),
    ("disconnect", lambda c: c.disconnect_network("snf-net-1", "default"),
     "PUT", "/2/networks/snf-net-1/disconnect", {}, {"group_name": "default"}),
    ("disconnect-depends", lambda c: c.disconnect_network("n", "g", depends=[[1, ["success"]]]),
     "PUT", "/2/networks/n/disconnect", {}, {"group_name": "g", "depends": [[1, ["success"]]]}),
    ("delete-network", lambda c: c.delete_network("snf-net-1"), "DELETE", "/2/networks/snf-net-1", {}, None),
    ("delete-network-depends", lambda c: c.delete_network("n", depends=[[1, []], [2, []]]),
     "DELETE", "/2/networks/n", {}, {"depends": [[1, []], [2, []]]}),
    ("modify-network", lambda c: c.modify_network("n", add_reserved_ips=["10.0.0.5"]),
     "PUT", "/2/networks/n/modify", {}, {"add_reserved_ips": ["10.0.0.5"]}),
    ("modify-cluster", lambda c: c.modify_cluster(), "PUT", "/2/modify", {}, {}),
]


@pytest.mark.parametrize("call,method,path,query,body", [s[1:] for s in SUBMITS], ids=[s[0] for s in SUBMITS])
def test_submit_calls(client, server, call, method, path, query, body):
    server.routes[(method, path)] = lambda req: "1234"  # Ganeti may send the id as a string
    job_id = call(client)
    assert job_id == 1234 and isinstance(job_id, int)
    req = server.last()
    assert (req.method, req.path, req.query, req.body) == (method, path, query, body)
    assert len(server.requests) == 1


def test_create_instance_does_not_mutate_caller_dict(client, server):
    server.routes[("POST", "/2/instances")] = submit()
    kwargs = {"mode": "create", "name": "snf-1"}
    client.create_instance(**kwargs)
    assert kwargs == {"mode": "create", "name": "snf-1"}


def test_reboot_rejects_unknown_type(client):
    with pytest.raises(ValueError):
        client.reboot_instance(INSTANCE, type="sideways")


def test_dry_run_only_on_submits(server, cert):
    server.routes[("PUT", P + "/startup")] = submit(7)
    with GanetiRapiClient("127.0.0.1", server.port, verify=cert.cert_path, dry_run=True) as c:
        assert c.startup_instance(INSTANCE) == 7
        assert server.last().query == {"dry-run": ["1"]}
        c.get_info()
        assert server.last().query == {}


def test_non_integer_job_id_is_an_error(client, server):
    server.routes[("PUT", P + "/startup")] = {"unexpected": True}
    with pytest.raises(GanetiApiError):
        client.startup_instance(INSTANCE)


def test_cancel_job(client, server):
    server.routes[("DELETE", "/2/jobs/9")] = [True, "Job 9 will be canceled"]
    assert client.cancel_job(9) == [True, "Job 9 will be canceled"]
    assert server.last().method == "DELETE"


def test_submit_is_never_retried(client, server):
    server.routes[("PUT", P + "/startup")] = DROP
    with pytest.raises(GanetiConnectionError):
        client.startup_instance(INSTANCE)
    assert len(server.requests) == 1


# -- wait_for_job ---------------------------------------------------------


def script(server, job_id, answers):
    """Serve ``answers`` one per call of /2/jobs/<id>/wait (the last one repeats)."""
    answers = list(answers)

    def route(req):
        return answers.pop(0) if len(answers) > 1 else answers[0]

    server.routes[("GET", "/2/jobs/%d/wait" % job_id)] = route


def info(status, *serials):
    return {"job_info": [status], "log_entries": [[s, [1, 0], "message", "step %d" % s] for s in serials]}


@pytest.mark.parametrize("final", ["success", "error", "canceled"])
def test_wait_for_job_returns_every_final_status(client, server, final):
    script(server, 5, [info("queued"), None, info("running", 1, 2), info(final)])
    assert client.wait_for_job(5, timeout=10) == final
    bodies = [r.body for r in server.requests]
    assert all(r.method == "GET" and r.path == "/2/jobs/5/wait" for r in server.requests)
    assert bodies[0] == {"fields": ["status"], "previous_job_info": None, "previous_log_serial": None}
    assert bodies[1] == {"fields": ["status"], "previous_job_info": ["queued"], "previous_log_serial": None}
    assert bodies[3] == {"fields": ["status"], "previous_job_info": ["running"], "previous_log_serial": 2}
    assert len(bodies) == 4


def test_wait_for_job_change_raw(client, server):
    script(server, 6, [info("running", 3)])
    answer = client.wait_for_job_change(6, ["status", "opresult"], ["queued", None], 2)
    assert answer["job_info"] == ["running"]
    assert server.last().body == {"fields": ["status", "opresult"],
                                  "previous_job_info": ["queued", None], "previous_log_serial": 2}


def test_wait_for_job_times_out(client, server):
    script(server, 8, [info("running")])
    with pytest.raises(GanetiJobTimeout) as exc:
        client.wait_for_job(8, timeout=0.8)
    assert exc.value.job_id == 8 and exc.value.last_status == "running"
    assert "8" in str(exc.value)
    assert isinstance(exc.value, GanetiApiError)


def test_wait_for_job_times_out_during_a_long_poll(client, server):
    server.routes[("GET", "/2/jobs/8/wait")] = Reply(200, info("success"), delay=3)
    with pytest.raises(GanetiJobTimeout):
        client.wait_for_job(8, timeout=0.5)


def test_wait_for_unknown_job(client, server):
    with pytest.raises(GanetiNotFound):
        client.wait_for_job(12345, timeout=5)


def test_get_unknown_job_with_echoed_id_is_not_found(client, server):
    server.routes[("GET", "/2/jobs/998")] = {"id": 998, "status": None, "ops": None}
    with pytest.raises(GanetiNotFound):
        client.get_job(998)


def test_wait_for_job_polls_again_after_a_long_poll_timeout(server, cert, monkeypatch):
    monkeypatch.setattr(client_mod, "LONG_POLL_TIMEOUT", 0)
    calls = []

    def route(req):
        calls.append(req)
        if len(calls) == 1:
            return Reply(200, info("running"), delay=1.5)  # outlives the 0.5 s HTTP timeout
        return info("success")

    server.routes[("GET", "/2/jobs/11/wait")] = route
    with GanetiRapiClient("127.0.0.1", server.port, verify=cert.cert_path, timeout=0.5) as c:
        assert c.wait_for_job(11, timeout=10) == "success"
    assert len(calls) == 2


def test_wait_for_job_connection_refused_is_raised(cert, monkeypatch):
    monkeypatch.setattr(transport_mod, "time", types.SimpleNamespace(sleep=lambda s: None))
    with GanetiRapiClient("127.0.0.1", free_port(), verify=cert.cert_path) as c:
        with pytest.raises(GanetiConnectionError):
            c.wait_for_job(1, timeout=5)
