"""snf-manage reconcile-networks: compare networks with Ganeti and repair the drift."""

from synnefo.logic.reconciliation import networks
from synnefo.logic.reconciliation.command import ReconcileCommand
from synnefo.logic.reconciliation.report import Report


class Command(ReconcileCommand):
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
        super().add_arguments(parser)

    def reconcile(self, options):
        backend_id = self.backend_id(options["backend_id"])
        report = Report()
        count = networks.reconcile(report, options["fix_all"], backend_id)
        self.finish(report, options, "%d network(s) checked" % count)
