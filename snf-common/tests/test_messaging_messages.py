import datetime
import json

import pytest
from synnefo.messaging import messages
from synnefo.messaging.messages import MalformedMessage

NOW = [1354540934, 123456]


def op():
    return messages.op_status("snf-42", "OP_INSTANCE_STARTUP", "running", 1234, None,
                              "ganeti.example.org", NOW)


def network():
    return messages.network_status("snf-net-7", "OP_NETWORK_SET_PARAMS", "success", 5, "done",
                                   "c1", NOW, subnet="10.0.0.0/24", add_reserved_ips=["10.0.0.9"])


def net():
    return messages.net_status("snf-42", [{"mac": "aa:00:03:12:34:56", "ip": "192.0.2.10",
                                           "link": "br0", "network": "snf-net-1", "ipv6": None,
                                           "firewall": "protected"}], NOW, cluster="c1")


def progress():
    return messages.progress("snf-42", {"type": "image-copy-progress", "position": 10,
                                        "total": 100, "progress": 10.0}, NOW)


def test_constructors_and_kinds():
    assert op() == {"type": "ganeti-op-status", "instance": "snf-42",
                    "operation": "OP_INSTANCE_STARTUP", "status": "running", "jobId": 1234,
                    "logmsg": None, "cluster": "ganeti.example.org", "event_time": NOW}
    assert network()["add_reserved_ips"] == ["10.0.0.9"] and network()["remove_reserved_ips"] is None
    plain = messages.network_status("snf-net-7", "OP_NETWORK_CONNECT", "queued", 5, None, "c", NOW)
    assert "add_reserved_ips" not in plain and plain["subnet"] is None
    assert net()["cluster"] == "c1" and "cluster" not in messages.net_status("snf-1", [], NOW)
    assert progress()["instance"] == "snf-42" and progress()["progress"] == 10.0
    assert [messages.kind_of(m) for m in (op(), network(), net(), progress())] == \
        ["op", "network", "net", "progress"]
    legacy = {"type": "ganeti-create-progress", "instance": "snf-1", "event_time": NOW,
              "rprogress": 1.0}
    assert messages.kind_of(legacy) == "progress"


@pytest.mark.parametrize("build", [op, network, net, progress])
def test_round_trip(build):
    message = build()
    body = messages.encode(message)
    assert isinstance(body, bytes) and json.loads(body) == message
    assert messages.decode(body) == message
    assert messages.decode(body.decode()) == message


def test_utf8():
    message = op()
    message["logmsg"] = "ΕΔΕΤ ok"
    assert messages.decode(messages.encode(message))["logmsg"] == "ΕΔΕΤ ok"


def broken(change):
    message = op()
    change(message)
    return json.dumps(message).encode()


MALFORMED = {
    "not json": b"{nope",
    "not utf-8": b'{"type": "\xff"}',
    "not an object": b"[1, 2]",
    "no type": broken(lambda m: m.pop("type")),
    "unknown type": broken(lambda m: m.update(type="ganeti-nonsense")),
    "bare image- type": broken(lambda m: m.update(type="image-")),
    "type not a string": broken(lambda m: m.update(type=3)),
    "missing instance": broken(lambda m: m.pop("instance")),
    "missing jobId": broken(lambda m: m.pop("jobId")),
    "jobId a string": broken(lambda m: m.update(jobId="12")),
    "jobId a bool": broken(lambda m: m.update(jobId=True)),
    "status not a string": broken(lambda m: m.update(status=None)),
    "logmsg a number": broken(lambda m: m.update(logmsg=3)),
    "cluster missing": broken(lambda m: m.pop("cluster")),
    "no event_time": broken(lambda m: m.pop("event_time")),
    "event_time one number": broken(lambda m: m.update(event_time=1354540934)),
    "event_time three parts": broken(lambda m: m.update(event_time=[1, 2, 3])),
    "event_time floats": broken(lambda m: m.update(event_time=[1.5, 0])),
    "event_time usec too big": broken(lambda m: m.update(event_time=[1, 1_000_000])),
    "event_time negative": broken(lambda m: m.update(event_time=[-1, 0])),
    "event_time strings": broken(lambda m: m.update(event_time=["1", "2"])),
    "net nics not a list": json.dumps(dict(net(), nics={"0": {}})).encode(),
    "network name missing": json.dumps({k: v for k, v in network().items()
                                        if k != "network"}).encode(),
    "progress without instance": json.dumps({"type": "image-info", "event_time": NOW}).encode(),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_decode_rejects(case):
    with pytest.raises(MalformedMessage):
        messages.decode(MALFORMED[case])


def test_encode_validates():
    message = op()
    del message["jobId"]
    with pytest.raises(MalformedMessage, match="jobId"):
        messages.encode(message)
    with pytest.raises(MalformedMessage):
        messages.kind_of({"type": "nope"})
    with pytest.raises(MalformedMessage):
        messages.kind_of([])


def test_event_time_helpers():
    now = messages.event_time_now()
    assert isinstance(now, list) and len(now) == 2 and 0 <= now[1] < 1_000_000
    when = messages.event_time_to_datetime(now)
    assert when.tzinfo is not None
    assert abs(when - datetime.datetime.now(datetime.UTC)) < datetime.timedelta(seconds=5)
    assert messages.event_time_to_datetime([0, 5]) == datetime.datetime(
        1970, 1, 1, 0, 0, 0, 5, tzinfo=datetime.UTC)
    for bad in ([1], [1, -1], (1, 1_000_000), "1,2", None, [10 ** 20, 0]):
        with pytest.raises(MalformedMessage):
            messages.event_time_to_datetime(bad)
