"""snf-manage reconcile-pools: bridge, MAC-prefix and IP pools vs what is in use."""

from synnefo.db.models import Backend
from synnefo.logic.reconciliation import pools
from synnefo.logic.reconciliation.command import ReconcileCommand
from synnefo.logic.reconciliation.ganeti import BackendUnreachable, BackendView
from synnefo.logic.reconciliation.report import Report


class Command(ReconcileCommand):
    help = ("Check the bridge pool, the MAC-prefix pool and every network's IP pool against what "
            "is really in use (networks, backend networks, NICs in the DB and in Ganeti): values "
            "used twice are reported; with --fix, values allocated but used by nothing are freed "
            "and values in use but free are marked allocated. Exit status: 0 in sync, 1 found and "
            "not fixed, 2 errors.")

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="repair the pools")
        parser.add_argument("--no-ganeti", action="store_true",
                            help="compare with the DB only (do not read the backends' instances)")
        super().add_arguments(parser)

    def reconcile(self, options):
        report = Report()
        views = []
        if not options["no_ganeti"]:
            for backend in Backend.objects.filter(offline=False).order_by("id"):
                view = BackendView(backend)
                try:
                    view.instances()
                except BackendUnreachable as exc:
                    report.error(backend, "backend did not answer: %s" % exc)
                    continue
                views.append(view)
        # What a backend that did not answer uses is unknown: then repair nothing.
        fix = options["fix"] and not report.findings
        pools.reconcile(report, fix, views)
        self.finish(report, options, "pools checked")
