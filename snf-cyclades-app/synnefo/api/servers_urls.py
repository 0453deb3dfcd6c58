"""Server URLs under /api/v1.1/ (spec 02-api §2, §4).

Server ids are ``\\d+``; network ids ``\\w+``; a metadata key is anything up
to the optional ``.json``/``.xml`` suffix. Collection roots accept a
trailing ``/``.
"""

from django.urls import re_path
from synnefo.api import server_actions, server_metadata, server_views

FMT = r"(?:\.(?P<fmt>json|xml))?\Z"  # \Z: "$" would also match before a final newline
SERVER = r"^servers/(?P<server_id>\d+)"

urlpatterns = [
    re_path(r"^servers/?" + FMT, server_views.servers_root),
    re_path(r"^servers/detail/?" + FMT, server_views.servers_detail),
    re_path(SERVER + FMT, server_views.server_item),
    re_path(SERVER + r"/action" + FMT, server_actions.server_action),
    re_path(SERVER + r"/ips/?" + FMT, server_metadata.addresses_list),
    re_path(SERVER + r"/ips/(?P<network_id>\w+?)" + FMT, server_metadata.address_of_network),
    re_path(SERVER + r"/meta/?" + FMT, server_metadata.metadata_root),
    re_path(SERVER + r"/meta/(?P<key>.+?)" + FMT, server_metadata.metadata_item),
    re_path(SERVER + r"/stats" + FMT, server_metadata.server_stats),
    re_path(SERVER + r"/diagnostics" + FMT, server_metadata.server_diagnostics),
]
