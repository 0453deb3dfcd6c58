"""Server metadata, addresses, stats and diagnostics (spec 02-api §4.6-§4.9)."""

import json

from django.conf import settings
from django.db.models import Q
from django.http import HttpResponse
from synnefo.api.faults import BadRequest, ItemNotFound
from synnefo.api.server_serializers import diagnostic_to_dict, metadata_of, nic_to_dict
from synnefo.api.server_views import get_server, server_id_of
from synnefo.api.util import CONTENT_TYPES, api_method, check_metadata, get_request_dict, render, render_empty
from synnefo.db.models import Network
from synnefo.logic import servers as logic
from synnefo.logic.utils import instance_name

MAX_DB_ID = 2 ** 63 - 1


# --- metadata -----------------------------------------------------------------------

@api_method("GET", "POST")
def metadata_root(request, server_id):
    if request.method == "GET":
        return render(request, {"metadata": {"values": metadata_of(get_server(request.userid, server_id))}})
    items = get_request_dict(request).get("metadata")
    if not isinstance(items, dict):
        raise BadRequest("Malformed request")
    check_metadata(items)
    metadata = logic.update_metadata(request.userid, server_id_of(server_id), items)
    return render(request, {"metadata": metadata}, status=201)


@api_method("GET", "PUT", "DELETE")
def metadata_item(request, server_id, key):
    if request.method == "GET":
        metadata = metadata_of(get_server(request.userid, server_id))
        if key not in metadata:
            raise ItemNotFound("Metadata key not found.")
        return render(request, {"meta": {key: metadata[key]}})
    if request.method == "DELETE":
        logic.delete_metadata_item(request.userid, server_id_of(server_id), key)
        return render_empty(204)
    meta = get_request_dict(request).get("meta")
    if not isinstance(meta, dict):
        raise BadRequest("Malformed request")
    if list(meta) != [key]:
        raise BadRequest("The body must hold exactly the key of the URL.")
    check_metadata(meta)
    item = logic.set_metadata_item(request.userid, server_id_of(server_id), key, meta[key])
    return render(request, {"meta": item}, status=201)


# --- addresses ----------------------------------------------------------------------

@api_method("GET")
def addresses_list(request, server_id):
    vm = get_server(request.userid, server_id)
    return render(request, {"addresses": {"values": [nic_to_dict(nic) for nic in vm.nics.all()]}})


def visible_network(userid, network_id):
    """A non-deleted network of the caller or a public one, else 404."""
    network = None
    if network_id.isdigit() and int(network_id) <= MAX_DB_ID:
        network = (Network.objects.filter(pk=int(network_id), deleted=False)
                   .filter(Q(public=True) | Q(userid=userid)).first())
    if network is None:
        raise ItemNotFound("Network not found.")
    return network


@api_method("GET")
def address_of_network(request, server_id, network_id):
    vm = get_server(request.userid, server_id)
    network = visible_network(request.userid, network_id)
    nics = [nic for nic in vm.nics.all() if nic.network_id == network.id]
    if not nics:
        raise ItemNotFound("Server not connected to this network.")
    return render(request, {"network": nic_to_dict(nics[0])})


# --- stats and diagnostics ------------------------------------------------------------

@api_method("GET")
def server_stats(request, server_id):
    vm = get_server(request.userid, server_id)
    name = instance_name(vm.id)
    stats = {"serverRef": vm.id, "refresh": settings.STATS_REFRESH_PERIOD,
             "cpuBar": settings.CPU_BAR_GRAPH_URL % name,
             "cpuTimeSeries": settings.CPU_TIMESERIES_GRAPH_URL % name,
             "netBar": settings.NET_BAR_GRAPH_URL % name,
             "netTimeSeries": settings.NET_TIMESERIES_GRAPH_URL % name}
    return render(request, {"stats": stats})


@api_method("GET")
def server_diagnostics(request, server_id):
    """All diagnostics of the server, newest first; a JSON list, never XML."""
    vm = get_server(request.userid, server_id)
    body = json.dumps([diagnostic_to_dict(d) for d in vm.diagnostics.all()])
    return HttpResponse(body, content_type=CONTENT_TYPES["json"])
