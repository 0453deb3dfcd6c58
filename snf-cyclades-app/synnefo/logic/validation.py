"""Input validation shared by the logic entry points (raises BadRequest/OverLimit)."""

import base64
import binascii
import ipaddress

from django.conf import settings
from synnefo.logic.errors import BadRequest, OverLimit

PERSONALITY_KEYS = {"contents", "group", "mode", "owner", "path"}


def server_name(name):
    if not isinstance(name, str) or not name.strip():
        raise BadRequest("Server name must be a non-empty string.")
    if len(name) > settings.MAX_SERVER_NAME_LENGTH:
        raise BadRequest("Server name is longer than %d characters." % settings.MAX_SERVER_NAME_LENGTH)
    return name


def network_name(name):
    if not isinstance(name, str) or not name.strip():
        raise BadRequest("Network name must be a non-empty string.")
    if len(name) > 128:
        raise BadRequest("Network name is longer than 128 characters.")
    return name


def metadata_item(key, value):
    if not isinstance(key, str) or not key:
        raise BadRequest("Metadata keys must be non-empty strings.")
    if not isinstance(value, str):
        raise BadRequest("Metadata values must be strings.")
    if len(key) > settings.MAX_METADATA_KEY_LENGTH:
        raise BadRequest("Metadata key is longer than %d characters." % settings.MAX_METADATA_KEY_LENGTH)
    if len(value) > settings.MAX_METADATA_VALUE_LENGTH:
        raise BadRequest("Metadata value is longer than %d characters." % settings.MAX_METADATA_VALUE_LENGTH)


def metadata(items):
    if items is None:
        return {}
    if not isinstance(items, dict):
        raise BadRequest("Malformed request")
    for key, value in items.items():
        metadata_item(key, value)
    metadata_count(len(items))
    return items


def metadata_count(count):
    if count > settings.MAX_VM_METADATA:
        raise BadRequest("Maximum number of metadata items (%d) exceeded." % settings.MAX_VM_METADATA)


def personality(items):
    if items is None:
        return []
    if not isinstance(items, list):
        raise BadRequest("Malformed request")
    if len(items) > settings.MAX_PERSONALITY:
        raise OverLimit("Maximum number of personalities exceeded")
    for item in items:
        if not isinstance(item, dict) or not set(item) <= PERSONALITY_KEYS or "contents" not in item:
            raise BadRequest("Malformed personality in request")
        contents = item["contents"]
        if not isinstance(contents, str):
            raise BadRequest("Malformed personality in request")
        if len(contents) > settings.MAX_PERSONALITY_SIZE:
            raise OverLimit("Maximum size of personality exceeded")
        try:
            data = base64.b64decode(contents.encode("ascii"), validate=True)
        except (binascii.Error, ValueError, UnicodeEncodeError):
            raise BadRequest("Malformed personality in request")
        if len(data) > settings.MAX_PERSONALITY_SIZE:
            raise OverLimit("Maximum size of personality exceeded")
    return items


def ipv4_subnet(cidr):
    try:
        return ipaddress.IPv4Network(str(cidr), strict=True)
    except (ValueError, TypeError):
        raise BadRequest("Invalid network CIDR: %s" % (cidr,))


def ipv4_subnet_size(subnet):
    """Private network size rule: ``MAX_CIDR_BLOCK < prefix <= 29``."""
    if not settings.MAX_CIDR_BLOCK < subnet.prefixlen <= 29:
        raise OverLimit("Unsupported network size.")


def ipv4_gateway(gateway, subnet):
    if gateway in (None, ""):
        return None
    try:
        address = ipaddress.IPv4Address(str(gateway))
    except ValueError:
        raise BadRequest("Invalid gateway: %s" % (gateway,))
    if address not in subnet or address in (subnet.network_address, subnet.broadcast_address):
        raise BadRequest("Gateway %s is not a host address of %s" % (gateway, subnet))
    return str(address)


def ipv6_subnet(cidr):
    if cidr in (None, ""):
        return None
    try:
        return ipaddress.IPv6Network(str(cidr), strict=True)
    except (ValueError, TypeError):
        raise BadRequest("Invalid IPv6 CIDR: %s" % (cidr,))


def ipv6_gateway(gateway, subnet6):
    if gateway in (None, ""):
        return None
    try:
        address = ipaddress.IPv6Address(str(gateway))
    except ValueError:
        raise BadRequest("Invalid IPv6 gateway: %s" % (gateway,))
    if subnet6 is not None and address not in subnet6:
        raise BadRequest("IPv6 gateway %s is not in %s" % (gateway, subnet6))
    return str(address)
