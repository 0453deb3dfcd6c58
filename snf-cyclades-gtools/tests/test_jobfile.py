import json
import logging

import pytest

pytest.importorskip("synnefo.messaging.messages",
                    reason="synnefo.messaging (snf-common) is not installed yet")
from gtools_helpers import CLUSTER, PREFIX_ID, job_samples, make_job, ours, sample
from synnefo.ganeti.jobfile import MalformedJob, job_changes, job_id_of_filename, parse_job


def parse(text, prefix=PREFIX_ID):
    return parse_job(text, CLUSTER, prefix)


@pytest.mark.parametrize("name", job_samples())
def test_every_real_sample_parses(name):
    raw = sample(name)
    job = json.loads(raw)
    if raw == ours(raw):
        assert "snf-" in raw
    else:  # as captured, the names are not Cyclades': nothing to publish
        assert parse(raw).changes == []
    parsed = parse(ours(raw))
    assert parsed.job_id == job["id"]
    assert parsed.finished
    assert len(parsed.changes) == len(job["ops"])
    for change, op in zip(parsed.changes, job["ops"], strict=True):
        message = change.message
        assert message["status"] == op["status"] == change.status
        assert message["jobId"] == job["id"] and isinstance(message["jobId"], int)
        assert message["cluster"] == CLUSTER
        assert message["operation"] == op["input"]["OP_ID"]
        assert message["event_time"] == op["end_timestamp"]
        if op["status"] == "error":  # Ganeti's reason: ["ErrorClass", [args]]
            assert message["logmsg"].startswith(op["result"][0] + ": ")
        else:
            assert message["logmsg"] == (op["log"][-1][3] if op["log"] else None)


def test_shutdown_sample_message():
    [change] = parse(ours(sample("queue-job-3-OP_INSTANCE_SHUTDOWN.json"))).changes
    assert change.key == (3, 0, "success")
    assert change.message == {
        **change.message,
        "type": "ganeti-op-status", "instance": "snf-1", "operation": "OP_INSTANCE_SHUTDOWN",
        "status": "success", "jobId": 3, "logmsg": None, "cluster": CLUSTER,
        "event_time": [1795384926, 765516]}


def test_create_sample_keeps_last_log_message():
    [change] = parse(ours(sample("queue-job-2-OP_INSTANCE_CREATE.json"))).changes
    assert change.message["logmsg"] == "* starting instance..."


def test_error_sample():
    [change] = parse(sample("job-create-error.json")).changes  # already named snf-1
    assert change.message["status"] == "error"
    assert change.message["instance"] == "snf-1"
    # the reason of the failure is Ganeti's op result, not its last log line
    assert change.message["logmsg"].startswith("OpPrereqError: ")


def test_error_result_becomes_logmsg():
    [change] = parse(ours(sample("queue-job-OP_INSTANCE_CREATE-error-no-os-definition.json"))).changes
    assert change.message["logmsg"] == (
        "OpExecError: OS Parameters validation failed on node vm.gnt.test: "
        "Directory for OS noop not found in search path")
    [change] = parse(ours(sample("queue-job-13-OP_INSTANCE_STARTUP-error-pre-hook-failed.json"))).changes
    assert change.message["logmsg"].startswith("HooksAbort: ")
    assert "pre-hook refuses" in change.message["logmsg"]


def test_network_sample():
    [change] = parse(ours(sample("queue-job-6-OP_NETWORK_ADD.json"))).changes
    message = change.message
    assert message["type"] == "ganeti-network-status"
    assert message["network"] == "snf-net-7"
    assert message["subnet"] == "203.0.113.0/24"
    assert message["gateway"] == "203.0.113.1"
    assert message["operation"] == "OP_NETWORK_ADD"
    [connect] = parse(ours(sample("queue-job-7-OP_NETWORK_CONNECT.json"))).changes
    assert connect.message["group_name"] == "default"


@pytest.mark.parametrize("status, expected", [
    ("queued", [1795384926, 100]),        # job received_timestamp
    ("waiting", [1795384927, 0]),         # op start_timestamp
    ("canceling", [1795384927, 0]),       # op start_timestamp
    ("running", [1795384928, 0]),         # op exec_timestamp
    ("success", [1795384929, 0]),         # op end_timestamp
    ("error", [1795384929, 0]),
    ("canceled", [1795384929, 0]),
])
def test_event_time_table(status, expected):
    job = make_job(5, [("OP_INSTANCE_STARTUP", "snf-5", status)])
    [change] = parse(json.dumps(job)).changes
    assert change.message["event_time"] == expected
    assert change.status == status


def test_event_time_falls_back_to_job_end():
    job = make_job(5, [("OP_INSTANCE_STARTUP", "snf-5", "canceled")])
    job["ops"][0]["end_timestamp"] = None
    job["end_timestamp"] = [1795389999, 7]
    [change] = parse(json.dumps(job)).changes
    assert change.message["event_time"] == [1795389999, 7]


def test_waitlock_is_waiting():
    job = make_job(5, [("OP_INSTANCE_STARTUP", "snf-5", "waiting")])
    job["ops"][0]["status"] = "waitlock"
    [change] = parse(json.dumps(job)).changes
    assert change.status == change.message["status"] == "waiting"


def test_instances_list_and_unrelated_ops():
    job = make_job(9, [("OP_INSTANCE_STARTUP", "snf-5", "success"),
                       ("OP_INSTANCE_REBOOT", "x", "success"),
                       ("OP_INSTANCE_SHUTDOWN", "x", "success"),
                       ("OP_CLUSTER_VERIFY", "x", "success"),
                       ("OP_NETWORK_ADD", "snf-net-3", "running"),
                       ("OP_NETWORK_ADD", "othernet", "running"),
                       ("OP_INSTANCE_STARTUP", "other-5", "success")])
    del job["ops"][1]["input"]["instance_name"]
    job["ops"][1]["input"]["instances"] = ["snf-6"]
    del job["ops"][2]["input"]["instance_name"]
    job["ops"][2]["input"]["instances"] = ["snf-7", "snf-8"]
    parsed = parse(json.dumps(job))
    assert [(c.op_index, c.message.get("instance") or c.message.get("network"))
            for c in parsed.changes] == [(0, "snf-5"), (1, "snf-6"), (4, "snf-net-3")]
    assert not parsed.finished


def test_set_params_reserved_ips():
    job = make_job(9, [("OP_NETWORK_SET_PARAMS", "snf-net-3", "success")])
    job["ops"][0]["input"]["add_reserved_ips"] = ["10.0.0.5"]
    [change] = parse(json.dumps(job)).changes
    assert change.message["add_reserved_ips"] == ["10.0.0.5"]
    assert change.message["remove_reserved_ips"] is None


def _broken(mutate):
    job = make_job(4, [("OP_INSTANCE_STARTUP", "snf-5", "running")])
    mutate(job)
    return json.dumps(job)


MALFORMED = {
    "not json": "{\"id\": 4, \"ops\": [",
    "not utf-8": b"\xff\xfe{",
    "a list": "[1, 2]",
    "no id": _broken(lambda j: j.pop("id")),
    "string id": _broken(lambda j: j.update(id="x")),
    "no ops": _broken(lambda j: j.pop("ops")),
    "op not an object": _broken(lambda j: j["ops"].append(3)),
    "op without input": _broken(lambda j: j["ops"][0].pop("input")),
    "op without OP_ID": _broken(lambda j: j["ops"][0]["input"].pop("OP_ID")),
    "unknown status": _broken(lambda j: j["ops"][0].update(status="exploded")),
    "bad timestamp": _broken(lambda j: j["ops"][0].update(exec_timestamp="yesterday")),
    "bad log": _broken(lambda j: j["ops"][0].update(log=[[1, [1, 2]]])),
    "no timestamp at all": _broken(lambda j: j["ops"][0].update(exec_timestamp=None)),
}


@pytest.mark.parametrize("what", sorted(MALFORMED))
def test_malformed_job_files(what, caplog):
    with pytest.raises(MalformedJob):
        parse(MALFORMED[what])
    with caplog.at_level(logging.ERROR):
        assert job_changes(MALFORMED[what], CLUSTER, PREFIX_ID, source="job-4") is None
    assert any("job-4" in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)


def test_job_file_names():
    assert job_id_of_filename("job-42") == 42
    for name in ("job-42-1234-9.tmp", "job-3cdncthsv.new", "archive", "serial", "job-", "xjob-1"):
        assert job_id_of_filename(name) is None
