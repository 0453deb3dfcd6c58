"""Django system checks of the Cyclades data model's settings.

Tagged ``STARTUP_TAG`` too: :func:`synnefo.util.startup.refuse_unsafe_start`
runs them when snf-manage, snf-dispatcher and the WSGI application start."""

from django.conf import settings
from django.core import checks
from synnefo.db import secrets
from synnefo.util.startup import STARTUP_TAG


@checks.register(checks.Tags.security, STARTUP_TAG)
def check_secret_encryption_key(app_configs=None, **kwargs):
    problem = secrets.key_problem(settings)
    if problem is None:
        return []
    return [checks.Error(problem, id="synnefo.E001",
                         hint="Stored RAPI passwords are encrypted with it; see "
                              "docs/settings-backend.rst.")]
