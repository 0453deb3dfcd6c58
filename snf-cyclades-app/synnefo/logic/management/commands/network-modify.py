"""snf-manage network-modify: DB edits; reserved IPs go to Ganeti (spec 04 §6)."""

import ipaddress

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from synnefo.db.models import NETWORK_STATES, BackendNetwork, Network
from synnefo.logic import backends, validation
from synnefo.logic.errors import LogicError, ServiceUnavailable
from synnefo.logic.utils import get_object_or_error, network_name, one_line_errors
from synnefo.rapi import GanetiApiError


def ip_list(text, subnet):
    result = []
    for value in [v.strip() for v in (text or "").split(",") if v.strip()]:
        try:
            address = ipaddress.IPv4Address(value)
        except ValueError:
            raise CommandError("Invalid IP address: %s" % value)
        if address not in subnet:
            raise CommandError("%s is not in %s" % (value, subnet))
        result.append(str(address))
    return result


class Command(BaseCommand):
    help = ("Modify a network in the DB (Ganeti is not touched), except --add/--remove-reserved-ips, "
            "which are sent to every non-offline backend; the pool follows Ganeti's answer.")

    def create_parser(self, *args, **kwargs):
        return one_line_errors(super().create_parser(*args, **kwargs))

    def add_arguments(self, parser):
        parser.add_argument("network_id")
        parser.add_argument("--name")
        parser.add_argument("--userid")
        parser.add_argument("--subnet")
        parser.add_argument("--gateway")
        parser.add_argument("--subnet6")
        parser.add_argument("--gateway6")
        parser.add_argument("--dhcp", choices=["yes", "no"])
        parser.add_argument("--state", choices=NETWORK_STATES)
        parser.add_argument("--link")
        parser.add_argument("--mac-prefix")
        parser.add_argument("--add-reserved-ips", help="comma-separated IPv4 addresses")
        parser.add_argument("--remove-reserved-ips", help="comma-separated IPv4 addresses")

    def handle(self, *args, **options):
        network = get_object_or_error(Network, options["network_id"], "Network", "network-list")
        changes = {}
        try:
            if options["name"] is not None:
                changes["name"] = validation.network_name(options["name"])
            subnet = validation.ipv4_subnet(options["subnet"] or network.subnet)
            if options["subnet"] is not None:
                changes["subnet"] = str(subnet)
            if options["gateway"] is not None:
                changes["gateway"] = validation.ipv4_gateway(options["gateway"], subnet)
            subnet6 = validation.ipv6_subnet(options["subnet6"] or network.subnet6)
            if options["subnet6"] is not None:
                changes["subnet6"] = str(subnet6)
            if options["gateway6"] is not None:
                changes["gateway6"] = validation.ipv6_gateway(options["gateway6"], subnet6)
        except LogicError as exc:
            raise CommandError(exc.message)
        for option in ("userid", "state", "link", "mac_prefix"):
            if options[option] is not None:
                changes[option] = options[option]
        if options["dhcp"] is not None:
            changes["dhcp"] = options["dhcp"] == "yes"
        if changes.get("state") == "DELETED":
            changes["deleted"] = True
        add = ip_list(options["add_reserved_ips"], subnet)
        remove = ip_list(options["remove_reserved_ips"], subnet)
        if not (changes or add or remove):
            raise CommandError("Nothing to change: give at least one option")
        if "subnet" in changes and network.nics.exists():
            raise CommandError("Cannot change the subnet of a network in use")
        with transaction.atomic():
            network = Network.objects.select_for_update().get(pk=network.pk)
            for field, value in changes.items():
                setattr(network, field, value)
            if changes:
                network.save()
            if "subnet" in changes or "gateway" in changes:
                from synnefo.db.models import IPPoolTable
                IPPoolTable.objects.filter(network=network).delete()  # rebuilt from the new subnet
        if changes:
            self.stdout.write("Network %d: changed %s" % (network.id, ", ".join(sorted(changes))))
        if add or remove:
            body = {}
            if add:
                body["add_reserved_ips"] = add
            if remove:
                body["remove_reserved_ips"] = remove
            failed = 0
            for bnet in BackendNetwork.objects.select_related("backend").filter(
                    network=network, deleted=False, backend__offline=False):
                try:
                    job = backends.get_rapi_client(bnet.backend).modify_network(
                        network_name(network.id), **body)
                    self.stdout.write("Backend %s: reserved IPs job %s" % (bnet.backend, job))
                except (GanetiApiError, ServiceUnavailable) as exc:
                    failed += 1
                    self.stderr.write("Backend %s: %s" % (bnet.backend, exc))
            if failed:
                raise CommandError("%d backend(s) refused the reserved IPs" % failed)
