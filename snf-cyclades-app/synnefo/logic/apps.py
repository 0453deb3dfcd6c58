from django.apps import AppConfig


class LogicConfig(AppConfig):
    name = "synnefo.logic"
    label = "logic"
    verbose_name = "Cyclades logic"
