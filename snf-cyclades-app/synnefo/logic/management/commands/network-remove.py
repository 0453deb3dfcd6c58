"""snf-manage network-remove."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from synnefo.db.models import Network
from synnefo.logic import networks
from synnefo.logic.errors import LogicError
from synnefo.logic.utils import get_object_or_error, one_line_errors


class Command(BaseCommand):
    help = ("Remove a network: refused while servers are connected; otherwise deleted on every "
            "non-offline backend (the row is marked deleted when Ganeti confirms).")

    def create_parser(self, *args, **kwargs):
        return one_line_errors(super().create_parser(*args, **kwargs))

    def add_arguments(self, parser):
        parser.add_argument("network_id")

    def handle(self, *args, **options):
        network = get_object_or_error(Network, options["network_id"], "Network", "network-list")
        try:
            with transaction.atomic():
                network = Network.objects.select_for_update().get(pk=network.pk)
                if network.deleted:
                    raise CommandError("Network %d is already deleted" % network.id)
                plan = networks.mark_destroy(network)
            network = networks.submit_destroy(network, plan)
        except LogicError as exc:
            raise CommandError(exc.message)
        self.stdout.write("Network %d: %s" % (network.id, "deleted" if network.deleted
                                                else "removal submitted to the backends"))
