"""eventd's journal (synnefo.ganeti.state / journal): crashes at every step, torn lines,
compaction, the old format, and exactly-once across a restart."""

import json
import os

import pytest

pytest.importorskip("synnefo.messaging.messages",
                    reason="synnefo.messaging (snf-common) is not installed yet")
from gtools_helpers import CLUSTER, PREFIX_ID, make_job, write_job
from synnefo.ganeti import journal as journal_module
from synnefo.ganeti import state as state_module
from synnefo.ganeti.eventd import EventDaemon
from synnefo.ganeti.jobfile import Change
from synnefo.ganeti.state import BATCH, PublishedState, StateError

DUP = "x-snf-possible-duplicate"


class Killed(BaseException):
    """Stands for kill -9: nothing after it runs, not even ``except Exception``."""


class Broker:
    def __init__(self):
        self.published = []

    def declare(self, prefix):
        pass

    def publish(self, message, routing_key=None, headers=None, exchange=None, retry=None,
                stop_event=None):
        self.published.append((message, headers))

    def keys(self):
        return [h["x-snf-event-id"] for _, h in self.published]

    def flagged(self):
        return [h["x-snf-event-id"] for _, h in self.published if h.get(DUP) == "true"]


@pytest.fixture
def queue(tmp_path):
    q = tmp_path / "queue"
    q.mkdir()
    return q


def state_path(tmp_path):
    return str(tmp_path / "state.json")


def daemon_for(queue, tmp_path, **state_options):
    state = PublishedState(state_path(tmp_path), **state_options)
    return EventDaemon(str(queue), CLUSTER, PREFIX_ID, Broker(), state)


def write_jobs(queue, job_ids, status="success"):
    for job_id in job_ids:
        write_job(queue, make_job(job_id, [("OP_INSTANCE_STARTUP", f"snf-{job_id}", status)]))


def key(job_id, status="success"):
    return f"{CLUSTER}/{job_id}/0/{status}"


def kill_at_confirmation(daemon, number):
    """Die when the broker has accepted the ``number``-th message, before it is recorded."""
    confirmed = daemon.state.confirmed
    calls = []

    def confirm(change):
        calls.append(change)
        if len(calls) == number:
            raise Killed()
        confirmed(change)
    daemon.state.confirmed = confirm


def lines(tmp_path):
    with open(state_path(tmp_path), encoding="utf-8") as handle:
        return handle.read().splitlines()


def test_exactly_once_across_a_kill_between_publish_and_confirm(queue, tmp_path):
    write_jobs(queue, range(1, 11))
    first = daemon_for(queue, tmp_path)
    kill_at_confirmation(first, 4)
    with pytest.raises(Killed):
        first.catch_up()
    assert first.broker.keys() == [key(i) for i in range(1, 5)]
    second = daemon_for(queue, tmp_path)
    # only the change in flight is in doubt, not the rest of its batch
    assert second.state.in_doubt == {(4, 0, "success")}
    second.catch_up()
    assert second.broker.keys() == [key(i) for i in range(4, 11)]
    assert second.broker.flagged() == [key(4)]
    third = daemon_for(queue, tmp_path)
    third.catch_up()
    assert third.broker.published == [] and third.state.in_doubt == set()


def test_kill_between_intent_and_publish_resends_nothing_marked(queue, tmp_path):
    write_jobs(queue, [1, 2])
    first = daemon_for(queue, tmp_path)
    first.state.intend([Change(1, 0, "success", {}), Change(2, 0, "success", {})])
    # killed here: the intent is durable, no publish started
    second = daemon_for(queue, tmp_path)
    assert second.state.in_doubt == set()
    second.catch_up()
    assert second.broker.keys() == [key(1), key(2)] and second.broker.flagged() == []


def test_kill_after_the_confirm_entry_resends_nothing(queue, tmp_path):
    write_jobs(queue, [1])
    first = daemon_for(queue, tmp_path)
    first.process_job(1)   # published and confirmed; killed before any compaction
    assert len(lines(tmp_path)) > 1
    second = daemon_for(queue, tmp_path)
    second.catch_up()
    assert second.broker.published == []


def test_power_loss_puts_the_unconfirmed_changes_of_the_last_batch_in_doubt(
        queue, tmp_path, monkeypatch):
    write_jobs(queue, range(1, 6))
    first = daemon_for(queue, tmp_path)
    first.catch_up()
    write_jobs(queue, range(1, 6), status="error")   # a new status of each job's op
    kill_at_confirmation(first, 3)
    with pytest.raises(Killed):
        first.catch_up()
    # the power loss: what was appended after the synced intent is lost, and the machine
    # comes back with another boot id
    kept = lines(tmp_path)
    intent_at = max(i for i, line in enumerate(kept) if line.startswith('["i"'))
    with open(state_path(tmp_path), "w", encoding="utf-8") as handle:
        handle.write("\n".join(kept[:intent_at + 1]) + "\n")
    monkeypatch.setattr(state_module, "boot_id", lambda: "another-boot")
    second = daemon_for(queue, tmp_path)
    assert second.state.in_doubt == {(i, 0, "error") for i in range(1, 6)}
    second.catch_up()
    assert second.broker.flagged() == [key(i, "error") for i in range(1, 6)]
    assert daemon_for(queue, tmp_path).state.in_doubt == set()


def test_torn_last_line_is_dropped_and_the_last_batch_is_in_doubt(queue, tmp_path):
    write_jobs(queue, [1, 2])
    first = daemon_for(queue, tmp_path)
    kill_at_confirmation(first, 2)
    with pytest.raises(Killed):
        first.catch_up()
    with open(state_path(tmp_path), "a", encoding="utf-8") as handle:
        handle.write('["c",2,0,"succ')   # the confirm entry, torn
    second = daemon_for(queue, tmp_path)
    assert second.state.is_published(Change(1, 0, "success", {}))
    assert second.state.in_doubt == {(2, 0, "success")}
    assert len(lines(tmp_path)) == 1   # rewritten clean at start
    second.catch_up()
    assert second.broker.keys() == [key(2)] and second.broker.flagged() == [key(2)]


def test_damage_before_a_synced_entry_is_an_error(tmp_path):
    path = state_path(tmp_path)
    state = PublishedState(path)
    state.intend([Change(1, 0, "success", {})])
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('["c",1,0,"succ\n')
    state.intend([Change(2, 0, "success", {})])
    with pytest.raises(StateError):
        PublishedState(path)


def test_compaction_keeps_the_file_small_and_the_record_whole(queue, tmp_path):
    write_jobs(queue, range(1, 41), status="running")
    d = daemon_for(queue, tmp_path, compact_after=20)
    d.catch_up()
    for job_id in range(1, 41):
        d.process_job(job_id)
    assert len(lines(tmp_path)) <= 1 + 20 + 4   # compacted whenever past 20 entries
    write_jobs(queue, range(1, 41))
    d.catch_up()   # ends idle: compacted to the snapshot alone
    assert len(lines(tmp_path)) == 1
    snapshot = json.loads(lines(tmp_path)[0])
    assert snapshot["version"] == 2 and snapshot["max_job_id"] == 40
    again = daemon_for(queue, tmp_path)
    assert all(again.state.is_done(i) for i in range(1, 41))
    again.catch_up()
    assert again.broker.published == []


def test_one_sync_per_batch(queue, tmp_path, monkeypatch):
    syncs = []
    real = os.fdatasync
    monkeypatch.setattr(journal_module.os, "fdatasync", lambda fd: (syncs.append(fd), real(fd)))
    write_jobs(queue, range(1, BATCH + 11))
    d = daemon_for(queue, tmp_path)
    d.catch_up()
    assert len(d.broker.published) == BATCH + 10
    assert len(syncs) == 2


def test_failed_publish_skips_only_the_rest_of_its_job(queue, tmp_path):
    write_job(queue, make_job(1, [("OP_INSTANCE_STARTUP", "snf-1", "success"),
                                  ("OP_INSTANCE_REBOOT", "snf-1", "success")]))
    write_jobs(queue, [2])
    d = daemon_for(queue, tmp_path)
    publish = d.broker.publish

    def fail_job_1_once(message, **kwargs):
        if message["jobId"] == 1 and not getattr(d, "failed_once", False):
            d.failed_once = True
            raise RuntimeError("broker said no")
        publish(message, **kwargs)
    d.broker.publish = fail_job_1_once
    d.catch_up()
    assert d.broker.keys() == [key(2)] and not d.state.is_done(1)
    d.process_job(1)
    assert d.broker.keys() == [key(2), key(1), f"{CLUSTER}/1/1/success"]
    assert d.broker.flagged() == [] and d.state.in_doubt == set()


def test_old_format_is_converted_and_keeps_its_change_in_flight(queue, tmp_path):
    write_jobs(queue, [1, 2])
    path = state_path(tmp_path)
    old = {"version": 1, "max_job_id": 2,
           "jobs": {"1": {"ops": {"0": ["success"]}, "done": True}}}
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(old, handle, separators=(",", ":"))
    staged = dict(old, jobs=dict(old["jobs"], **{"2": {"ops": {"0": ["success"]},
                                                      "done": False}}))
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        json.dump(staged, handle)   # the old format's record staged before a publish
    first = PublishedState(path)
    assert first.max_job_id == 2 and first.is_done(1)
    assert first.in_doubt == {(2, 0, "success")}
    assert not os.path.exists(path + ".tmp")
    assert json.loads(lines(tmp_path)[0])["version"] == 2
    first.close()
    # killed again before re-sending it: the change is still in doubt
    d = daemon_for(queue, tmp_path)
    assert d.state.in_doubt == {(2, 0, "success")}
    d.catch_up()
    assert d.broker.keys() == [key(2)] and d.broker.flagged() == [key(2)]


def test_old_format_torn_staged_file_is_ignored(tmp_path):
    path = state_path(tmp_path)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write('{"version":1,"max_job_id":3,"jobs":{}}')
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        handle.write('{"version": 1, "jobs": {"3": {"op')
    state = PublishedState(path)
    assert state.in_doubt == set() and state.max_job_id == 3


def test_leftover_compaction_file_is_removed(tmp_path):
    path = state_path(tmp_path)
    PublishedState(path).intend([Change(1, 0, "success", {})])
    with open(path + ".new", "w", encoding="utf-8") as handle:
        handle.write('{"version":2,"max_')
    state = PublishedState(path)
    assert not os.path.exists(path + ".new") and state.existed


def test_unknown_version_is_an_error(tmp_path):
    path = state_path(tmp_path)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write('{"version":3,"jobs":{}}\n')
    with pytest.raises(StateError):
        PublishedState(path)


def test_stop_during_a_publish_leaves_nothing_in_doubt(queue, tmp_path):
    from synnefo.ganeti.eventd import Stopped
    write_jobs(queue, [1, 2, 3])
    d = daemon_for(queue, tmp_path)
    publish = d.broker.publish

    def stop_at_job_2(message, **kwargs):
        if message["jobId"] == 2:   # SIGTERM while the broker is unreachable
            d.stop_event.set()
            raise ConnectionError("broker down")
        publish(message, **kwargs)
    d.broker.publish = stop_at_job_2
    with pytest.raises(Stopped):
        d.catch_up()
    assert d.broker.keys() == [key(1)]
    again = daemon_for(queue, tmp_path)
    assert again.state.in_doubt == set()
    again.catch_up()
    assert again.broker.keys() == [key(2), key(3)] and again.broker.flagged() == []
