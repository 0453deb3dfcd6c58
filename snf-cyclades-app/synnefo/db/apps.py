from django.apps import AppConfig


class DbConfig(AppConfig):
    name = "synnefo.db"
    label = "db"
    verbose_name = "Cyclades data model"

    def ready(self):
        from synnefo.db import checks  # noqa: F401  (registers the system checks)
