"""What the reconcile-* commands share: ``--output table|json|csv``, the report
and the exit status (0 in sync, 1 found and not fixed, 2 errors, bad
arguments included)."""

from django.core.management.base import CommandError
from django.db import OperationalError, ProgrammingError
from synnefo.db.management.common import ManageCommand, database_error, positive_int
from synnefo.db.models import Backend
from synnefo.logic.backends import patient_rapi_calls
from synnefo.logic.reconciliation.report import EXIT_ERROR
from synnefo.webproject.management.output import add_output_argument


class ReconcileCommand(ManageCommand):
    def add_arguments(self, parser):
        add_output_argument(parser)

    def handle(self, *args, **options):
        try:
            # off the API's request path: Ganeti's long timeout and retries,
            # for bulk lists of many instances
            with patient_rapi_calls():
                return self.reconcile(options)
        except CommandError as exc:
            exc.returncode = EXIT_ERROR
            raise
        except (OperationalError, ProgrammingError) as exc:
            message = database_error(exc)
            if message is None:
                raise
            raise CommandError(message, returncode=EXIT_ERROR) from exc

    def reconcile(self, options):
        raise NotImplementedError

    @staticmethod
    def backend_id(text):
        if text is None:
            return None
        backend_id = positive_int(text, "--backend-id")
        if not Backend.objects.filter(pk=backend_id).exists():
            raise CommandError("Backend with ID %s not found in DB. Use snf-manage backend-list "
                               "to find out the available IDs." % backend_id)
        return backend_id

    def finish(self, report, options, summary):
        report.write(self.stdout, options["output"], summary=summary)
        status = report.exit_status()
        if status:
            raise SystemExit(status)
