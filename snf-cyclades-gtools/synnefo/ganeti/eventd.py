"""snf-ganeti-eventd: publish Ganeti job status changes to the broker.

Runs on the Ganeti master. Watches the job-queue directory with inotify
(``IN_MOVED_TO`` and ``IN_CLOSE_WRITE`` of ``job-N``: Ganeti renames every
new version of a job file into place) and publishes one message per
(job, op index, status) that it has not published before
(see :mod:`synnefo.ganeti.jobfile` and :mod:`synnefo.ganeti.state`).

Guarantees (details in ``docs/messaging.rst``):

* a change counts as published only once the broker confirmed it, and only
  then is it recorded in the state file;
* a recorded change is never published again, across restarts too;
* while the broker is unreachable eventd retries with back-off and loses
  nothing; on start it catches up with what happened while it was down (the
  queue directory, and the archive for jobs it had seen unfinished or that are
  newer than any it has seen).
"""

import argparse
import errno
import logging
import os
import sys
import threading

from synnefo.ganeti import daemon as daemon_util
from synnefo.ganeti.jobfile import job_changes, job_id_of_filename
from synnefo.ganeti.state import BATCH, PublishedState, StateError
from synnefo.util.service import run_service
from synnefo.util.version import add_version_option

log = logging.getLogger("snf-ganeti-eventd")

PROG = "snf-ganeti-eventd"
DEFAULT_QUEUE_DIR = "/var/lib/ganeti/queue"
DEFAULT_PID_FILE = "/var/run/snf-ganeti-eventd.pid"
DEFAULT_LOG_FILE = "/var/log/snf-ganeti-eventd.log"
DEFAULT_STATE_FILE = "/var/lib/snf-ganeti-eventd/state.json"
ARCHIVE_BUCKET = 10000  # Ganeti archives job N as archive/<N // 10000>/job-N


class Stopped(Exception):
    """The daemon was asked to stop while waiting for the broker."""


def read_cluster_name(queue_dir):
    """Ganeti's ssconf cluster name, next to the queue directory."""
    path = os.path.join(os.path.dirname(os.path.abspath(queue_dir)), "ssconf_cluster_name")
    with open(path, encoding="utf-8") as handle:
        name = handle.read().strip()
    if not name:
        raise ValueError(f"{path} is empty")
    return name


def archive_path(queue_dir, job_id):
    return os.path.join(queue_dir, "archive", str(job_id // ARCHIVE_BUCKET), f"job-{job_id}")


class EventDaemon:
    """The watch → parse → publish → record loop, without process concerns."""

    def __init__(self, queue_dir, cluster, prefix_id, broker, state, stop_event=None,
                 exchange_prefix=None, publish_retry=None):
        self.queue_dir = queue_dir
        self.cluster = cluster
        self.prefix_id = prefix_id
        self.broker = broker
        self.state = state
        self.stop_event = stop_event or threading.Event()
        self.exchange_prefix = exchange_prefix
        self.publish_retry = publish_retry
        self.published = 0

    # -- broker -----------------------------------------------------------
    def _wait(self, delay):
        if self.stop_event.wait(delay):
            raise Stopped()

    def declare(self):
        """Declare exchange and queues (so nothing is unroutable); retry until it works."""
        if not self.exchange_prefix:
            return
        delay = 0.1
        while True:
            try:
                self.broker.declare(self.exchange_prefix)
                return
            except Exception as exc:
                log.warning("cannot declare the exchange and queues (%s); retrying in %.1fs",
                            exc, delay)
                self._wait(delay)
                delay = min(delay * 2, 5)

    def publish(self, change):
        """Publish one change named by the current intent (:meth:`publish_batch`)."""
        from synnefo.messaging.client import RETRY_FOREVER
        headers = {"x-snf-event-id": "%s/%d/%d/%s" % (self.cluster, change.job_id,
                                                      change.op_index, change.status)}
        if change.key in self.state.in_doubt:
            headers["x-snf-possible-duplicate"] = "true"
        retry = RETRY_FOREVER if self.publish_retry is None else self.publish_retry
        self.state.sending(change)
        try:
            self.broker.publish(change.message, headers=headers, retry=retry,
                                stop_event=self.stop_event)
        except BaseException:
            self.state.abandoned(change)
            if self.stop_event.is_set():
                raise Stopped()
            raise
        # Confirmed by the broker: record it at once (one append, no sync).
        self.state.confirmed(change)
        self.published += 1
        log.info("published job %d op %d %s %s (%s)", change.job_id, change.op_index,
                 change.status, change.message.get("operation"),
                 change.message.get("instance") or change.message.get("network"))

    def publish_batch(self, changes, safely=True):
        """Publish ``changes`` in order, :data:`BATCH` per intent (one sync each).

        After a failed publish the job's later changes are skipped (a job's
        statuses are never published out of order); they are published with
        the next version of its file. Returns the ids of those jobs. With
        ``safely=False`` the error is raised instead.
        """
        failed = set()
        for start in range(0, len(changes), BATCH):
            chunk = [c for c in changes[start:start + BATCH] if c.job_id not in failed]
            if not chunk:
                continue
            if self.stop_event.is_set():
                raise Stopped()
            log.debug("intent: %d changes", len(chunk))
            try:
                self.state.intend(chunk)
            except OSError:
                if not safely:
                    raise
                log.exception("cannot record the intent to publish %d changes; will retry "
                              "on the next change of their jobs", len(chunk))
                failed.update(c.job_id for c in chunk)
                continue
            for change in chunk:
                if change.job_id in failed:
                    continue
                if self.stop_event.is_set():
                    raise Stopped()
                try:
                    self.publish(change)
                except Stopped:
                    raise
                except Exception:
                    if not safely:
                        raise
                    log.exception("job %d: cannot publish %s, will retry on its next change",
                                  change.job_id, change.key)
                    failed.add(change.job_id)
        return failed

    # -- job files --------------------------------------------------------
    def _read(self, job_id):
        for path in (os.path.join(self.queue_dir, f"job-{job_id}"),
                     archive_path(self.queue_dir, job_id)):
            try:
                with open(path, "rb") as handle:
                    return path, handle.read()
            except FileNotFoundError:
                continue
            except OSError as exc:
                log.error("%s: cannot read job file: %s", path, exc)
                return path, None
        log.debug("job %d vanished before it could be read", job_id)
        return None, None

    def read_job(self, job_id):
        """``(path, parsed job)`` of job ``job_id``'s file, or ``None``; records the job id."""
        path, text = self._read(job_id)
        if text is None:
            return None
        parsed = job_changes(text, self.cluster, self.prefix_id, source=path)
        if parsed is None:
            return None
        if parsed.job_id != job_id:
            log.error("%s: file holds job %s, ignored", path, parsed.job_id)
            return None
        self.state.saw_job(job_id)
        return path, parsed

    def process_jobs(self, job_ids, safely=True):
        """Publish every not yet published change that the files of ``job_ids`` show.

        The files are read first, then their changes published in batches
        (:meth:`publish_batch`). With ``safely`` (the default) an unexpected
        error is logged and eventd goes on with the other jobs: the change
        that failed is not recorded, so the next version of the job file (or
        the catch-up after a restart) publishes it.
        """
        # a slice of jobs at a time: at start (catch-up) there may be thousands
        for start in range(0, len(job_ids), BATCH):
            self._process_slice(job_ids[start:start + BATCH], safely)
        self.state.compact_if_large()

    def _process_slice(self, job_ids, safely):
        read = []
        for job_id in job_ids:
            if self.stop_event.is_set():
                raise Stopped()
            try:
                found = self.read_job(job_id)
            except Exception:
                if not safely:
                    raise
                log.exception("job %d: cannot process, will retry on its next change", job_id)
                continue
            if found is not None:
                read.append((job_id,) + found)
        pending = [change for _, _, parsed in read for change in parsed.changes
                   if not self.state.is_published(change)]
        failed = self.publish_batch(pending, safely=safely) if pending else set()
        for job_id, path, parsed in read:
            if parsed.finished and job_id not in failed:
                self.state.mark_done(job_id)
                if path != os.path.join(self.queue_dir, f"job-{job_id}"):
                    self.state.forget_if_done(job_id)

    def process_job(self, job_id):
        """:meth:`process_jobs` for one job; errors are raised."""
        self.process_jobs([job_id], safely=False)

    def queue_job_ids(self):
        try:
            names = os.listdir(self.queue_dir)
        except OSError as exc:
            log.error("%s: cannot list the queue directory: %s", self.queue_dir, exc)
            return []
        return sorted(i for i in map(job_id_of_filename, names) if i is not None)

    def archive_job_ids_after(self, job_id):
        """Archived jobs newer than ``job_id`` (only the buckets that can hold them)."""
        root = os.path.join(self.queue_dir, "archive")
        found = []
        try:
            buckets = [int(b) for b in os.listdir(root) if b.isdigit()]
        except OSError:
            return []
        for bucket in sorted(b for b in buckets if b >= job_id // ARCHIVE_BUCKET):
            try:
                names = os.listdir(os.path.join(root, str(bucket)))
            except OSError:
                continue
            found.extend(i for i in map(job_id_of_filename, names) if i is not None and i > job_id)
        return sorted(found)

    def catch_up(self, archive=True):
        """Publish what changed while eventd was not watching."""
        in_queue = self.queue_job_ids()
        present = set(in_queue)
        todo = list(in_queue)
        if archive and self.state.max_job_id is not None:
            # jobs seen unfinished that were archived meanwhile, and jobs never seen
            todo += [i for i in self.state.unfinished_job_ids() if i not in present]
            todo += [i for i in self.archive_job_ids_after(self.state.max_job_id) if i not in present]
        self.process_jobs(sorted(set(todo)))
        for job_id in list(self.state.jobs):
            if job_id not in present and self.state.is_done(job_id):
                self.state.forget_if_done(job_id)
        self.state.save_if_dirty()
        log.info("caught up: %d job files read, %d messages published so far",
                 len(todo), self.published)

    # -- main loop --------------------------------------------------------
    def run(self, ready_callback=None):
        from synnefo.ganeti import inotify as F

        inotify = F.INotify()
        try:
            self.declare()
            inotify.add_watch(self.queue_dir, F.MOVED_TO | F.CLOSE_WRITE | F.MOVED_FROM | F.DELETE)
            log.info("watching %s (cluster %s)", self.queue_dir, self.cluster)
            self.catch_up()
            if ready_callback:
                ready_callback()
            while not self.stop_event.is_set():
                try:
                    events = inotify.read(timeout=500)
                except OSError as exc:
                    if exc.errno == errno.EINTR:
                        continue
                    raise
                if not events:
                    self.state.save_if_dirty()
                    continue
                self.handle_events(events, F)
        except Stopped:
            log.info("stop requested")
        finally:
            inotify.close()
            try:
                self.state.save_if_dirty()
            except OSError as exc:
                log.error("cannot save the state file: %s", exc)
            self.state.close()

    def handle_events(self, events, F):
        changed = {}   # job id -> None, in order of first event (coalescing)
        gone = []
        overflow = False
        for event in events:
            if event.mask & F.Q_OVERFLOW:
                overflow = True
                continue
            job_id = job_id_of_filename(event.name)
            if job_id is None:
                continue
            if event.mask & (F.MOVED_TO | F.CLOSE_WRITE):
                changed[job_id] = None
            elif event.mask & (F.MOVED_FROM | F.DELETE):
                gone.append(job_id)
        if overflow:
            # Lost events may hide jobs that finished and were archived
            # meanwhile: rescan as at start, archive included.
            log.warning("inotify queue overflow: rescanning %s and its archive", self.queue_dir)
            self.catch_up()
        # one batch for the whole burst: one sync per BATCH changes
        self.process_jobs(list(changed))
        archived = []
        for job_id in gone:
            if not os.path.exists(os.path.join(self.queue_dir, f"job-{job_id}")):
                if not self.state.is_done(job_id) and job_id in self.state.jobs:
                    # archived before we saw its final state: read it from the archive
                    archived.append(job_id)
                else:
                    self.state.forget_if_done(job_id)
        if archived:
            self.process_jobs(archived)
            for job_id in archived:
                self.state.forget_if_done(job_id)
        # Every published change is already recorded (a "confirmed" journal
        # entry each); the bookkeeping (job done or forgotten, the highest job
        # id read) is appended too, and the journal is compacted when eventd
        # is idle or stops. Losing entries appended since the last sync (a
        # power loss) only makes the next start read those jobs again, and
        # re-send the last batch's unconfirmed changes marked as possible
        # duplicates (synnefo.ganeti.state).


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog=PROG, description="Publish Ganeti job status changes to the Cyclades broker.")
    parser.add_argument("--queue-dir", default=None,
                        help=f"Ganeti job-queue directory (default: setting GANETI_QUEUE_DIR, "
                             f"{DEFAULT_QUEUE_DIR})")
    parser.add_argument("--cluster-name",
                        help="cluster name (default: ssconf_cluster_name next to the queue dir)")
    parser.add_argument("--state-file", default=None,
                        help=f"record of published changes (default: setting EVENTD_STATE_FILE, "
                             f"{DEFAULT_STATE_FILE})")
    parser.add_argument("-f", "--foreground", action="store_true",
                        help="do not detach; log to stderr unless --log-file is given")
    parser.add_argument("-p", "--pid-file", default=None,
                        help=f"pid file (default {DEFAULT_PID_FILE} when detached)")
    parser.add_argument("-l", "--log-file", "--log", dest="log_file", default=None,
                        help=f"log file (default {DEFAULT_LOG_FILE} when detached)")
    parser.add_argument("-d", "--debug", action="store_true", help="debug logging")
    add_version_option(parser, PROG, "snf-cyclades-gtools")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    settings = daemon_util.load_settings(PROG)
    args.queue_dir = args.queue_dir or getattr(settings, "GANETI_QUEUE_DIR", DEFAULT_QUEUE_DIR)
    args.state_file = args.state_file or getattr(settings, "EVENTD_STATE_FILE", DEFAULT_STATE_FILE)
    # the daemon changes directory to /: make every path absolute first
    for attr in ("queue_dir", "state_file", "pid_file", "log_file"):
        if getattr(args, attr):
            setattr(args, attr, os.path.abspath(getattr(args, attr)))
    if not os.path.isdir(args.queue_dir):
        print(f"{PROG}: {args.queue_dir}: not a directory", file=sys.stderr)
        return 1
    cluster = args.cluster_name
    if not cluster:
        try:
            cluster = read_cluster_name(args.queue_dir)
        except (OSError, ValueError) as exc:
            print(f"{PROG}: cannot read the cluster name ({exc}); use --cluster-name",
                  file=sys.stderr)
            return 1
    state_dir = os.path.dirname(os.path.abspath(args.state_file))
    try:
        os.makedirs(state_dir, exist_ok=True)
        state = PublishedState(args.state_file)
    except (OSError, StateError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1

    return run_service(PROG, lambda stop_event: _run(settings, args, cluster, state, stop_event),
                       foreground=args.foreground, debug=args.debug, pid_file=args.pid_file,
                       log_file=args.log_file, default_pid_file=DEFAULT_PID_FILE,
                       default_log_file=DEFAULT_LOG_FILE)


def _run(settings, args, cluster, state, stop_event):
    try:
        broker = daemon_util.make_broker(settings)
    except Exception as exc:
        log.error("cannot set up the broker client: %s", exc)
        return 1
    eventd = EventDaemon(args.queue_dir, cluster, settings.BACKEND_PREFIX_ID, broker, state,
                         stop_event, exchange_prefix=daemon_util.backend_prefix(settings))
    log.info("%s starting (state %s)", PROG, args.state_file)
    try:
        eventd.run()
    except Exception:
        log.exception("%s failed", PROG)
        return 1
    finally:
        try:
            broker.close()
        except Exception as exc:
            log.debug("broker close: %s", exc)
    log.info("%s stopped; %d messages published", PROG, eventd.published)
    return 0


if __name__ == "__main__":
    sys.exit(main())
