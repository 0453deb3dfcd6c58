"""EventDaemon and its state file, in-process, with a fake broker."""

import json
import os
import threading

import pytest

pytest.importorskip("synnefo.messaging.messages",
                    reason="synnefo.messaging (snf-common) is not installed yet")
from gtools_helpers import CLUSTER, PREFIX_ID, make_job, ours, sample, write_job
from synnefo.ganeti.eventd import EventDaemon, Stopped, archive_path, read_cluster_name
from synnefo.ganeti.state import PublishedState, StateError


class FakeBroker:
    def __init__(self, failures=0):
        self.published = []
        self.failures = failures
        self.declared = []

    def declare(self, prefix):
        self.declared.append(prefix)

    def publish(self, message, routing_key=None, headers=None, exchange=None, retry=None,
                stop_event=None):
        if self.failures:
            self.failures -= 1
            raise ConnectionError("broker down")
        self.published.append((message, headers))

    def keys(self):
        return [h["x-snf-event-id"] for _, h in self.published]


@pytest.fixture
def queue(tmp_path):
    q = tmp_path / "queue"
    q.mkdir()
    return q


def daemon_for(queue, tmp_path, broker=None, stop_event=None):
    state = PublishedState(str(tmp_path / "state.json"))
    return EventDaemon(str(queue), CLUSTER, PREFIX_ID, broker or FakeBroker(), state,
                       stop_event=stop_event)


def test_catch_up_publishes_once_across_restarts(queue, tmp_path):
    write_job(queue, make_job(1, [("OP_INSTANCE_STARTUP", "snf-1", "running")]))
    write_job(queue, make_job(2, [("OP_INSTANCE_SHUTDOWN", "snf-2", "success")]))
    (queue / "job-3").write_text(ours(sample("queue-job-3-OP_INSTANCE_SHUTDOWN.json")))
    first = daemon_for(queue, tmp_path)
    first.catch_up()
    assert first.broker.keys() == [f"{CLUSTER}/1/0/running", f"{CLUSTER}/2/0/success",
                                   f"{CLUSTER}/3/0/success"]
    # restart: nothing new
    second = daemon_for(queue, tmp_path)
    second.catch_up()
    assert second.broker.published == []
    # the job moved on while we were "down"
    write_job(queue, make_job(1, [("OP_INSTANCE_STARTUP", "snf-1", "success")]))
    third = daemon_for(queue, tmp_path)
    third.catch_up()
    assert third.broker.keys() == [f"{CLUSTER}/1/0/success"]
    assert third.state.is_done(1)


def test_coalescing_publishes_only_what_the_file_shows(queue, tmp_path):
    d = daemon_for(queue, tmp_path)
    ops = [("OP_INSTANCE_STARTUP", "snf-1", "queued"), ("OP_INSTANCE_REBOOT", "snf-1", "queued")]
    write_job(queue, make_job(7, ops))
    d.process_job(7)
    # several rewrites before eventd reads the file again: op 0 went queued->...->success,
    # op 1 is now running
    write_job(queue, make_job(7, [ops[0][:2] + ("success",), ops[1][:2] + ("running",)]))
    d.process_job(7)
    d.process_job(7)  # a second event for the same content publishes nothing
    assert d.broker.keys() == [f"{CLUSTER}/7/0/queued", f"{CLUSTER}/7/1/queued",
                               f"{CLUSTER}/7/0/success", f"{CLUSTER}/7/1/running"]


def finish_and_archive_jobs_10_and_11(queue):
    """Job 10 (seen running) finishes and is archived; job 11 runs and is archived."""
    for job in (make_job(10, [("OP_INSTANCE_STARTUP", "snf-1", "success")]),
                make_job(11, [("OP_INSTANCE_SHUTDOWN", "snf-1", "success")])):
        path = archive_path(str(queue), job["id"])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            json.dump(job, handle)
    os.unlink(queue / "job-10")


def test_archived_jobs_are_caught_up_and_forgotten(queue, tmp_path):
    d = daemon_for(queue, tmp_path)
    write_job(queue, make_job(10, [("OP_INSTANCE_STARTUP", "snf-1", "running")]))
    d.catch_up()
    # while eventd is down, job 10 finishes and is archived, job 11 runs and is archived
    finish_and_archive_jobs_10_and_11(queue)
    again = daemon_for(queue, tmp_path)
    again.catch_up()
    assert again.broker.keys() == [f"{CLUSTER}/10/0/success", f"{CLUSTER}/11/0/success"]
    assert again.state.jobs == {}  # done and out of the queue directory
    assert again.state.max_job_id == 11
    with open(tmp_path / "state.json") as handle:
        assert json.load(handle)["jobs"] == {}


def test_first_start_does_not_read_the_archive(queue, tmp_path):
    path = archive_path(str(queue), 4)
    os.makedirs(os.path.dirname(path))
    with open(path, "w") as handle:
        json.dump(make_job(4, [("OP_INSTANCE_STARTUP", "snf-1", "success")]), handle)
    d = daemon_for(queue, tmp_path)
    d.catch_up()
    assert d.broker.published == []


def test_malformed_and_foreign_files_do_not_stop_it(queue, tmp_path, caplog):
    (queue / "job-1").write_text("{not json")
    (queue / "job-2").write_text(json.dumps({"id": 2}))
    (queue / "job-3").write_text(json.dumps(make_job(99, [("OP_INSTANCE_STARTUP", "snf-1",
                                                           "success")])))
    (queue / "serial").write_text("3")
    (queue / "job-4").write_text(sample("queue-job-4-OP_INSTANCE_STARTUP.json"))  # not ours
    write_job(queue, make_job(5, [("OP_INSTANCE_STARTUP", "snf-5", "success")]))
    d = daemon_for(queue, tmp_path)
    d.catch_up()
    assert d.broker.keys() == [f"{CLUSTER}/5/0/success"]
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 3 and any("job-1" in e for e in errors)


def test_failed_publish_is_not_recorded(queue, tmp_path):
    d = daemon_for(queue, tmp_path, broker=FakeBroker(failures=1))
    write_job(queue, make_job(1, [("OP_INSTANCE_STARTUP", "snf-1", "success")]))
    with pytest.raises(ConnectionError):
        d.process_job(1)
    reloaded = PublishedState(str(tmp_path / "state.json"))
    assert reloaded.jobs == {} and reloaded.in_doubt == set()
    d.process_job(1)
    assert d.broker.keys() == [f"{CLUSTER}/1/0/success"]


def test_stop_event_interrupts(queue, tmp_path):
    stop = threading.Event()
    broker = FakeBroker()
    d = daemon_for(queue, tmp_path, broker=broker, stop_event=stop)
    write_job(queue, make_job(1, [("OP_INSTANCE_STARTUP", "snf-1", "success")]))
    stop.set()
    with pytest.raises(Stopped):
        d.process_job(1)
    assert broker.published == []


def test_state_file_roundtrip_and_errors(tmp_path):
    from synnefo.ganeti.jobfile import Change
    path = str(tmp_path / "state.json")
    state = PublishedState(path)
    assert not state.existed and state.max_job_id is None
    change = Change(3, 1, "running", {})
    state.intend([change])
    state.sending(change)
    assert not state.is_published(change)
    state.confirmed(change)
    assert state.is_published(change)
    loaded = PublishedState(path)
    assert loaded.existed and loaded.is_published(change) and loaded.max_job_id == 3
    assert not loaded.is_published(Change(3, 1, "success", {}))
    assert loaded.in_doubt == set()
    with open(path, "w") as handle:
        handle.write("{garbage")
    with pytest.raises(StateError):
        PublishedState(path)


def test_read_cluster_name(tmp_path):
    (tmp_path / "queue").mkdir()
    (tmp_path / "ssconf_cluster_name").write_text("cluster.example.org\n")
    assert read_cluster_name(str(tmp_path / "queue")) == "cluster.example.org"


def test_change_in_flight_at_a_crash_is_resent_marked(queue, tmp_path):
    from synnefo.ganeti.jobfile import Change
    write_job(queue, make_job(1, [("OP_INSTANCE_STARTUP", "snf-1", "success")]))
    write_job(queue, make_job(2, [("OP_INSTANCE_STARTUP", "snf-2", "success")]))
    first = daemon_for(queue, tmp_path)
    first.process_job(1)
    # kill -9 after the broker accepted job 2's message, before its confirmation was
    # recorded: the journal names it as being sent
    change = Change(2, 0, "success", {})
    first.state.intend([change])
    first.state.sending(change)
    restarted = daemon_for(queue, tmp_path)
    assert restarted.state.in_doubt == {(2, 0, "success")}
    restarted.catch_up()
    [(message, headers)] = restarted.broker.published
    assert message["jobId"] == 2
    assert headers["x-snf-possible-duplicate"] == "true"
    assert restarted.state.in_doubt == set()
    again = daemon_for(queue, tmp_path)
    again.catch_up()
    assert again.broker.published == [] and again.state.in_doubt == set()


def _max_queued_events():
    with open("/proc/sys/fs/inotify/max_queued_events") as handle:
        return int(handle.read())


def test_real_inotify_overflow_rescans_the_archive(queue, tmp_path):
    """A real kernel overflow (IN_Q_OVERFLOW) loses the events of a job that finished and was
    archived meanwhile, and of a job created and archived meanwhile: the rescan reads the
    archive as the catch-up at start does."""
    from synnefo.ganeti import inotify as F
    from synnefo.ganeti.inotify import INotify
    d = daemon_for(queue, tmp_path)
    write_job(queue, make_job(10, [("OP_INSTANCE_STARTUP", "snf-1", "running")]))
    d.catch_up()
    inotify = INotify()
    try:
        inotify.add_watch(str(queue), F.MOVED_TO | F.CLOSE_WRITE | F.MOVED_FROM | F.DELETE)
        # fill the kernel's event queue (alternating names: identical events would coalesce)
        for i in range(_max_queued_events() + 10):
            with open(queue / ("flood-%d" % (i % 2)), "w"):
                pass
        # these events are lost: job 10 finishes and is archived, job 11 runs and is archived
        write_job(queue, make_job(10, [("OP_INSTANCE_STARTUP", "snf-1", "success")]))
        finish_and_archive_jobs_10_and_11(queue)
        events = inotify.read(timeout=1000)
    finally:
        inotify.close()
    assert any(event.mask & F.Q_OVERFLOW for event in events), "no overflow provoked"
    assert not any(event.name == "job-10" for event in events)
    d.handle_events(events, F)
    assert d.broker.keys() == [f"{CLUSTER}/10/0/running", f"{CLUSTER}/10/0/success",
                               f"{CLUSTER}/11/0/success"]
