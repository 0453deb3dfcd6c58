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
