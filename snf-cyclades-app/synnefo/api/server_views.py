"""Servers: list, detail, create, get, rename, delete (spec 02-api §4.2-§4.4).

The views check the request's shape and call ``synnefo.logic.servers``,
which scopes every id to the caller, validates names, metadata and
personality, enforces the per-user limit without a race and turns RAPI
failures into serviceUnavailable with the DB left consistent.
"""

from synnefo.api import server_cache
from synnefo.api.faults import BadRequest, ItemNotFound
from synnefo.api.server_rows import (
    list_keys,
    live_keys,
    live_sign,
    plain_values,
    row_of_new_server,
    server_rows,
    servers_queryset,
)
from synnefo.api.server_serializers import server_to_dict
from synnefo.api.util import (
    api_method,
    get_changes_since,
    get_request_dict,
    idempotency_key,
    list_body,
    list_item,
    render,
    render_body,
    render_empty,
    replay_marked,
)
from synnefo.logic import outage
from synnefo.logic import servers as logic

MAX_DB_ID = 2 ** 63 - 1


def server_id_of(value):
    """A server id taken from the URL (``\\d+``); too large ones match nothing."""
    server_id = int(value)
    if server_id > MAX_DB_ID:
        raise ItemNotFound("Server not found.")
    return server_id


def get_server(userid, server_id):
    """The caller's server (deleted ones included)."""
    vm = servers_queryset(userid).filter(pk=server_id_of(server_id)).first()
    if vm is None:
        raise ItemNotFound("Server not found.")
    return vm


def server_document(userid, server_id):
    """The detailed answer of the caller's server (deleted ones included)."""
    rows = server_rows(servers_queryset(userid).filter(pk=server_id_of(server_id)))
    if not rows:
        raise ItemNotFound("Server not found.")
    return server_to_dict(rows[0])


@api_method("GET", "POST")
def servers_root(request):
    if request.method == "POST":
        return create_server(request)
    return list_servers(request, detail=False)


@api_method("GET")
def servers_detail(request):
    return list_servers(request, detail=True)


def list_servers(request, detail):
    """The caller's servers; with changes-since, those updated since then,
    deleted ones included, and 304 when there are none.

    The detailed list reads ``(id, updated)`` of the servers and renders
    only those :mod:`synnefo.api.server_cache` does not hold yet; both lists
    without changes-since answer the body of the caller's previous list
    again when those keys did not change, which they learn from the keys'
    sign alone (:func:`live_sign`: one value, not a row per server)."""
    since = get_changes_since(request)

    def selected():
        """The listed servers' queryset (a warm list builds none)."""
        servers = servers_queryset(request.userid)
        return servers.filter(deleted=False) if since is None else servers.filter(updated__gte=since)

    keys = None
    if since is None:
        sign = live_sign(request.userid)
        if sign is None:
            keys = sign = live_keys(request.userid)

    def live():
        """The keys of a list without changes-since, read once."""
        nonlocal keys
        if keys is None:
            keys = live_keys(request.userid)
        return keys

    if not detail:
        if since is not None:
            items = [{"id": pk, "name": name} for pk, name in plain_values(selected(), "id", "name")]
            if not items:
                return render_empty(304)
            return render(request, {"servers": {"values": items}})

        def build_compact():
            items = [{"id": pk, "name": name} for pk, name in plain_values(selected(), "id", "name")]
            return render(request, {"servers": {"values": items}}).content, server_cache.fresh_until()

        owner = ("servers", request.serialization, request.userid)
        return render_body(request, server_cache.whole_list(owner, sign, build_compact))
    if since is not None:
        keys = list_keys(selected())
        if not keys:
            return render_empty(304)

    def render_missing(ids):
        rows = server_rows(servers_queryset(request.userid).filter(pk__in=ids))
        return {row["id"]: list_item(request, "servers", server_to_dict(row)) for row in rows}

    form = ("servers/detail", request.serialization)

    def build():
        items, expires = server_cache.fragments(live() if since is None else keys, form, render_missing)
        return list_body(request, "servers", items), expires

    if since is not None:
        return render_body(request, build()[0])
    return render_body(request, server_cache.whole_list(form + (request.userid,), sign, build))


def create_request(request):
    """``(name, flavor_id, image_id, metadata, personality)`` of a create body."""
    body = get_request_dict(request).get("server")
    if not isinstance(body, dict):  # other keys, here and in "server", are ignored
        raise BadRequest("Malformed request")
    try:
        name, image_id, flavor_id = body["name"], body["imageRef"], body["flavorRef"]
    except KeyError:
        raise BadRequest("Malformed request") from None
    metadata = body.get("metadata", {})
    personality = body.get("personality", [])
    if not isinstance(metadata, dict) or not isinstance(personality, list):
        raise BadRequest("Malformed request")
    if not isinstance(image_id, str):
        raise BadRequest("Malformed request")
    # An integer, or a string of digits as OpenStack clients send it.
    if isinstance(flavor_id, str) and flavor_id.isascii() and flavor_id.isdigit():
        flavor_id = int(flavor_id)
    if isinstance(flavor_id, bool) or not isinstance(flavor_id, int) or flavor_id < 0:
        raise BadRequest("Malformed request")
    if flavor_id > MAX_DB_ID:
        raise ItemNotFound("Flavor not found.")
    return name, flavor_id, image_id, metadata, personality


def create_server(request):
    name, flavor_id, image_id, metadata, personality = create_request(request)
    key = idempotency_key(request)
    # queued: the answer does not wait for Ganeti (synnefo.logic.create_submit)
    vm, password = logic.create(request.userid, name, flavor_id, image_id, metadata=metadata,
                                personality=personality, idempotency_key=key, queued=True)
    try:
        server = server_document(request.userid, vm.id)
    except outage.DATABASE_ERRORS:
        # The server is committed with its create job: the create is
        # accepted, described from what this request knows (no NIC yet).
        server = server_to_dict(row_of_new_server(vm, metadata))
    if password is not None:
        server["adminPass"] = password
    return replay_marked(render(request, {"server": server}, status=202), vm)


@api_method("GET", "PUT", "DELETE")
def server_item(request, server_id):
    if request.method == "PUT":
        body = get_request_dict(request).get("server")
        if not isinstance(body, dict) or "name" not in body:
            raise BadRequest("Malformed request")
        logic.rename(request.userid, server_id_of(server_id), body["name"])
        return render_empty(204)
    if request.method == "DELETE":
        logic.destroy(request.userid, server_id_of(server_id))
        return render_empty(204)
    return render(request, {"server": server_document(request.userid, server_id)})
