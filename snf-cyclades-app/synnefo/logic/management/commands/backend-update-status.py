"""snf-manage backend-update-status: refresh the resource statistics of backends."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from synnefo.db.models import Backend
from synnefo.logic import backends
from synnefo.logic.errors import ServiceUnavailable
from synnefo.logic.utils import one_line_errors
from synnefo.rapi import GanetiApiError


class Command(BaseCommand):
    help = "Refresh the resource statistics of the (non-offline) backends."

    def create_parser(self, *args, **kwargs):
        return one_line_errors(super().create_parser(*args, **kwargs))

    def add_arguments(self, parser):
        parser.add_argument("--backend-id", type=int, help="only this backend")
        parser.add_argument("--older-than", type=int, default=None, metavar="MIN",
                            help="only stats older than MIN minutes (default BACKEND_REFRESH_MIN; "
                                 "0 refreshes all)")
        parser.add_argument("--include-drained", action="store_true", help="also drained backends")

    def handle(self, *args, **options):
        minutes = options["older_than"]
        if minutes is None:
            minutes = settings.BACKEND_REFRESH_MIN
        if minutes < 0:
            raise CommandError("--older-than must not be negative")
        query = Backend.objects.filter(offline=False).order_by("id")
        if options["backend_id"] is not None:
            if not Backend.objects.filter(pk=options["backend_id"]).exists():
                raise CommandError("Backend with ID %s not found in DB. Use snf-manage backend-list "
                                   "to find out the available IDs." % options["backend_id"])
            query = query.filter(pk=options["backend_id"])
        elif not options["include_drained"]:
            query = query.filter(drained=False)
        if minutes:
            query = query.filter(updated__lt=timezone.now() - timezone.timedelta(minutes=minutes))
        failed = 0
        for backend in query:
            try:
                backends.update_resources(backend)
                self.stdout.write("Backend %s: mfree %d/%d MiB, dfree %d/%d MiB, %d instances, %d cpus"
                                  % (backend.clustername, backend.mfree, backend.mtotal, backend.dfree,
                                     backend.dtotal, backend.pinst_cnt, backend.ctotal))
            except (GanetiApiError, ServiceUnavailable) as exc:
                failed += 1
                self.stderr.write("Backend %s: cannot refresh: %s" % (backend.clustername, exc))
        if failed:
            raise CommandError("%d backend(s) could not be refreshed" % failed)
