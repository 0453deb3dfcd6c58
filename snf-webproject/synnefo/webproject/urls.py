"""Root URLconf: the URL patterns of every installed package ("urls" entry point)."""

from synnefo.webproject.extensions import load_entry_point_values

urlpatterns = list(load_entry_point_values("urls"))
