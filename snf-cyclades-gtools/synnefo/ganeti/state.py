"""The durable record of what snf-ganeti-eventd has published.

The state file is a journal (:mod:`synnefo.ganeti.journal`): a snapshot on
its first line, then one entry per line::

    {"version":2,"max_job_id":41,"jobs":{"40":{"ops":{"0":["queued"]},"done":false}},
     "in_doubt":[]}
    ["i","<boot id>",[[40,0,"running"],[41,0,"queued"]]]   intent, fdatasync'ed
    ["s",40,0,"running"]                                     sending (about to publish)
    ["c",40,0,"running"]                                     confirmed by the broker
    ["s",41,0,"queued"]
    ["a",41,0,"queued"]                                      abandoned: the publish failed
    ["m",41]  ["d",40]  ["f",40]                             highest job id read, job done,
                                                             job forgotten

eventd publishes in *batches* (at most :data:`BATCH` changes). Before the
first publish of a batch it appends the intent entry that names every change
of the batch and syncs the file, once for the batch. Around each publish it
appends ``s`` and ``c`` (or ``a``) without syncing. A status counts as
published (:meth:`PublishedState.is_published`) only once its ``c`` entry
was written, after the broker's confirmation.

Which changes are *in doubt* at start (possibly published, but not recorded
as such) is decided from the intent entry of the last batch:

* the process died (``kill -9``, a crash) but the machine did not: the
  entries appended without sync are in the page cache and were all read back
  (the intent carries the boot id, which is unchanged). In doubt is at most
  the one change with an ``s`` but no ``c`` or ``a``: the change in flight,
  exactly as with a rewritten state file;
* the machine lost power or rebooted (another boot id), or the tail of the
  file was torn: entries after the last sync may be lost, so every change of
  the last batch without a ``c`` or ``a`` entry is in doubt, up to
  :data:`BATCH` of them. That is the price of one sync per batch instead of
  three per change.

Changes in doubt are published again marked ``x-snf-possible-duplicate:
true`` (:attr:`PublishedState.in_doubt`); the set is kept in the snapshot
until each of them is published or its job forgotten, so a second crash does
not lose it. Everything else is published exactly once.

The journal is compacted (rewritten as a snapshot alone, atomically) at
start, when it holds more than :data:`COMPACT_AFTER` entries, and when eventd
is idle or stops. A state file of the previous format (one JSON object,
``"version": 1``, with a staged ``<file>.tmp`` naming the change in flight) is
read and rewritten in this format at the first start.

A job is *done* once the job file showed every op in a final status and all
of its changes were published; done jobs are forgotten once their file has
left the queue directory (archived or deleted), which keeps the file small.
Losing the ``m``, ``d`` or ``f`` entries in a power loss only makes the next
start read those jobs again, which publishes nothing twice.
"""

import json
import logging

from synnefo.ganeti.journal import Journal, JournalError, boot_id, read_journal, remove_if_present

log = logging.getLogger(__name__)

#: The most changes named by one intent entry (one sync): after a power loss
#: at most this many changes are re-sent as possible duplicates.
BATCH = 64
#: Entries after which the journal is compacted even when eventd is busy.
COMPACT_AFTER = 10000
LEGACY_VERSION = 1


class StateError(Exception):
    """The state file exists but cannot be read or understood."""


def _key(values):
    job_id, index, status = values
    return (int(job_id), int(index), str(status))


class PublishedState:
    def __init__(self, path, compact_after=COMPACT_AFTER):
        self.path = path
        self.legacy_tmp_path = path + ".tmp"
        self.compact_after = compact_after
        self.jobs = {}          # job id (int) -> {"ops": {index: set(status)}, "done": bool}
        self.max_job_id = None  # None: eventd never ran with this state file
        self.existed = False
        self.in_doubt = set()   # (job, op, status) that may have been published before a crash
        self.boot = boot_id()
        self.journal = Journal(path)
        self._file_written = False   # the file exists and starts with a snapshot
        self._load()

    # -- loading ----------------------------------------------------------
    def _load(self):
        self.journal.discard_leftover()
        try:
            found = read_journal(self.path, is_synced=lambda entry: entry[0] == "i")
        except (OSError, JournalError) as exc:
            raise StateError(f"{self.path}: cannot read state file: {exc}") from exc
        if found is None:
            return
        try:
            version = found.first.get("version")
            if version == LEGACY_VERSION and not found.entries:
                self._apply_snapshot(found.first)
                self._load_legacy_in_flight()
            elif version == 2:
                self._apply_snapshot(found.first)
                self._replay(found.entries, found.torn)
            else:
                raise ValueError(f"unknown version {version!r}")
        except (AttributeError, KeyError, TypeError, ValueError, IndexError) as exc:
            raise StateError(f"{self.path}: malformed state file: {exc}") from exc
        self.existed = True
        if self.in_doubt:
            log.warning("changes possibly published before a crash (will be re-sent marked "
                        "as possible duplicates): %s", sorted(self.in_doubt))
        # a clean file: only the snapshot, which also keeps ``in_doubt`` across another crash
        self.compact()
        if version == LEGACY_VERSION:
            log.info("%s: converted to the journal format", self.path)
            remove_if_present(self.legacy_tmp_path)

    def _apply_snapshot(self, data):
        self.max_job_id = data.get("max_job_id")
        for job_id, job in data["jobs"].items():
            self.jobs[int(job_id)] = {
                "ops": {int(i): set(statuses) for i, statuses in job["ops"].items()},
                "done": bool(job.get("done")),
            }
        self.in_doubt = {_key(k) for k in data.get("in_doubt", ())}

    def _replay(self, entries, torn):
        intended = set()   # changes of the last batch neither confirmed nor abandoned
        intent_boot = None
        sending = None
        for entry in entries:
            kind = entry[0]
            if kind == "i":
                if sending is not None:   # never settled (an error while recording it)
                    self.in_doubt.add(sending)
                    sending = None
                intent_boot = entry[1]
                intended = {_key(k) for k in entry[2]}
            elif kind == "s":
                sending = _key(entry[1:])
            elif kind in ("c", "a"):
                key = _key(entry[1:])
                if kind == "c":
                    self._record(key)
                intended.discard(key)
                if sending == key:
                    sending = None
            elif kind == "m":
                self._saw(int(entry[1]))
            elif kind == "d":
                self._done(int(entry[1]))
            elif kind == "f":
                self._forget(int(entry[1]))
            else:
                raise ValueError(f"unknown entry {entry!r}")
        same_boot = self.boot is not None and intent_boot == self.boot
        if intended and (torn or not same_boot):
            log.warning("%s: the machine restarted or the file was torn since the last batch: "
                        "its %d unconfirmed changes are in doubt", self.path, len(intended))
            self.in_doubt |= intended
        elif sending is not None:
            self.in_doubt.add(sending)
        self.in_doubt -= self._published_keys()

    def _load_legacy_in_flight(self):
        """The change staged in ``<file>.tmp`` by the previous format, if any."""
        try:
            with open(self.legacy_tmp_path, encoding="utf-8") as handle:
                data = json.load(handle)
            staged = {(int(job_id), int(index), status)
                      for job_id, job in data["jobs"].items()
                      for index, statuses in job["ops"].items() for status in statuses}
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            # torn while being written: its publish never started
            staged = set()
        self.in_doubt = staged - self._published_keys()

    def _published_keys(self):
        return {(job_id, index, status) for job_id, job in self.jobs.items()
                for index, statuses in job["ops"].items() for status in statuses}

    # -- writing ----------------------------------------------------------
    def _snapshot(self):
        return {
            "max_job_id": self.max_job_id,
            "jobs": {str(job_id): {"ops": {str(i): sorted(s) for i, s in job["ops"].items()},
                                   "done": job["done"]}
                     for job_id, job in sorted(self.jobs.items())},
            "in_doubt": sorted([list(k) for k in self.in_doubt]),
        }

    def compact(self):
        """Rewrite the file as one snapshot (temp file, fsync, rename, fsync of the directory)."""
        self.journal.rewrite(self._snapshot())
        self._file_written = True

    def _append(self, entry, sync=False):
        if not self._file_written:   # first start: the file begins with a snapshot
            self.compact()
        self.journal.append(entry, sync=sync)

    def compact_if_large(self):
        if self.journal.appended > self.compact_after:
            self.compact()

    def save_if_dirty(self):
        """Compact when entries were appended since the last snapshot (eventd idle or stopping)."""
        if self.journal.appended:
            self.compact()

    save = compact

    def close(self):
        self.journal.close()

    # -- queries ----------------------------------------------------------
    def is_published(self, change):
        job = self.jobs.get(change.job_id)
        return bool(job) and change.status in job["ops"].get(change.op_index, ())

    def is_done(self, job_id):
        job = self.jobs.get(job_id)
        return bool(job and job["done"])

    def unfinished_job_ids(self):
        return sorted(job_id for job_id, job in self.jobs.items() if not job["done"])

    # -- one batch of publishes -------------------------------------------
    def intend(self, changes):
        """Durably name the changes about to be published (one sync for all of them)."""
        if len(changes) > BATCH:
            raise ValueError(f"{len(changes)} changes in one intent, at most {BATCH}")
        self._append(["i", self.boot, [list(c.key) for c in changes]], sync=True)

    def sending(self, change):
        """``change`` goes to the broker now (after :meth:`intend` named it)."""
        self._append(["s", *change.key])

    def confirmed(self, change):
        """The broker confirmed ``change``: it is published."""
        self._append(["c", *change.key])
        self._record(change.key)
        self.in_doubt.discard(change.key)

    def abandoned(self, change):
        """The publish of ``change`` failed or was interrupted: it is not published."""
        self._append(["a", *change.key])

    def _record(self, key):
        job_id, index, status = key
        job = self.jobs.setdefault(job_id, {"ops": {}, "done": False})
        job["ops"].setdefault(index, set()).add(status)
        self._saw(job_id)

    # -- bookkeeping (appended without sync) ------------------------------
    def _saw(self, job_id):
        if self.max_job_id is None or job_id > self.max_job_id:
            self.max_job_id = job_id
            return True
        return False

    def _done(self, job_id):
        job = self.jobs.get(job_id)
        if job is not None and not job["done"]:
            job["done"] = True
            return True
        return False

    def _forget(self, job_id):
        if self.is_done(job_id):
            del self.jobs[job_id]
            self.in_doubt = {k for k in self.in_doubt if k[0] != job_id}
            return True
        return False

    def saw_job(self, job_id):
        if self._saw(job_id):
            self._append(["m", job_id])

    def mark_done(self, job_id):
        if self._done(job_id):
            self._append(["d", job_id])

    def forget_if_done(self, job_id):
        """Drop a done job (its file left the queue directory)."""
        if self._forget(job_id):
            self._append(["f", job_id])
            return True
        return False
