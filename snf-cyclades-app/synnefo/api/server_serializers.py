"""JSON representations of servers, their NICs and diagnostics (spec 02-api §4.1).

A list costs a constant number of SQL queries whatever its length:
:func:`load_relations` reads the metadata, the NICs and only the latest
diagnostic of all listed servers in three plain queries (Django's
``prefetch_related`` costs more than the queries themselves at a thousand
servers, and would load every diagnostic of every server).
"""

from django.db.models import OuterRef, Subquery
from synnefo.api.util import isoformat
from synnefo.db.models import (
    NetworkInterface,
    VirtualMachine,
    VirtualMachineDiagnostic,
    VirtualMachineMetadata,
)
from synnefo.logic.state import server_status


def servers_queryset(userid):
    """The user's servers (deleted ones included), by id."""
    return VirtualMachine.objects.filter(userid=userid).order_by("id")


def load_relations(vms):
    """Attach ``api_metadata``, ``api_nics`` and ``api_diagnostic`` to every server of ``vms``."""
    by_id = {}
    for vm in vms:
        vm.api_metadata, vm.api_nics, vm.api_diagnostic = {}, [], None
        by_id[vm.id] = vm
    if not by_id:
        return vms
    rows = VirtualMachineMetadata.objects.filter(vm_id__in=by_id).order_by("id")
    for vm_id, key, value in rows.values_list("vm_id", "meta_key", "meta_value"):
        by_id[vm_id].api_metadata[key] = value
    for nic in NetworkInterface.objects.filter(machine_id__in=by_id).order_by("machine_id", "index"):
        by_id[nic.machine_id].api_nics.append(nic)
    latest = (VirtualMachineDiagnostic.objects.filter(machine=OuterRef("machine"))
              .order_by("-created", "-id").values("id")[:1])
    for diagnostic in VirtualMachineDiagnostic.objects.filter(machine_id__in=by_id, id=Subquery(latest)):
        by_id[diagnostic.machine_id].api_diagnostic = diagnostic
    return vms


def nic_to_dict(nic):
    data = {"id": nic.attachment_id, "network_id": str(nic.network_id), "mac_address": nic.mac,
            "ipv4": nic.ipv4 or None, "ipv6": nic.ipv6 or None}
    if nic.firewall_profile:
        data["firewallProfile"] = nic.firewall_profile
    return data


def diagnostic_to_dict(diagnostic):
    data = {"source": diagnostic.source, "created": isoformat(diagnostic.created),
            "message": diagnostic.message, "details": diagnostic.details, "level": diagnostic.level}
    if diagnostic.source_date is not None:
        data["source_date"] = isoformat(diagnostic.source_date)
    return data


def metadata_of(vm):
    return {m.meta_key: m.meta_value for m in vm.metadata.all()}


def server_to_dict(vm, detail=True):
    """Compact ``{id, name}`` or the detailed server; empty metadata,
    attachments and diagnostics are omitted."""
    data = {"id": vm.id, "name": vm.name}
    if not detail:
        return data
    status, progress = server_status(vm)
    data.update({
        "status": status,
        "progress": progress,
        "hostId": "",
        "created": isoformat(vm.created),
        "updated": isoformat(vm.updated),
        "flavorRef": vm.flavor_id,
        "imageRef": vm.imageid,
        "suspended": vm.suspended,
        "SNF:task_state": vm.task or "",
    })
    if not hasattr(vm, "api_nics"):
        load_relations([vm])
    if vm.api_metadata:
        data["metadata"] = {"values": vm.api_metadata}
    if vm.api_nics:
        data["attachments"] = {"values": [nic_to_dict(nic) for nic in vm.api_nics]}
    if vm.api_diagnostic is not None:
        data["diagnostics"] = [diagnostic_to_dict(vm.api_diagnostic)]
    return data
