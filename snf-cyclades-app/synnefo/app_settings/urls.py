"""URL patterns that snf-cyclades-app adds to the web project."""

from django.urls import include, path

urlpatterns = [
    path("api/", include("synnefo.api.urls")),
    path("admin/", include("synnefo.admin.urls")),
    path("", include("synnefo.ui.urls")),
]
