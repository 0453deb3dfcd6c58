"""URL space under /api/ (spec 02-api §1.1).

Every resource URL accepts an optional ``.json``/``.xml`` suffix, captured by
the views' ``fmt`` keyword. Anything else under /api/ (once authenticated)
is a badRequest "Not found." fault in the API's format, never Django's HTML
page.
"""

from django.urls import include, path, re_path
from synnefo.api import util, versions

urlpatterns = [
    re_path(r"^(?:\.(?P<fmt>json|xml))?\Z", versions.versions_list),
    re_path(r"^v1\.1/?(?:\.(?P<fmt>json|xml))?\Z", versions.version_details),
    path("v1.1/", include("synnefo.api.servers_urls")),
    path("v1.1/", include("synnefo.api.catalog_urls")),
    re_path(r"^[\s\S]*\Z", util.not_found),
]
