from django.apps import AppConfig


class WebProjectConfig(AppConfig):
    name = "synnefo.webproject"
    label = "webproject"
    verbose_name = "Synnefo web project"
