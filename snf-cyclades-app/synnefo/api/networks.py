"""Networks (Synnefo extension, spec 02-api §7).

The views parse and check the request, call ``synnefo.logic.networks`` (which
scopes every id to the caller, locks rows and enforces the limits) and render.
A user sees their own networks and every public one; another user's network
answers 404.
"""

from django.db.models import Prefetch, Q
from synnefo.api.faults import BadRequest
from synnefo.api.util import (
    api_method,
    get_changes_since,
    get_request_dict,
    idempotency_key,
    isoformat,
    render,
    render_empty,
    replay_marked,
)
from synnefo.db.models import Network, NetworkInterface
from synnefo.logic import networks as logic
from synnefo.logic import outage

MAX_DB_ID = 2 ** 63 - 1
CREATE_FIELDS = {"name", "cidr", "cidr6", "gateway", "gateway6", "type", "public", "dhcp"}


def network_to_dict(network, userid, detail=True, own_nics=None):
    """``own_nics``: the caller's NICs on ``network`` (queried when not given)."""
    data = {"id": str(network.id), "name": network.name}
    if not detail:
        return data
    if own_nics is None:
        own_nics = (NetworkInterface.objects.filter(network=network, machine__userid=userid)
                    .order_by("machine_id", "index"))
    data.update(cidr=network.subnet, cidr6=network.subnet6, gateway=network.gateway,
                gateway6=network.gateway6, dhcp=network.dhcp, type=network.type,
                created=isoformat(network.created), updated=isoformat(network.updated),
                status=network.state, public=network.public,
                attachments={"values": [nic.attachment_id for nic in own_nics]})
    return data


def visible_networks(userid):
    return Network.objects.filter(Q(userid=userid) | Q(public=True)).order_by("id")


def text_field(body, key, required=False):
    """A string member of the request body (``None`` if absent and optional)."""
    value = body.get(key)
    if value is None:
        if required:
            raise BadRequest("Malformed request")
        return None
    if not isinstance(value, str) or "\x00" in value:
        raise BadRequest("Invalid %s." % key)
    return value


def network_body(request, required_key="network"):
    body = get_request_dict(request).get(required_key)
    if not isinstance(body, dict):
        raise BadRequest("Malformed request")
    return body


# --- collection ---------------------------------------------------------------------

@api_method("GET", "POST")
def networks_root(request):
    if request.method == "POST":
        return create_network(request)
    return list_networks(request, detail=False)


@api_method("GET")
def networks_detail(request):
    return list_networks(request, detail=True)


def list_networks(request, detail):
    since = get_changes_since(request)
    networks = visible_networks(request.userid)
    if since is None:
        networks = networks.filter(deleted=False)
    else:
        networks = networks.filter(updated__gte=since)
    if detail:
        own_nics = (NetworkInterface.objects.filter(machine__userid=request.userid)
                    .order_by("machine_id", "index"))
        networks = networks.prefetch_related(Prefetch("nics", queryset=own_nics, to_attr="own_nics"))
    networks = list(networks)
    if since is not None and not networks:
        return render_empty(304)
    values = [network_to_dict(n, request.userid, detail, getattr(n, "own_nics", None))
              for n in networks]
    return render(request, {"networks": {"values": values}})


def create_network(request):
    body = network_body(request)
    unknown = set(body) - CREATE_FIELDS
    if unknown:
        raise BadRequest("Unknown network attribute: %s" % ", ".join(sorted(unknown)))
    name = text_field(body, "name", required=True)
    cidr = text_field(body, "cidr") or "192.168.1.0/24"
    net_type = text_field(body, "type") or "PRIVATE_MAC_FILTERED"
    dhcp = body.get("dhcp", True)
    public = body.get("public", False)
    if not isinstance(dhcp, bool) or not isinstance(public, bool):
        raise BadRequest("dhcp and public must be booleans.")
    network = logic.create(request.userid, name, cidr=cidr, cidr6=text_field(body, "cidr6"),
                           gateway=text_field(body, "gateway"), gateway6=text_field(body, "gateway6"),
                           net_type=net_type, dhcp=dhcp, public=public,
                           idempotency_key=idempotency_key(request))
    key = idempotency_key(request)
    with outage.after_effect(logic.created_message(network.id, key), retry_safe=key is not None):
        body = {"network": network_to_dict(network, request.userid)}
    return replay_marked(render(request, body, status=202), network)


# --- one network ---------------------------------------------------------------------

def checked_network_id(network_id):
    """The id as an int, or ``None`` when it can name no network (-> 404 in logic)."""
    if network_id.isdigit() and int(network_id) <= MAX_DB_ID:
        return int(network_id)
    return None


@api_method("GET", "PUT", "DELETE")
def network_item(request, network_id):
    network_id = checked_network_id(network_id)
    if request.method == "PUT":
        name = text_field(network_body(request), "name", required=True)
        logic.rename(request.userid, network_id, name)
        return render_empty(204)
    if request.method == "DELETE":
        logic.delete(request.userid, network_id)
        return render_empty(204)
    network = logic.get_network(request.userid, network_id)
    return render(request, {"network": network_to_dict(network, request.userid)})


def server_ref(args):
    value = args.get("serverRef")
    if value is None:
        raise BadRequest("Malformed request")
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DB_ID:
        raise BadRequest("Invalid server ID.")
    return value


@api_method("POST")
def network_action(request, network_id):
    """``add`` (``serverRef``) or ``remove`` (``attachment``): exactly one key."""
    body = get_request_dict(request)
    if len(body) != 1:
        raise BadRequest("Malformed request")
    action, args = next(iter(body.items()))
    if not isinstance(args, dict):
        raise BadRequest("Invalid argument")
    network_id = checked_network_id(network_id)
    if action == "add":
        logic.connect(request.userid, network_id, server_ref(args))
    elif action == "remove":
        attachment = args.get("attachment")
        if not isinstance(attachment, str):
            raise BadRequest("Malformed request")
        logic.disconnect(request.userid, network_id, attachment)
    else:
        raise BadRequest("Unknown action")
    return render_empty(202)
