"""snf-manage backend-update-status: refresh the resource statistics of backends."""

from django.core.management.base import BaseCommand, CommandError
from synnefo.db.models import Backend
from synnefo.logic import backend_stats
from synnefo.logic.utils import one_line_errors


class Command(BaseCommand):
    help = "Refresh the resource statistics of the (non-offline) backends."

    def create_parser(self, *args, **kwargs):
        return one_line_errors(super().create_parser(*args, **kwargs))

    def add_arguments(self, parser):
        parser.add_argument("--backend-id", type=int, help="only this backend")
        parser.add_argument("--older-than", type=int, default=None, metavar="MIN",
                            help="only stats older than MIN minutes or never fetched (default "
                                 "BACKEND_REFRESH_MIN; 0 refreshes all)")
        parser.add_argument("--include-drained", action="store_true", help="also drained backends")

    def handle(self, *args, **options):
        minutes = options["older_than"]
        if minutes is not None and minutes < 0:
            raise CommandError("--older-than must not be negative")
        if options["backend_id"] is not None and not Backend.objects.filter(
                pk=options["backend_id"]).exists():
            raise CommandError("Backend with ID %s not found in DB. Use snf-manage backend-list "
                               "to find out the available IDs." % options["backend_id"])
        found = backend_stats.stale_backends(minutes, options["include_drained"],
                                             options["backend_id"])
        results = backend_stats.refresh(found, report=self.report)
        failed = sum(1 for error in results.values() if error is not None)
        if failed:
            raise CommandError("%d backend(s) could not be refreshed" % failed)

    def report(self, backend, error):
        if error is not None:
            self.stderr.write("Backend %s: cannot refresh: %s" % (backend.clustername, error))
            return
        self.stdout.write("Backend %s: mfree %d/%d MiB, dfree %d/%d MiB, %d instances, %d cpus"
                          % (backend.clustername, backend.mfree, backend.mtotal, backend.dfree,
                             backend.dtotal, backend.pinst_cnt, backend.ctotal))
