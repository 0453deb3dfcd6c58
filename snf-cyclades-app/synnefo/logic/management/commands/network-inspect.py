"""snf-manage network-inspect: DB fields, IP pool, per-backend state, Ganeti's view."""

import json

from django.core.management.base import BaseCommand
from django.db import transaction
from synnefo.db.models import BackendNetwork, Network, PendingNic
from synnefo.logic import backends
from synnefo.logic.errors import ServiceUnavailable
from synnefo.logic.pools import IPPool
from synnefo.logic.utils import get_object_or_error, network_name, one_line_errors
from synnefo.rapi import GanetiApiError, GanetiNotFound
from synnefo.webproject.management.output import print_object

FIELDS = ("id", "name", "userid", "type", "subnet", "gateway", "subnet6", "gateway6", "dhcp", "link",
          "mac_prefix", "public", "state", "action", "deleted", "created", "updated")


class Command(BaseCommand):
    help = "Inspect a network: DB fields, IP pool map, BackendNetworks and the Ganeti networks."

    def create_parser(self, *args, **kwargs):
        return one_line_errors(super().create_parser(*args, **kwargs))

    def add_arguments(self, parser):
        parser.add_argument("network_id")

    def handle(self, *args, **options):
        network = get_object_or_error(Network, options["network_id"], "Network", "network-list")
        print_object(self.stdout, [(f, getattr(network, f)) for f in FIELDS])
        with transaction.atomic():
            pool = IPPool.for_network(network)
            self.stdout.write("\nIP pool (. free, X used or reserved): %d available, %d reserved"
                              % (pool.count_available(), pool.count_reserved()))
            text = pool.to_map()
            for start in range(0, len(text), 64):
                self.stdout.write("%6d %s" % (start, text[start:start + 64]))
            transaction.set_rollback(True)  # inspecting must not initialise/alter anything
        pending = list(PendingNic.objects.filter(network=network).order_by("id"))
        if pending:
            self.stdout.write("\nPending NICs (asked of Ganeti, not reported yet; they hold their "
                              "address and keep the network in use):")
            for item in pending:
                self.stdout.write("  server %s: %s, address %s, job %s, since %s"
                                  % (item.machine_id, item.kind, item.ipv4 or "-",
                                     item.job_id if item.job_id is not None else "unknown",
                                     item.created.isoformat(timespec="seconds")))
        for bnet in BackendNetwork.objects.select_related("backend").filter(network=network):
            self.stdout.write("\nBackend %s: operstate %s, deleted %s, mac_prefix %s, job %s %s %s"
                              % (bnet.backend, bnet.operstate, bnet.deleted, bnet.mac_prefix,
                                 bnet.backendjobid, bnet.backendopcode, bnet.backendjobstatus))
            if bnet.backend.offline:
                self.stdout.write("  (offline)")
                continue
            try:
                info = backends.get_rapi_client(bnet.backend).get_network(network_name(network.id))
                self.stdout.write("  Ganeti: " + json.dumps(info, sort_keys=True, default=str))
            except GanetiNotFound:
                self.stdout.write("  Ganeti: network does not exist")
            except (GanetiApiError, ServiceUnavailable) as exc:
                self.stdout.write("  Ganeti: error: %s" % exc)
