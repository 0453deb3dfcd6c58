"""The OpenAPI 3.0 description of the compute API v1.1 (spec 02-api), JSON only.

``document()`` builds it; ``GET /api/v1.1/openapi.json`` serves it without
authentication; ``python -m synnefo.api.openapi`` prints it. Every operation
lists its success answers and a ``default`` answer with the fault schema, so a
client (or schemathesis) can check every response body against it.
"""

import copy
import json
import os
import sys

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.http import require_safe

FAULT_NAMES = ("badRequest", "unauthorized", "forbidden", "resizeNotAllowed", "itemNotFound",
               "buildInProgress", "conflictingRequest", "overLimit", "badMediaType", "networkInUse",
               "serviceUnavailable", "computeFault")
NETWORK_TYPES = ("PUBLIC_ROUTED", "PRIVATE_PHYSICAL_VLAN", "PRIVATE_MAC_FILTERED",
                 "CUSTOM_ROUTED", "CUSTOM_BRIDGED")
SERVER_STATUSES = ("BUILD", "ACTIVE", "STOPPED", "ERROR", "DELETED", "REBOOT", "UNKNOWN")
FIREWALL_PROFILES = ("ENABLED", "DISABLED", "PROTECTED")
# The members of GET /limits's "absolute" (synnefo.api.limits).
LIMIT_NAMES = ("maxTotalInstances", "totalInstancesUsed", "SNF:maxTotalPrivateNetworks",
               "SNF:totalPrivateNetworksUsed", "maxServerMeta", "maxPersonality", "maxPersonalitySize",
               "SNF:maxServerNameLength", "SNF:maxMetadataKeyLength", "SNF:maxMetadataValueLength")


# Console types of the console action (synnefo.logic.console.CONSOLE_TYPES).
CONSOLE_TYPE = {"type": "string", "enum": ["vnc", "vnc-ws", "vnc-wss"]}

def ref(name):
    return {"$ref": "#/components/schemas/" + name}


def obj(properties, required=(), strict=True):
    schema = {"type": "object", "properties": properties, "required": list(required)}
    if not required:
        del schema["required"]
    if strict:
        schema["additionalProperties"] = False
    return schema


def values_of(items):
    """The v1.1 ``{"values": [...]}`` / ``{"values": {...}}`` wrapper."""
    return obj({"values": items}, ["values"])


def wrapped(key, schema):
    return obj({key: schema}, [key])


def request_body(key, schema):
    """A request document: other top-level keys are ignored by the API."""
    return obj({key: schema}, [key], strict=False)


STRING = {"type": "string"}
NULLABLE_STRING = {"type": "string", "nullable": True}
TIMESTAMP = {"type": "string", "format": "date-time"}
STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
NON_BLANK = r"\S"  # at least one character that is not white space
NO_NUL_NON_BLANK = r"^[^\x00]*\S[^\x00]*$"
MAX_DB_ID = 2 ** 63 - 1


def metadata_map(max_items=None):
    """User metadata as the API accepts it: non-empty keys and values within
    the MAX_METADATA_* lengths (and at most ``max_items`` items)."""
    schema = {"type": "object",
              "propertyNames": {"minLength": 1, "maxLength": settings.MAX_METADATA_KEY_LENGTH},
              "additionalProperties": {"type": "string",
                                       "maxLength": settings.MAX_METADATA_VALUE_LENGTH}}
    if max_items is not None:
        schema["maxProperties"] = max_items
    return schema


def name_schema(max_length, pattern=NON_BLANK):
    return {"type": "string", "minLength": 1, "maxLength": max_length, "pattern": pattern}


def schemas():
    fault_body = obj({"code": {"type": "integer"}, "message": STRING, "details": STRING},
                     ["code", "message", "details"])
    link = obj({"rel": STRING, "href": STRING}, ["rel", "href"], strict=False)
    version = obj({"id": STRING, "status": STRING, "updated": STRING,
                   "links": {"type": "array", "items": link}}, ["id", "status", "updated", "links"])
    version_detail = copy.deepcopy(version)
    version_detail["properties"]["media-types"] = {
        "type": "array", "items": obj({"base": STRING, "type": STRING}, ["base", "type"])}
    version_detail["required"].append("media-types")
    flavor = obj({"id": {"type": "integer"}, "name": STRING}, ["id", "name"])
    flavor_detail = obj({"id": {"type": "integer"}, "name": STRING, "ram": {"type": "integer"},
                         "disk": {"type": "integer"}, "cpu": {"type": "integer"},
                         "SNF:disk_template": STRING},
                        ["id", "name", "ram", "disk", "cpu", "SNF:disk_template"])
    image = obj({"id": STRING, "name": STRING}, ["id", "name"])
    image_detail = obj({"id": STRING, "name": STRING, "created": TIMESTAMP, "updated": TIMESTAMP,
                        "status": {"type": "string", "enum": ["ACTIVE", "DELETED"]},
                        "progress": {"type": "integer", "minimum": 0, "maximum": 100},
                        "metadata": values_of(STRING_MAP)},
                       ["id", "name", "created", "updated", "status", "progress"])
    network = obj({"id": STRING, "name": STRING}, ["id", "name"])
    network_detail = obj({
        "id": STRING, "name": STRING, "cidr": STRING, "cidr6": NULLABLE_STRING,
        "gateway": NULLABLE_STRING, "gateway6": NULLABLE_STRING, "dhcp": {"type": "boolean"},
        "type": {"type": "string", "enum": list(NETWORK_TYPES)}, "created": TIMESTAMP,
        "updated": TIMESTAMP,
        "status": {"type": "string", "enum": ["PENDING", "ACTIVE", "DELETED", "ERROR"]},
        "public": {"type": "boolean"},
        "attachments": values_of({"type": "array", "items": STRING})},
        ["id", "name", "cidr", "cidr6", "gateway", "gateway6", "dhcp", "type", "created", "updated",
         "status", "public", "attachments"])
    nic = obj({"id": STRING, "network_id": STRING, "mac_address": STRING, "ipv4": NULLABLE_STRING,
               "ipv6": NULLABLE_STRING,
               "firewallProfile": {"type": "string", "enum": list(FIREWALL_PROFILES)}},
              ["id", "network_id", "mac_address", "ipv4", "ipv6"])
    diagnostic = obj({"source": STRING, "created": TIMESTAMP, "message": STRING,
                      "details": NULLABLE_STRING, "level": STRING, "source_date": NULLABLE_STRING},
                     ["source", "created", "message", "level"], strict=False)
    server = obj({"id": {"type": "integer"}, "name": STRING}, ["id", "name"])
    server_detail = obj({
        "id": {"type": "integer"}, "name": STRING,
        "status": {"type": "string", "enum": list(SERVER_STATUSES)},
        "progress": {"type": "integer", "minimum": 0, "maximum": 100}, "hostId": STRING,
        "created": TIMESTAMP, "updated": TIMESTAMP, "flavorRef": {"type": "integer"},
        "imageRef": STRING, "suspended": {"type": "boolean"}, "metadata": values_of(STRING_MAP),
        "attachments": values_of({"type": "array", "items": ref("NIC")}),
        "diagnostics": {"type": "array", "items": ref("Diagnostic")},
        "SNF:task_state": NULLABLE_STRING, "adminPass": STRING},
        ["id", "name", "status", "progress", "hostId", "created", "updated", "flavorRef", "imageRef",
         "suspended"], strict=False)
    console = obj({"type": CONSOLE_TYPE, "host": STRING,
                   "port": {"type": "integer"}, "password": STRING},
                  ["type", "host", "port", "password"])
    integer = {"type": "integer"}
    limits = obj({
        "rate": values_of({"type": "array", "items": {"type": "object"}}),
        "absolute": obj({name: integer for name in LIMIT_NAMES}, list(LIMIT_NAMES))},
        ["rate", "absolute"])
    stats = obj({"serverRef": {"type": "integer"}, "refresh": {"type": "integer"}, "cpuBar": STRING,
                 "cpuTimeSeries": STRING, "netBar": STRING, "netTimeSeries": STRING},
                ["serverRef", "refresh", "cpuBar", "cpuTimeSeries", "netBar", "netTimeSeries"])

    def one_key(key, body):
        return obj({key: body}, [key])

    meta_key_value = {"type": "object", "additionalProperties": {"type": "string", "maxLength": 500},
                      "minProperties": 1, "maxProperties": 1}
    meta_request = dict(metadata_map(), minProperties=1, maxProperties=1)
    return {
        "Fault": {"type": "object", "minProperties": 1, "maxProperties": 1,
                  "propertyNames": {"enum": list(FAULT_NAMES)}, "additionalProperties": fault_body},
        "Link": link, "Version": version, "VersionDetail": version_detail,
        "Flavor": flavor, "FlavorDetail": flavor_detail, "Limits": limits,
        "Image": image, "ImageDetail": image_detail,
        "Network": network, "NetworkDetail": network_detail,
        "NIC": nic, "Diagnostic": diagnostic, "Server": server, "ServerDetail": server_detail,
        "Console": console, "Stats": stats,
        "MetadataValues": wrapped("metadata", values_of(STRING_MAP)),
        "Metadata": wrapped("metadata", STRING_MAP),
        "MetaItem": wrapped("meta", meta_key_value),
        "MetaItemRequest": request_body("meta", meta_request),
        # Unknown keys are ignored (OpenStack clients send more, e.g.
        # min_count); flavorRef is an integer or a string of digits.
        "ServerCreateRequest": request_body("server", obj({
            "name": name_schema(settings.MAX_SERVER_NAME_LENGTH),
            "imageRef": STRING,
            "flavorRef": {"oneOf": [{"type": "integer", "minimum": 0},
                                    {"type": "string", "pattern": "^[0-9]+$"}]},
            "metadata": metadata_map(settings.MAX_VM_METADATA),
            "personality": {"type": "array", "maxItems": settings.MAX_PERSONALITY, "items": obj({
                "path": STRING,
                "contents": {"type": "string", "format": "byte",
                             "maxLength": settings.MAX_PERSONALITY_SIZE},
                "owner": STRING, "group": STRING, "mode": {"type": "integer"}},
                ["path", "contents"])}},
            ["name", "imageRef", "flavorRef"], strict=False)),
        "ServerRenameRequest": request_body("server", obj(
            {"name": name_schema(settings.MAX_SERVER_NAME_LENGTH)}, ["name"], strict=False)),
        "ServerActionRequest": {"oneOf": [
            one_key("reboot", obj({"type": {"type": "string", "enum": ["SOFT", "HARD"]}}, ["type"])),
            one_key("start", obj({})),
            one_key("shutdown", obj({})),
            one_key("console", obj({"type": CONSOLE_TYPE}, ["type"])),
            one_key("firewallProfile", obj({"profile": {"type": "string",
                                                        "enum": list(FIREWALL_PROFILES)}},
                                           ["profile"]))]},
        "MetadataRequest": request_body("metadata", metadata_map()),
        # unknown keys inside "network" are refused (400 "Unknown network attribute")
        "NetworkCreateRequest": request_body("network", obj({
            "name": name_schema(128, NO_NUL_NON_BLANK),
            "cidr": {"type": "string", "nullable": True, "example": "192.168.1.0/24"},
            "cidr6": NULLABLE_STRING, "gateway": NULLABLE_STRING, "gateway6": NULLABLE_STRING,
            "type": {"type": "string", "nullable": True, "enum": list(NETWORK_TYPES) + [None]},
            "public": {"type": "boolean", "enum": [False]}, "dhcp": {"type": "boolean"}},
            ["name"])),
        "NetworkRenameRequest": request_body("network", obj(
            {"name": name_schema(128, NO_NUL_NON_BLANK)}, ["name"], strict=False)),
        "NetworkActionRequest": {"oneOf": [
            one_key("add", obj({"serverRef": {"type": "integer", "minimum": 0,
                                              "maximum": MAX_DB_ID}}, ["serverRef"])),
            # ids of at most 18 digits: always within the 64-bit id range
            one_key("remove", obj({"attachment": {"type": "string",
                                                  "pattern": r"^nic-[0-9]{1,18}-[0-9]{1,18}$"}},
                                  ["attachment"]))]},
    }


# --- operations ------------------------------------------------------------------

def json_content(schema):
    return {"application/json": {"schema": schema}}


def answer(description, schema=None):
    result = {"description": description}
    if schema is not None:
        result["content"] = json_content(schema)
    return result


FAULT_ANSWER = answer("A fault (see the fault table of the API guide).", ref("Fault"))


def operation(summary, tag, responses, body=None, params=(), security=True):
    op = {"summary": summary, "tags": [tag], "responses": dict(responses, default=FAULT_ANSWER)}
    if body is not None:
        op["requestBody"] = {"required": True, "content": json_content(ref(body))}
    if params:
        op["parameters"] = list(params)
    if not security:
        op["security"] = []
    return op


def path_param(name, schema, description):
    return {"name": name, "in": "path", "required": True, "schema": schema, "description": description}


SERVER_ID = path_param("server_id", {"type": "integer", "minimum": 0}, "Server id.")
FLAVOR_ID = path_param("flavor_id", {"type": "integer", "minimum": 0}, "Flavor id.")
IMAGE_ID = path_param("image_id", {"type": "string", "pattern": r"^[A-Za-z0-9_-]+$"}, "Image id.")
NETWORK_ID = path_param("network_id", {"type": "string", "pattern": r"^[A-Za-z0-9_]+$"},
                        "Network id.")
META_KEY = path_param("key", {"type": "string", "pattern": r"^[A-Za-z0-9_.:-]{1,50}$"},
                      "Metadata key.")
CHANGES_SINCE = {"name": "changes-since", "in": "query", "required": False,
                 "schema": {"type": "string", "format": "date-time"},
                 "description": "Only objects changed since this UTC time (at most POLL_LIMIT ago);"
                                " 304 when none."}
IDEMPOTENCY_KEY = {"name": "X-Idempotency-Key", "in": "header", "required": False,
                   "schema": {"type": "string", "pattern": r"^[ -~]{1,255}$"},
                   "description": "A retry of the same create (same user, key and body, within "
                                  "IDEMPOTENCY_KEY_RETENTION) returns the first one's object, "
                                  "marked X-Idempotency-Replayed: true; another body with the "
                                  "key is 409 conflictingRequest."}
NOT_MODIFIED = ("304", answer("Nothing changed since changes-since."))
NO_CONTENT = ("204", answer("Done."))


def list_ops(tag, key, item, summary, polling):
    params = [CHANGES_SINCE] if polling else []
    responses = {"200": answer("The list.", wrapped(key, values_of({"type": "array", "items": ref(item)})))}
    if polling:
        responses.update([NOT_MODIFIED])
    return operation(summary, tag, responses, params=params)


def metadata_paths(prefix, tag, id_param, what):
    base = {
        "get": operation("List the metadata of a " + what, tag,
                         {"200": answer("Metadata.", ref("MetadataValues"))}, params=[id_param]),
        "post": operation("Add or replace metadata items of a " + what, tag,
                          {"201": answer("All metadata.", ref("Metadata"))}, body="MetadataRequest",
                          params=[id_param]),
    }
    item = {
        "get": operation("Get one metadata item of a " + what, tag,
                         {"200": answer("The item.", ref("MetaItem"))}, params=[id_param, META_KEY]),
        "put": operation("Set one metadata item of a " + what, tag,
                         {"201": answer("The item.", ref("MetaItem"))}, body="MetaItemRequest",
                         params=[id_param, META_KEY]),
        "delete": operation("Delete one metadata item of a " + what, tag, dict([NO_CONTENT]),
                            params=[id_param, META_KEY]),
    }
    return {prefix + "/meta": base, prefix + "/meta/{key}": item}


def paths():
    server = "/v1.1/servers/{server_id}"
    image = "/v1.1/images/{image_id}"
    network = "/v1.1/networks/{network_id}"
    result = {
        "/": {"get": operation("List the API versions", "versions", {
            "200": answer("Versions.", wrapped("versions", values_of(
                {"type": "array", "items": ref("Version")})))})},
        "/v1.1/": {"get": operation("Describe version v1.1", "versions", {
            "200": answer("The version.", wrapped("version", ref("VersionDetail")))})},
        "/v1.1/openapi.json": {"get": operation("This document", "versions", {
            "200": answer("The OpenAPI document.", {"type": "object"})}, security=False)},
        # servers
        "/v1.1/servers": {
            "get": list_ops("servers", "servers", "Server", "List servers", True),
            "post": operation("Create a server", "servers", {
                "202": answer("The new server, with adminPass.", wrapped("server", ref("ServerDetail")))},
                body="ServerCreateRequest", params=[IDEMPOTENCY_KEY]),
        },
        "/v1.1/servers/detail": {"get": list_ops("servers", "servers", "ServerDetail",
                                                 "List servers with details", True)},
        server: {
            "get": operation("Get a server", "servers", {
                "200": answer("The server.", wrapped("server", ref("ServerDetail")))}, params=[SERVER_ID]),
            "put": operation("Rename a server", "servers", dict([NO_CONTENT]), body="ServerRenameRequest",
                             params=[SERVER_ID]),
            "delete": operation("Destroy a server", "servers", dict([NO_CONTENT]), params=[SERVER_ID]),
        },
        server + "/action": {"post": operation("Act on a server", "servers", {
            "202": answer("Accepted."),
            "200": answer("The console: connect to host:port (vnc-ws: ws://host:port/, vnc-wss: "
                          "wss://host:port/, RFB in binary messages) within 30 s and authenticate "
                          "with VNC authentication and the one-time password.",
                          wrapped("console", ref("Console")))},
            body="ServerActionRequest", params=[SERVER_ID])},
        server + "/ips": {"get": operation("List the addresses of a server", "servers", {
            "200": answer("NICs.", wrapped("addresses", values_of({"type": "array", "items": ref("NIC")})))},
            params=[SERVER_ID])},
        server + "/ips/{network_id}": {"get": operation("The server's NIC on a network", "servers", {
            "200": answer("The NIC.", wrapped("network", ref("NIC")))}, params=[SERVER_ID, NETWORK_ID])},
        server + "/stats": {"get": operation("Graph URLs of a server", "servers", {
            "200": answer("Stats.", wrapped("stats", ref("Stats")))}, params=[SERVER_ID])},
        server + "/diagnostics": {"get": operation("Diagnostics of a server", "servers", {
            "200": answer("Newest first.", {"type": "array", "items": ref("Diagnostic")})},
            params=[SERVER_ID])},
        "/v1.1/limits": {"get": operation("The caller's limits and usage", "limits", {
            "200": answer("Limits.", wrapped("limits", ref("Limits")))})},
        # flavors
        "/v1.1/flavors": {"get": list_ops("flavors", "flavors", "Flavor", "List flavors", False)},
        "/v1.1/flavors/detail": {"get": list_ops("flavors", "flavors", "FlavorDetail",
                                                 "List flavors with details", False)},
        "/v1.1/flavors/{flavor_id}": {"get": operation("Get a flavor", "flavors", {
            "200": answer("The flavor.", wrapped("flavor", ref("FlavorDetail")))}, params=[FLAVOR_ID])},
        # images
        "/v1.1/images": {"get": list_ops("images", "images", "Image", "List images", True)},
        "/v1.1/images/detail": {"get": list_ops("images", "images", "ImageDetail",
                                                "List images with details", True)},
        image: {
            "get": operation("Get an image", "images", {
                "200": answer("The image.", wrapped("image", ref("ImageDetail")))}, params=[IMAGE_ID]),
            "delete": operation("Delete an image (owner only)", "images", dict([NO_CONTENT]),
                                params=[IMAGE_ID]),
        },
        # networks
        "/v1.1/networks": {
            "get": list_ops("networks", "networks", "Network", "List networks", True),
            "post": operation("Create a private network", "networks", {
                "202": answer("The new network.", wrapped("network", ref("NetworkDetail")))},
                body="NetworkCreateRequest", params=[IDEMPOTENCY_KEY]),
        },
        "/v1.1/networks/detail": {"get": list_ops("networks", "networks", "NetworkDetail",
                                                  "List networks with details", True)},
        network: {
            "get": operation("Get a network", "networks", {
                "200": answer("The network.", wrapped("network", ref("NetworkDetail")))},
                params=[NETWORK_ID]),
            "put": operation("Rename a network", "networks", dict([NO_CONTENT]), body="NetworkRenameRequest",
                             params=[NETWORK_ID]),
            "delete": operation("Delete a network", "networks", dict([NO_CONTENT]), params=[NETWORK_ID]),
        },
        network + "/action": {"post": operation("Connect or disconnect a server", "networks", {
            "202": answer("Accepted.")}, body="NetworkActionRequest", params=[NETWORK_ID])},
    }
    result.update(metadata_paths(server, "servers", SERVER_ID, "server"))
    result.update(metadata_paths(image, "images", IMAGE_ID, "image"))
    return result


def document():
    """The OpenAPI 3.0 document (a fresh dict)."""
    return {
        "openapi": "3.0.3",
        "info": {"title": "Cyclades compute API", "version": "1.1",
                 "description": "OpenStack Compute v1.1 with the Synnefo extensions. JSON only here;"
                                " most resources also answer in XML (.xml suffix or Accept)."},
        "servers": [{"url": "/api"}],
        "security": [{"token": []}],
        "tags": [{"name": name}
                 for name in ("versions", "servers", "limits", "flavors", "images", "networks")],
        "paths": paths(),
        "components": {
            "securitySchemes": {"token": {"type": "apiKey", "in": "header", "name": "X-Auth-Token"}},
            "schemas": schemas(),
        },
    }


def serialized():
    """The document as JSON (built per call: its limits come from the settings)."""
    return json.dumps(document(), indent=1, sort_keys=True)


@require_safe
def openapi_json(request, fmt=None):
    """``GET /api/v1.1/openapi.json``: no authentication (the document is public)."""
    return HttpResponse(serialized(), content_type="application/json; charset=UTF-8")


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "synnefo.settings")
    import django
    django.setup()
    sys.stdout.write(serialized() + "\n")


if __name__ == "__main__":
    main()
