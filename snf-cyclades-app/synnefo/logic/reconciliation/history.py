"""The stored reconciliation runs: each reconcile-* run with its findings,
the latest ``RUNS_KEPT`` of each command, for the admin web's update path."""

from django.db import transaction
from django.utils import timezone
from synnefo.db.models import ReconciliationFinding, ReconciliationRun

RUNS_KEPT = 20  # per command; older runs are deleted when a new one is stored


def _cut(text, length):
    return None if text is None else text[:length]


def store(command, options, started, report, summary, exit_status):
    """Store a run and its findings and prune the command's older runs, in one transaction."""
    with transaction.atomic():
        run = ReconciliationRun.objects.create(
            command=command, options=options[:1000], started=started, finished=timezone.now(),
            exit_status=exit_status, summary=summary[:255])
        ReconciliationFinding.objects.bulk_create(
            ReconciliationFinding(run=run, backend=_cut(f.backend, 255), kind=f.kind[:64],
                                  obj=_cut(f.obj, 255), details=f.details, result=f.result[:32])
            for f in report.findings)
        old = list(ReconciliationRun.objects.filter(command=command)
                   .order_by("-started", "-id").values_list("id", flat=True)[RUNS_KEPT:])
        if old:
            ReconciliationRun.objects.filter(id__in=old).delete()
    return run


def latest_runs():
    """The latest stored run of each command (by command name), findings prefetched."""
    latest = []
    for command in (ReconciliationRun.objects.order_by("command")
                    .values_list("command", flat=True).distinct()):
        run = (ReconciliationRun.objects.filter(command=command).order_by("-started", "-id")
               .prefetch_related("findings").first())
        if run is not None:
            latest.append(run)
    return latest
