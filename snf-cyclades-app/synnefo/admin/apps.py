from django.apps import AppConfig


class AdminWebConfig(AppConfig):
    name = "synnefo.admin"
    label = "cyclades_admin"  # not "admin": that label is Django's own admin's
    verbose_name = "Cyclades admin web"
    default_auto_field = "django.db.models.BigAutoField"
