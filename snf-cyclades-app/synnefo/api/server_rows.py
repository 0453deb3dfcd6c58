"""Plain rows of servers and their relations, for the server answers.

The answers need a dozen columns of each server and three small relations,
never model instances: :func:`server_rows` reads them with ``values_list``
in four queries whatever the number of servers (the servers, the metadata,
the NICs and the latest diagnostic of each), which costs a fraction of
building a model instance per row.

:func:`list_keys` reads only ``(id, updated)`` of the servers a list holds,
as text, without datetime parsing, as keys of :mod:`synnefo.api.server_cache`;
the compact list reads ``(id, name)`` the same way. :func:`live_keys`, the
keys of a list without ``changes-since``, runs SQL compiled once per
connection (:mod:`synnefo.db.compiled_queries`). :func:`live_sign` reads the
same keys as one string built by the database, which a warm list compares
with its kept list's instead of fetching a row per server.
"""

from django.db import connections
from django.db.models import OuterRef, Subquery, TextField
from django.db.models.functions import Cast
from synnefo.db.compiled_queries import CompiledQuery
from synnefo.db.models import (
    NetworkInterface,
    VirtualMachine,
    VirtualMachineDiagnostic,
    VirtualMachineMetadata,
)

SERVER_FIELDS = ("id", "name", "created", "updated", "flavor_id", "imageid", "suspended", "task",
                 "operstate", "deleted", "backendopcode", "backendjobstatus", "buildpercentage")
NIC_FIELDS = ("machine_id", "index", "network_id", "mac", "ipv4", "ipv6", "firewall_profile")
DIAGNOSTIC_FIELDS = ("machine_id", "source", "created", "message", "details", "level", "source_date")


def servers_queryset(userid):
    """The user's servers (deleted ones included), by id."""
    return VirtualMachine.objects.filter(userid=userid).order_by("id")


def plain_values(servers, *fields):
    """``[(value, ...), ...]`` of ``fields`` of the queryset ``servers``, in
    its order, in one query, as the database driver returns them (no Django
    conversion: for ids and text that is the value itself)."""
    sql, params = servers.values_list(*fields).query.sql_with_params()
    with connections[servers.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def list_keys(servers):
    """``[(id, updated), ...]`` of the queryset ``servers``; ``updated`` as
    the database writes it in text (no datetime parsing: it only has to
    change whenever the column does)."""
    return plain_values(keys_queryset(servers), "id", "updated_text")


def keys_queryset(servers):
    """The ``(id, updated as text)`` values of the queryset ``servers``."""
    return servers.annotate(updated_text=Cast("updated", output_field=TextField())).values_list(
        "id", "updated_text")


LIVE_KEYS = CompiledQuery(lambda userid: keys_queryset(servers_queryset(userid).filter(deleted=False)),
                          convert=False)


def live_keys(userid):
    """:func:`list_keys` of the user's servers that are not deleted."""
    return LIVE_KEYS.rows(userid, using=VirtualMachine.objects.db)


# The live servers' keys as the database joins them: their count, their ids
# ("1,2,...") and their ``updated`` ("...,..."), two aggregates of one query,
# by id (one row fetched, where live_keys fetches a row per server). The two
# aggregates step over the same rows in the same order, so the i-th id and
# the i-th ``updated`` are one server's: equal strings mean equal keys. SQLite
# 3.40 takes no ORDER BY inside an aggregate; it reads the rows in the
# covering index's order (by id), and were it ever another order the strings
# would only differ (a miss, never a wrong hit). Joining two columns apart is
# cheaper than joining "id,updated" per row (no per-row concatenation). A
# database that cuts long aggregates short (MySQL's group_concat_max_len)
# leaves fewer "," than servers, and the sign is then not used.
_SIGN_SQL = {
    "sqlite": "SELECT count(*), group_concat(id), group_concat(updated)"
              " FROM {table} WHERE userid = %s AND deleted = %s",
    "postgresql": "SELECT count(*), string_agg(id::text, ',' ORDER BY id),"
                  " string_agg(updated::text, ',' ORDER BY id)"
                  " FROM {table} WHERE userid = %s AND deleted = %s",
    "mysql": "SELECT count(*), GROUP_CONCAT(id ORDER BY id), GROUP_CONCAT(CAST(updated AS CHAR) ORDER BY id)"
             " FROM {table} WHERE userid = %s AND deleted = %s",
}


def live_sign(userid):
    """A string that is the same for two reads exactly when the keys of
    :func:`live_keys` are (the live servers' ids and ``updated``), or None
    where the database cannot give one (another vendor, a cut-short string)."""
    connection = connections[VirtualMachine.objects.db]
    sql = _SIGN_SQL.get(connection.vendor)
    if sql is None:
        return None
    table = connection.ops.quote_name(VirtualMachine._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(sql.format(table=table), [userid, False])
        count, ids, updates = cursor.fetchone()
    if count == 0:
        return ""
    if ids is None or updates is None or ids.count(",") != count - 1 or updates.count(",") != count - 1:
        return None
    return ids + ";" + updates


def server_rows(servers):
    """``[dict, ...]`` of the queryset ``servers`` (order kept): the
    SERVER_FIELDS of each, plus ``metadata`` (key -> value, by row id),
    ``nics`` (NIC_FIELDS dicts, by index) and ``diagnostic`` (the latest
    diagnostic as a DIAGNOSTIC_FIELDS dict, or None)."""
    rows = [dict(zip(SERVER_FIELDS, values, strict=True)) for values in servers.values_list(*SERVER_FIELDS)]
    by_id = {}
    for row in rows:
        row["metadata"], row["nics"], row["diagnostic"] = {}, [], None
        by_id[row["id"]] = row
    if not by_id:
        return rows
    ids = list(by_id)
    metadata = VirtualMachineMetadata.objects.filter(vm_id__in=ids).order_by("id")
    for vm_id, key, value in metadata.values_list("vm_id", "meta_key", "meta_value"):
        by_id[vm_id]["metadata"][key] = value
    nics = NetworkInterface.objects.filter(machine_id__in=ids).order_by("machine_id", "index")
    for values in nics.values_list(*NIC_FIELDS):
        by_id[values[0]]["nics"].append(dict(zip(NIC_FIELDS, values, strict=True)))
    latest = (VirtualMachineDiagnostic.objects.filter(machine=OuterRef("machine"))
              .order_by("-created", "-id").values("id")[:1])
    diagnostics = VirtualMachineDiagnostic.objects.filter(machine_id__in=ids, id=Subquery(latest))
    for values in diagnostics.values_list(*DIAGNOSTIC_FIELDS):
        by_id[values[0]]["diagnostic"] = dict(zip(DIAGNOSTIC_FIELDS, values, strict=True))
    return rows


def row_of_new_server(vm, metadata):
    """The row of a server this request has just created (``vm``, a model
    instance) without reading the database: its ``metadata`` as given, no
    NIC and no diagnostic yet (an answer while the database is away)."""
    row = {field: getattr(vm, field) for field in SERVER_FIELDS}
    row["metadata"], row["nics"], row["diagnostic"] = dict(metadata or {}), [], None
    return row
