"""URLs of the catalog part of the compute API: flavors, images, networks,
the caller's limits and the OpenAPI document (spec 02-api §2). Mounted under ``/api/v1.1/``."""

from django.urls import re_path
from synnefo.api import flavors, images, limits, networks, openapi

FMT = r"(?:\.(?P<fmt>json|xml))?\Z"  # \Z: "$" would also match before a final newline

urlpatterns = [
    re_path(r"^openapi\.json\Z", openapi.openapi_json),
    re_path(r"^limits/?" + FMT, limits.get_limits),
    # flavors
    re_path(r"^flavors/?" + FMT, flavors.list_flavors),
    re_path(r"^flavors/detail" + FMT, flavors.list_flavors, {"detail": True}),
    re_path(r"^flavors/(?P<flavor_id>\d+)" + FMT, flavors.get_flavor_details),
    # images
    re_path(r"^images/?" + FMT, images.images_root),
    re_path(r"^images/detail" + FMT, images.images_detail),
    re_path(r"^images/(?P<image_id>[\w-]+)" + FMT, images.image_item),
    re_path(r"^images/(?P<image_id>[\w-]+)/meta" + FMT, images.image_metadata),
    re_path(r"^images/(?P<image_id>[\w-]+)/meta/(?P<key>.+?)" + FMT, images.image_metadata_item),
    # networks
    re_path(r"^networks/?" + FMT, networks.networks_root),
    re_path(r"^networks/detail" + FMT, networks.networks_detail),
    re_path(r"^networks/(?P<network_id>\w+)" + FMT, networks.network_item),
    re_path(r"^networks/(?P<network_id>\w+)/action" + FMT, networks.network_action),
]
