"""The version documents: ``GET /api/`` and ``GET /api/v1.1/`` (spec 02-api §3).

Both need a token like every other API URL (spec §1.3).
"""

from django.conf import settings
from synnefo.api.util import api_method, render

VERSION_ID = "v1.1"
VERSION_UPDATED = "2011-04-01"
DEVGUIDE_URL = "http://docs.rackspacecloud.com/servers/api/v1.1/cs-devguide-20110415.pdf"
WADL_URL = "http://docs.rackspacecloud.com/servers/api/v1.1/application.wadl"
MEDIA_TYPES = [
    {"base": "application/xml", "type": "application/vnd.openstack.compute-v1.1+xml"},
    {"base": "application/json", "type": "application/vnd.openstack.compute-v1.1+json"},
]


def version_root_url():
    return settings.API_ROOT_URL.rstrip("/") + "/" + VERSION_ID + "/"


def version_summary():
    return {"id": VERSION_ID, "status": "CURRENT", "updated": VERSION_UPDATED,
            "links": [{"rel": "self", "href": version_root_url()}]}


def version_document():
    version = version_summary()
    version["links"] = version["links"] + [
        {"rel": "describedby", "type": "application/pdf", "href": DEVGUIDE_URL},
        {"rel": "describedby", "type": "application/vnd.sun.wadl+xml", "href": WADL_URL},
    ]
    version["media-types"] = [dict(media) for media in MEDIA_TYPES]
    return version


@api_method("GET")
def versions_list(request):
    """``GET /api/``: every version this server speaks (only v1.1)."""
    return render(request, {"versions": {"values": [version_summary()]}})


@api_method("GET")
def version_details(request):
    """``GET /api/v1.1/``: the v1.1 document with its links and media types."""
    return render(request, {"version": version_document()})
