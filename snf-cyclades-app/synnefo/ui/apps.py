from django.apps import AppConfig


class UiConfig(AppConfig):
    name = "synnefo.ui"
    label = "ui"
    verbose_name = "Cyclades web UI"
