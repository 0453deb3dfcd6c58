"""JSON representations of servers, their NICs and diagnostics (spec 02-api §4.1).

Everything here renders the plain rows of :mod:`synnefo.api.server_rows`
(dicts, not model instances); ``nic_to_dict`` and ``diagnostic_to_dict``
also take model instances, for the views that hold those.
"""

from synnefo.api.util import isoformat
from synnefo.logic.state import api_progress, api_status


def nic_row_to_dict(nic):
    data = {"id": "nic-%s-%s" % (nic["machine_id"], nic["index"]), "network_id": str(nic["network_id"]),
            "mac_address": nic["mac"], "ipv4": nic["ipv4"] or None, "ipv6": nic["ipv6"] or None}
    if nic["firewall_profile"]:
        data["firewallProfile"] = nic["firewall_profile"]
    return data


def nic_to_dict(nic):
    """The attachment of a NetworkInterface."""
    return nic_row_to_dict({"machine_id": nic.machine_id, "index": nic.index, "network_id": nic.network_id,
                            "mac": nic.mac, "ipv4": nic.ipv4, "ipv6": nic.ipv6,
                            "firewall_profile": nic.firewall_profile})


def diagnostic_row_to_dict(diagnostic):
    data = {"source": diagnostic["source"], "created": isoformat(diagnostic["created"]),
            "message": diagnostic["message"], "details": diagnostic["details"],
            "level": diagnostic["level"]}
    if diagnostic["source_date"] is not None:
        data["source_date"] = isoformat(diagnostic["source_date"])
    return data


def diagnostic_to_dict(diagnostic):
    """A VirtualMachineDiagnostic."""
    return diagnostic_row_to_dict({name: getattr(diagnostic, name) for name in
                                   ("source", "created", "message", "details", "level", "source_date")})


def metadata_of(vm):
    return {m.meta_key: m.meta_value for m in vm.metadata.all()}


def server_to_dict(row, detail=True):
    """Compact ``{id, name}`` or the detailed server of a
    :func:`~synnefo.api.server_rows.server_rows` row; empty metadata,
    attachments and diagnostics are omitted."""
    if not detail:
        return {"id": row["id"], "name": row["name"]}
    status = api_status(row["operstate"], row["deleted"], row["backendopcode"], row["backendjobstatus"],
                        row["task"])
    data = {
        "id": row["id"],
        "name": row["name"],
        "status": status,
        "progress": api_progress(status, row["buildpercentage"]),
        "hostId": "",
        "created": isoformat(row["created"]),
        "updated": isoformat(row["updated"]),
        "flavorRef": row["flavor_id"],
        "imageRef": row["imageid"],
        "suspended": row["suspended"],
        "SNF:task_state": row["task"] or "",
    }
    if row["metadata"]:
        data["metadata"] = {"values": row["metadata"]}
    if row["nics"]:
        data["attachments"] = {"values": [nic_row_to_dict(nic) for nic in row["nics"]]}
    if row["diagnostic"] is not None:
        data["diagnostics"] = [diagnostic_row_to_dict(row["diagnostic"])]
    return data
