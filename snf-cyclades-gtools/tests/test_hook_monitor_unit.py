"""snf-ganeti-hook and snf-progress-monitor logic, in-process."""

import io
import logging
from types import SimpleNamespace

import pytest

pytest.importorskip("synnefo.messaging.messages",
                    reason="synnefo.messaging (snf-common) is not installed yet")
from gtools_helpers import PREFIX_ID, hook_env
from synnefo.ganeti import hook, progress_monitor

SETTINGS = SimpleNamespace(BACKEND_PREFIX_ID=PREFIX_ID, GANETI_HOOK_NODE_NAME="vm.gnt.test",
                           AMQP_HOSTS=["filesystem://"])

ADD = "hook-env-instance-add-post-ci-inst1.gnt.test.txt"


def env_of(name, **overrides):
    env = hook_env(name)
    for key, value in list(env.items()):
        if value == "ci-inst1.gnt.test":
            env[key] = "snf-1"
    env.update(overrides)
    return env


@pytest.mark.parametrize("name", [ADD, "hook-env-instance-start-post-ci-inst1.gnt.test.txt",
                                  "hook-env-instance-reboot-post-ci-inst1.gnt.test.txt"])
def test_publishing_hooks_on_real_samples(name):
    message = hook.build_message(env_of(name), SETTINGS)
    assert message["type"] == "ganeti-net-status"
    assert message["instance"] == "snf-1"
    assert message["nics"] == [{"mac": "aa:00:00:11:22:33", "ip": "198.51.100.51",
                                "link": "br-gnt", "network": None}]
    assert message["cluster"] == "cluster.gnt.test"
    assert len(message["event_time"]) == 2


@pytest.mark.parametrize("name", ["hook-env-instance-stop-post-ci-inst1.gnt.test.txt",
                                  "hook-env-instance-remove-post-ci-inst1.gnt.test.txt",
                                  "hook-env-instance-start-pre-ci-inst1.gnt.test.txt"])
def test_silent_hooks(name):
    assert hook.build_message(env_of(name), SETTINGS) is None


def test_not_ours_or_not_master():
    assert hook.build_message(hook_env(ADD), SETTINGS) is None  # ci-inst1: not Cyclades'
    assert hook.build_message(env_of(ADD, GANETI_MASTER="other.gnt.test"), SETTINGS) is None
    assert hook.build_message(env_of(ADD, SNF_GANETI_HOOK_NODE_NAME="node2"), SETTINGS) is None


MODIFY = "hook-env-instance-modify-%s-nic-%s-ci-inst2.gnt.test.txt"
PUBLIC_NIC = {"mac": "aa:00:00:af:6d:38", "ip": "192.0.2.77", "link": "rt", "network": None}
ADDED_NIC = {"mac": "aa:00:00:47:a1:49", "ip": "10.99.0.2", "link": "rt", "network": "ci-net2"}


@pytest.mark.parametrize("change,nics", [("add", [PUBLIC_NIC, ADDED_NIC]), ("remove", [PUBLIC_NIC])])
def test_modify_reports_the_nics_after_the_change(change, nics):
    """Ganeti 3.0's instance-modify post hook (NIC add, NIC remove) describes
    the NICs after the change: the message is the new NIC list (issue 10)."""
    env = {k: v.replace("ci-inst2.gnt.test", "snf-2") for k, v in hook_env(MODIFY % ("post", change)).items()}
    message = hook.build_message(env, SETTINGS)
    assert message["instance"] == "snf-2"
    assert message["nics"] == nics
    # the pre phase already shows the planned list; the hook publishes only post
    pre = {k: v.replace("ci-inst2.gnt.test", "snf-2") for k, v in hook_env(MODIFY % ("pre", change)).items()}
    assert hook.nics_from_env(pre) == nics
    assert hook.build_message(pre, SETTINGS) is None


def test_reboot_without_nics_publishes_nothing():
    env = {k: v for k, v in env_of("hook-env-instance-reboot-post-ci-inst1.gnt.test.txt").items()
           if "_NIC" not in k}
    assert hook.build_message(env, SETTINGS) is None


def test_network_nic_ipv6_and_firewall():
    env = env_of(ADD, GANETI_INSTANCE_NIC_COUNT="2",
                 GANETI_INSTANCE_NIC1_MAC="aa:00:03:12:34:56",
                 GANETI_INSTANCE_NIC1_IP="",
                 GANETI_INSTANCE_NIC1_LINK="br9",
                 GANETI_INSTANCE_NIC1_NETWORK_NAME="snf-net-9",
                 GANETI_INSTANCE_NIC1_NETWORK_SUBNET6="2001:db8::/64",
                 GANETI_INSTANCE_TAGS="ci synnefo:network:0:protected synnefo:network:x:bad "
                                      "synnefo:network:1:limited")
    nics = hook.build_message(env, SETTINGS)["nics"]
    assert nics[0]["firewall"] == "protected"
    assert nics[1] == {"mac": "aa:00:03:12:34:56", "ip": None, "link": "br9",
                       "network": "snf-net-9", "ipv6": "2001:db8::a800:3ff:fe12:3456",
                       "firewall": "limited"}


@pytest.mark.parametrize("overrides", [
    {"GANETI_INSTANCE_NIC_COUNT": "2"},
    {"GANETI_INSTANCE_NIC_COUNT": "many"},
    {"GANETI_INSTANCE_NIC0_MAC": ""},
    {"GANETI_INSTANCE_NIC0_NETWORK_SUBNET6": "not-a-subnet"},
    {"GANETI_INSTANCE_NIC0_MAC": "zz:zz", "GANETI_INSTANCE_NIC0_NETWORK_SUBNET6": "2001:db8::/64"},
    {"GANETI_HOOKS_PHASE": ""},
    {"GANETI_INSTANCE_NAME": ""},
])
def test_malformed_environments(overrides):
    with pytest.raises(hook.MalformedEnvironment):
        hook.build_message(env_of(ADD, **overrides), SETTINGS)


def test_split_objects_survives_garbage():
    chunks = ['{"type": "image-info", "messages": ["a } b"]}  {"type"', ': "image-copy-progress",',
              ' "progress": 5}\n garbage {"type": "image-error", "stderr": "x\\"}"}', '{"trunc']
    out = list(progress_monitor.split_objects(chunks))
    assert [t for t, e in out if t] == [
        '{"type": "image-info", "messages": ["a } b"]}',
        '{"type": "image-copy-progress", "progress": 5}',
        '{"type": "image-error", "stderr": "x\\"}"}']
    assert len([e for t, e in out if e]) == 2


def test_monitor_stream(caplog):
    published = []
    err = io.StringIO()
    stream = ['{"type": "image-copy-progress", "position": 10, "total": 100, "progress": 10.0}',
              '[1, 2] {"no": "type"} {"type": "image-helper", "subtype": "task-start", '
              '"task": "FixPartitionTable", "messages": []}']
    with caplog.at_level(logging.ERROR):
        sent, bad = progress_monitor.monitor("snf-1", stream,
                                             lambda m: published.append(m) or True, err=err)
    assert (sent, bad) == (2, 2)
    assert [m["type"] for m in published] == ["image-copy-progress", "image-helper"]
    assert all(m["instance"] == "snf-1" and len(m["event_time"]) == 2 for m in published)
    lines = err.getvalue().splitlines()
    assert len(lines) == 2 and all(line.startswith("[MONITOR] {") for line in lines)
    assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 2
