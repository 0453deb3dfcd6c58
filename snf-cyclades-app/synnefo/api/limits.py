"""``GET /api/v1.1/limits``: the caller's limits and usage, before they hit them.

OpenStack Compute v1.1's limits document: ``rate`` (none here) and
``absolute`` with OpenStack's names where one exists (``maxTotalInstances``,
``totalInstancesUsed``, ``maxServerMeta``, ``maxPersonality``,
``maxPersonalitySize``) and ``SNF:`` names for the rest. Clients such as the
web UI show them before a create, so a user learns a limit from the form and
not only from a 413.
"""

from django.conf import settings
from synnefo.api.util import api_method, render
from synnefo.logic.users import usage


def absolute_limits(user):
    used = usage(user)
    servers_used, servers_max = used["servers"]
    networks_used, networks_max = used["networks"]
    return {
        "maxTotalInstances": servers_max,
        "totalInstancesUsed": servers_used,
        "SNF:maxTotalPrivateNetworks": networks_max,
        "SNF:totalPrivateNetworksUsed": networks_used,
        "maxServerMeta": settings.MAX_VM_METADATA,
        "maxPersonality": settings.MAX_PERSONALITY,
        "maxPersonalitySize": settings.MAX_PERSONALITY_SIZE,
        "SNF:maxServerNameLength": settings.MAX_SERVER_NAME_LENGTH,
        "SNF:maxMetadataKeyLength": settings.MAX_METADATA_KEY_LENGTH,
        "SNF:maxMetadataValueLength": settings.MAX_METADATA_VALUE_LENGTH,
    }


@api_method("GET")
def get_limits(request):
    return render(request, {"limits": {"rate": {"values": []}, "absolute": absolute_limits(request.user)}})
