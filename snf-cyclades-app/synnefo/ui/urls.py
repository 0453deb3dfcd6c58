"""URLs of the web UI, mounted at the site's root by snf-cyclades-app."""

from django.urls import re_path
from synnefo.ui import views

urlpatterns = [
    re_path(r"^$", views.home, name="home"),
    re_path(r"^ui/?$", views.index, name="ui"),
]
