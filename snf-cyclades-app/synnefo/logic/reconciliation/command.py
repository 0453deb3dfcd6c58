"""What the reconcile-* commands share: ``--output table|json|csv``, the report,
the exit status (0 in sync, 1 found and not fixed, 2 errors, bad arguments
included) and the stored run (see :mod:`.history`; a run stopped by bad
arguments is not stored)."""

from django.core.management.base import CommandError
from django.db import OperationalError, ProgrammingError
from django.utils import timezone
from synnefo.db.management.common import ManageCommand, database_error, positive_int
from synnefo.db.models import Backend
from synnefo.logic.backends import patient_rapi_calls
from synnefo.logic.reconciliation import history
from synnefo.logic.reconciliation.report import EXIT_ERROR
from synnefo.webproject.management.output import add_output_argument

# Options of every Django command, and the output format: not part of a run's summary.
NOT_SUMMARISED = {"help", "version", "verbosity", "settings", "pythonpath", "traceback",
                  "no_color", "force_color", "skip_checks", "output"}


class ReconcileCommand(ManageCommand):
    # The name runs are stored under (default: the command's own name).
    stored_as = None

    def add_arguments(self, parser):
        add_output_argument(parser)

    def run_name(self):
        return self.stored_as or type(self).__module__.rsplit(".", 1)[-1]

    def options_summary(self, options):
        """The options that differ from their defaults, as typed: ``--fix-all --backend-id 1``."""
        parser = self.create_parser("snf-manage", self.run_name())
        parts = []
        for action in parser._actions:
            if not action.option_strings or action.dest in NOT_SUMMARISED:
                continue
            value = options.get(action.dest, action.default)
            if value == action.default or value in (None, False, []):
                continue
            flag = max(action.option_strings, key=len)
            if value is True:
                parts.append(flag)
            else:
                for item in value if isinstance(value, list) else [value]:
                    parts.append("%s %s" % (flag, item))
        return " ".join(parts)

    def handle(self, *args, **options):
        self.started = timezone.now()
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
        """Print the report, store the run, exit with the report's status."""
        report.write(self.stdout, options["output"], summary=summary)
        status = report.exit_status()
        history.store(self.run_name(), self.options_summary(options), self.started, report,
                      summary, status)
        if status:
            raise SystemExit(status)
