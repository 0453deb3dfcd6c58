"""WSGI entry point (gunicorn synnefo.webproject.wsgi)."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "synnefo.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
