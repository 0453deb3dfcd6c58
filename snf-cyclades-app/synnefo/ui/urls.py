"""URLs of the web UI, mounted at the site's root by snf-cyclades-app."""

from django.urls import path
from synnefo.ui import views

urlpatterns = [
    path("", views.home, name="home"),
    path("ui/", views.index, name="ui"),
    path("ui", views.index),
]
