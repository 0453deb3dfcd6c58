"""Django applications that snf-cyclades-app adds to the web project."""

WEB_APPS = [
    "synnefo.db",
    "synnefo.logic",
    "synnefo.api",
    "synnefo.ui",
    "synnefo.admin",
]
