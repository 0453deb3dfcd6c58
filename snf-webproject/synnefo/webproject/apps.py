from django.apps import AppConfig


class WebProjectConfig(AppConfig):
    name = "synnefo.webproject"
    label = "webproject"
    verbose_name = "Synnefo web project"

    def ready(self):
        from django.core import checks
        from django.db.backends.signals import connection_created
        from synnefo.webproject import database

        connection_created.connect(database.on_connection_created,
                                   dispatch_uid="synnefo-database-session")
        checks.register(database.check_isolation)
