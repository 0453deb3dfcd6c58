"""What Ganeti's NICs say, read the same way by the hook (snf-cyclades-gtools)
and by reconciliation (snf-cyclades-app): IPv6 addresses and firewall tags."""

import ipaddress
import re

FIREWALL_TAG_PREFIX = "synnefo:network:"
FIREWALL_TAG_RE = re.compile(r"^synnefo:network:(\d+):(.+)$")


def eui64(mac, subnet6):
    """The EUI-64 address of ``mac`` in the /64 ``subnet6``; ValueError if either is malformed."""
    try:
        octets = [int(part, 16) for part in mac.split(":")]
    except ValueError:
        raise ValueError(f"malformed MAC {mac!r}") from None
    if len(octets) != 6 or any(not 0 <= o <= 255 for o in octets):
        raise ValueError(f"malformed MAC {mac!r}")
    try:
        network = ipaddress.IPv6Network(subnet6, strict=False)
    except ValueError as exc:
        raise ValueError(f"malformed IPv6 subnet {subnet6!r}: {exc}") from None
    interface = bytes([octets[0] ^ 0x02] + octets[1:3] + [0xFF, 0xFE] + octets[3:6])
    address = int(network.network_address) | int.from_bytes(interface, "big")
    return str(ipaddress.IPv6Address(address))


def firewall_tags(tags, on_malformed=None):
    """``{nic index: value}`` from the ``synnefo:network:<i>:<value>`` tags among
    ``tags`` (a list); ``on_malformed(tag)`` is called for each malformed one."""
    result = {}
    for tag in tags:
        tag = str(tag)
        if not tag.startswith(FIREWALL_TAG_PREFIX):
            continue
        match = FIREWALL_TAG_RE.match(tag)
        if not match:
            if on_malformed is not None:
                on_malformed(tag)
            continue
        result[int(match.group(1))] = match.group(2)
    return result
