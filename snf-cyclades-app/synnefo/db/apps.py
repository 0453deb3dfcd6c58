from django.apps import AppConfig


class DbConfig(AppConfig):
    name = "synnefo.db"
    label = "db"
    verbose_name = "Cyclades data model"
