"""snf-manage reconcile-networks: compare networks with Ganeti and repair the drift."""

from django.core.management.base import CommandError
from synnefo.db.management.common import ManageCommand, positive_int
from synnefo.db.models import Backend
from synnefo.logic.reconciliation import networks
from synnefo.logic.reconciliation.report import Report
from synnefo.webproject.management.output import add_output_argument


class Command(ManageCommand):
    help = ("Compare every network with the Ganeti networks of every non-offline backend: networks "
            "missing on a backend (also a backend added later), orphan Ganeti networks, networks not "
            "connected to every node group, states whose jobs ended without a message, and each IP "
            "pool against the NICs in the DB and in Ganeti. --fix-all repairs what can be repaired "
            "(IPs used twice are only reported). Exit status: 0 in sync, 1 found and not fixed, "
            "2 errors.")

    def add_arguments(self, parser):
        parser.add_argument("--detect-all", action="store_true", help="report everything (the default)")
        parser.add_argument("--fix-all", action="store_true", help="repair every finding that can be")
        parser.add_argument("--backend-id", help="only this backend")
        add_output_argument(parser)

    def handle(self, *args, **options):
        if options["output"] not in ("table", "json"):
            raise CommandError("--output must be table or json")
        backend_id = None
        if options["backend_id"] is not None:
            backend_id = positive_int(options["backend_id"], "--backend-id")
            if not Backend.objects.filter(pk=backend_id).exists():
                raise CommandError("Backend with ID %s not found in DB. Use snf-manage backend-list "
                                   "to find out the available IDs." % backend_id)
        report = Report()
        count = networks.reconcile(report, options["fix_all"], backend_id)
        report.write(self.stdout, options["output"], summary="%d network(s) checked" % count)
        status = report.exit_status()
        if status:
            raise SystemExit(status)
