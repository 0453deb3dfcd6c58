"""URL patterns that snf-cyclades-app adds to the web project.

Everything outside ``/api/`` is unknown too: the API's "Not found." fault
(JSON, or XML when asked for), never Django's HTML page."""

from django.urls import include, path, re_path
from synnefo.api import util

urlpatterns = [
    path("api/", include("synnefo.api.urls")),
    path("admin/", include("synnefo.admin.urls")),
    path("", include("synnefo.ui.urls")),
    re_path(r"^[\s\S]*\Z", util.not_found),
]
