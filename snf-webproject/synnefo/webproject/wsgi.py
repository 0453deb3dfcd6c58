"""WSGI entry point (gunicorn synnefo.webproject.wsgi).

A failed start-up check (e.g. an unset ``SECRET_ENCRYPTION_KEY``) prints one
line and exits with gunicorn's "worker failed to boot" status, which stops
gunicorn instead of respawning workers.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "synnefo.settings")

import django  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from synnefo.util.startup import WSGI_REFUSED_STATUS, refuse_unsafe_start  # noqa: E402

# Checked before the application (and its middleware, which may warn about
# missing static files) is built, so that a refusal is one line.
django.setup(set_prefix=False)
refuse_unsafe_start("synnefo.webproject.wsgi", status=WSGI_REFUSED_STATUS)
application = get_wsgi_application()
