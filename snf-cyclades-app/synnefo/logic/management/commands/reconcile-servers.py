"""snf-manage reconcile-servers: compare servers with Ganeti and repair the drift."""

from django.core.management.base import CommandError
from synnefo.db.management.common import positive_int
from synnefo.db.models import VirtualMachine
from synnefo.logic.reconciliation import servers
from synnefo.logic.reconciliation.command import ReconcileCommand
from synnefo.logic.reconciliation.report import Report


def fix_dest(kind):
    return "fix_" + kind.replace("-", "_")


class Command(ReconcileCommand):
    stored_as = "reconcile-servers"  # also the runs of its alias, snf-manage reconcile
    help = ("Compare the servers of the DB with the instances of every Ganeti backend and report "
            "(default) or repair (--fix-*) what differs. Without --all (or --server-id) only the "
            "share of servers reconciled longest ago is checked, so that a run every --interval "
            "minutes checks every server at least once per RECONCILIATION_MIN minutes. Exit status: "
            "0 in sync, 1 something found and not fixed, 2 errors (e.g. a backend did not answer).")

    def add_arguments(self, parser):
        parser.add_argument("--detect-all", action="store_true",
                            help="report every kind of finding (the default)")
        parser.add_argument("--fix-all", action="store_true",
                            help="repair every kind of finding except orphans (%s)"
                                 % ", ".join(servers.FIX_ALL))
        for kind, (option, meaning) in servers.KINDS.items():
            parser.add_argument(option, dest=fix_dest(kind), action="store_true",
                                help="repair '%s' findings: %s" % (kind, meaning))
        parser.add_argument("--all", action="store_true",
                            help="check every server (default: the staggered share, see --interval)")
        parser.add_argument("--interval", default="1", metavar="MIN",
                            help="minutes between two staggered runs (default 1)")
        parser.add_argument("--backend-id", help="only this backend")
        parser.add_argument("--server-id", action="append", default=[], metavar="ID",
                            help="only this server (repeatable, or comma-separated)")
        super().add_arguments(parser)

    def reconcile(self, options):
        interval = None
        if not options["all"] and not options["server_id"]:
            try:
                interval = float(options["interval"])
            except ValueError:
                raise CommandError("--interval must be a number of minutes, not %r"
                                   % options["interval"]) from None
            if not interval > 0 or interval != interval or interval == float("inf"):
                raise CommandError("--interval must be a positive number of minutes")
        backend_id = self.backend_id(options["backend_id"])
        server_ids = []
        for text in options["server_id"]:
            server_ids += [positive_int(part, "--server-id") for part in text.split(",") if part.strip()]
        missing = set(server_ids) - set(VirtualMachine.objects.filter(pk__in=server_ids, deleted=False)
                                         .values_list("id", flat=True))
        if missing:
            raise CommandError("Server(s) %s not found in DB (or deleted). Use snf-manage server-list "
                               "to find out the available IDs." % ", ".join(map(str, sorted(missing))))
        fixes = set(servers.FIX_ALL) if options["fix_all"] else set()
        fixes |= {kind for kind in servers.KINDS if options[fix_dest(kind)]}
        report = Report()
        checked = servers.reconcile(report, fixes, backend_id=backend_id, server_ids=server_ids,
                                    interval=interval, progress=None)
        self.finish(report, options, "%d server(s) checked" % checked)

