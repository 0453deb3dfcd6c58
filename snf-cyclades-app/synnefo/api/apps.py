from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "synnefo.api"
    label = "api"
    verbose_name = "Cyclades compute API"
