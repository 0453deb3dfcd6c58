"""Root test configuration: the default stack is SQLite + the file-system broker.

The settings directory must be chosen before anything imports
``synnefo.settings``. pytest-django would import it while loading its plugin,
before this file runs, when ``DJANGO_SETTINGS_MODULE`` is set in pytest.ini;
so pytest.ini does not set it, and this file sets both variables and sets
Django up itself (pytest-django then finds it configured). A plain ``pytest``
from the repository root thus runs on ``ci/settings/sqlite``, never on
``/etc/synnefo``.
"""

import os

HERE = os.path.dirname(os.path.abspath(__file__))
os.environ.setdefault("SYNNEFO_SETTINGS_DIR", os.path.join(HERE, "ci", "settings", "sqlite"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "synnefo.settings")

import django  # noqa: E402

django.setup()


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_server_cache():
    """Each test starts without rendered servers kept from another test's
    database (ids and times repeat once a test's transaction is rolled back)."""
    from synnefo.api import server_cache
    server_cache.clear()
    yield
