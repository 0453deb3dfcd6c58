"""The durable record of what snf-ganeti-eventd has published.

The state file is JSON::

    {"version": 1,
     "max_job_id": 41,                       # highest job id eventd has read
     "jobs": {"40": {"ops": {"0": ["queued", "running"]}, "done": false}}}

A status is added to an op only after the broker confirmed its message. The
file is replaced atomically: the new content is written to ``<file>.tmp`` and
fsynced *before* the publish (:meth:`PublishedState.stage`), and the rename
over the old file (:meth:`PublishedState.commit`) is the only thing done after
the broker's confirmation. So a crash leaves either the old or the new
record, and the only window in which a confirmed message is not yet recorded
is the few instructions between the confirmation and ``rename(2)``.

A crash can also come after the broker accepted a message but before eventd
got the confirmation (on AMQP, the confirm round trip). No producer can tell
these cases apart, so eventd does not guess: if a complete ``<file>.tmp`` is
found at start, the changes it holds beyond the committed record were *in
flight* (:attr:`PublishedState.in_doubt`); eventd publishes them again marked
``x-snf-possible-duplicate: true``. Everything else is published exactly once.

A job is *done* once the job file showed every op in a final status and all
of its changes were published; done jobs are forgotten once their file has
left the queue directory (archived or deleted), which keeps the file small.
"""

import json
import logging
import os

log = logging.getLogger(__name__)

VERSION = 1


class StateError(Exception):
    """The state file exists but cannot be read or understood."""


def _fsync_dir(path):
    try:
        fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class PublishedState:
    def __init__(self, path):
        self.path = path
        self.tmp_path = path + ".tmp"
        self.jobs = {}          # job id (int) -> {"ops": {index: set(status)}, "done": bool}
        self.max_job_id = None  # None: eventd never ran with this state file
        self.existed = False
        self.dirty = False
        self.in_doubt = set()   # (job, op, status) that may have been published before a crash
        self._load()
        self._load_in_flight()

    # -- loading / saving -------------------------------------------------
    def _load(self):
        try:
            with open(self.path, encoding="utf-8") as handle:
                data = json.load(handle)
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            raise StateError(f"{self.path}: cannot read state file: {exc}") from exc
        try:
            if data.get("version") != VERSION:
                raise ValueError(f"unknown version {data.get('version')!r}")
            self.max_job_id = data.get("max_job_id")
            for job_id, job in data["jobs"].items():
                self.jobs[int(job_id)] = {
                    "ops": {int(i): set(statuses) for i, statuses in job["ops"].items()},
                    "done": bool(job.get("done")),
                }
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise StateError(f"{self.path}: malformed state file: {exc}") from exc
        self.existed = True

    def _keys(self, jobs):
        return {(job_id, index, status) for job_id, job in jobs.items()
                for index, statuses in job["ops"].items() for status in statuses}

    def _load_in_flight(self):
        """Changes staged but not committed when the previous run died."""
        try:
            with open(self.tmp_path, encoding="utf-8") as handle:
                data = json.load(handle)
            staged = {(int(job_id), int(index), status)
                      for job_id, job in data["jobs"].items()
                      for index, statuses in job["ops"].items() for status in statuses}
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            # torn while being written: its publish never started
            staged = set()
        self.in_doubt = staged - self._keys(self.jobs)
        if self.in_doubt:
            log.warning("changes possibly published before a crash (will be re-sent marked "
                        "as possible duplicates): %s", sorted(self.in_doubt))
        try:
            os.unlink(self.tmp_path)
        except OSError:
            pass

    def _serialize(self, jobs, max_job_id):
        return json.dumps({
            "version": VERSION,
            "max_job_id": max_job_id,
            "jobs": {str(job_id): {"ops": {str(i): sorted(s) for i, s in job["ops"].items()},
                                   "done": job["done"]}
                     for job_id, job in sorted(jobs.items())},
        }, separators=(",", ":")).encode("utf-8")

    def _write_tmp(self, payload):
        fd = os.open(self.tmp_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        try:
            view = memoryview(payload)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)

    def save(self):
        """Write the in-memory record (tmp + fsync + rename + fsync dir)."""
        self._write_tmp(self._serialize(self.jobs, self.max_job_id))
        os.rename(self.tmp_path, self.path)
        _fsync_dir(self.path)
        self.dirty = False

    def save_if_dirty(self):
        if self.dirty:
            self.save()

    # -- queries ----------------------------------------------------------
    def is_published(self, change):
        job = self.jobs.get(change.job_id)
        return bool(job) and change.status in job["ops"].get(change.op_index, ())

    def is_done(self, job_id):
        job = self.jobs.get(job_id)
        return bool(job and job["done"])

    def unfinished_job_ids(self):
        return sorted(job_id for job_id, job in self.jobs.items() if not job["done"])

    # -- updates ----------------------------------------------------------
    def _with_change(self, change):
        jobs = {job_id: {"ops": dict(job["ops"]), "done": job["done"]}
                for job_id, job in self.jobs.items()}
        job = jobs.setdefault(change.job_id, {"ops": {}, "done": False})
        job["ops"][change.op_index] = set(job["ops"].get(change.op_index, ())) | {change.status}
        return jobs

    def stage(self, change):
        """Prepare (write + fsync) the record that includes ``change``.

        Call before publishing; then :meth:`commit` once the broker confirmed,
        or :meth:`discard` when the publish did not happen.
        """
        jobs = self._with_change(change)
        max_job_id = max(self.max_job_id or 0, change.job_id)
        self._write_tmp(self._serialize(jobs, max_job_id))
        return jobs, max_job_id

    def commit(self, staged):
        os.rename(self.tmp_path, self.path)
        self.jobs, self.max_job_id = staged
        if self.in_doubt:
            self.in_doubt -= self._keys(self.jobs)
        self.dirty = False
        _fsync_dir(self.path)

    def discard(self, staged):
        try:
            os.unlink(self.tmp_path)
        except FileNotFoundError:
            pass

    def saw_job(self, job_id):
        if self.max_job_id is None or job_id > self.max_job_id:
            self.max_job_id = job_id
            self.dirty = True

    def mark_done(self, job_id):
        job = self.jobs.get(job_id)
        if job is not None and not job["done"]:
            job["done"] = True
            self.dirty = True

    def forget_if_done(self, job_id):
        """Drop a done job (its file left the queue directory)."""
        if self.is_done(job_id):
            del self.jobs[job_id]
            self.dirty = True
            return True
        return False
