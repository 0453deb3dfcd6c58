from django.apps import AppConfig


class LogicConfig(AppConfig):
    name = "synnefo.logic"
    label = "logic"
    verbose_name = "Cyclades logic"

    def ready(self):
        from synnefo.logic import checks  # noqa: F401  (registers the system checks)
