"""JSON representations of servers, their NICs and diagnostics (spec 02-api §4.1).

The serializers read only what the queryset of ``servers_queryset`` already
loaded (metadata, NICs and the latest diagnostic are prefetched), so a list
costs a constant number of SQL queries whatever its length.
"""

from django.db.models import Prefetch
from synnefo.api.util import isoformat
from synnefo.db.models import NetworkInterface, VirtualMachine, VirtualMachineDiagnostic
from synnefo.logic.state import server_status


def servers_queryset(userid):
    """The user's servers with everything the detailed form needs prefetched."""
    nics = NetworkInterface.objects.order_by("index")
    diagnostics = VirtualMachineDiagnostic.objects.order_by("-created", "-id")
    return (VirtualMachine.objects.filter(userid=userid).order_by("id")
            .prefetch_related("metadata", Prefetch("nics", queryset=nics),
                              Prefetch("diagnostics", queryset=diagnostics)))


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
    metadata = metadata_of(vm)
    if metadata:
        data["metadata"] = {"values": metadata}
    nics = sorted(vm.nics.all(), key=lambda nic: nic.index)
    if nics:
        data["attachments"] = {"values": [nic_to_dict(nic) for nic in nics]}
    diagnostics = list(vm.diagnostics.all())
    if diagnostics:
        data["diagnostics"] = [diagnostic_to_dict(diagnostics[0])]
    return data
