"""The schema as deployed: migrations match the models, SQLite runs in WAL mode.

A model change without its migration passes every in-process test (the test
database is built from the migrations, and nothing reads the missing column
until production does), so ``makemigrations --check`` guards it here.
"""

import io

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connections


def synnefo_app_labels():
    """Every app of the project (not Django's own): one that gains models gets checked too."""
    return sorted(app.label for app in apps.get_app_configs() if app.name.startswith("synnefo."))


def test_app_labels_include_the_data_model():
    assert "db" in synnefo_app_labels()


@pytest.mark.django_db
def test_models_match_migrations():
    out = io.StringIO()
    try:
        call_command("makemigrations", *synnefo_app_labels(), check=True, dry_run=True,
                     interactive=False, verbosity=3, stdout=out, stderr=out)
    except SystemExit as exc:
        pytest.fail("the models changed without a migration (run snf-manage makemigrations db); "
                    "makemigrations exited %s:\n%s" % (exc.code, out.getvalue()))


def test_sqlite_default_connection_uses_wal(tmp_path, django_db_blocker):
    """The default connection's settings put a database file in WAL mode.

    The test database is in memory (journal mode ``memory``), so the same
    settings (``OPTIONS`` and all) open a file here: what every process of a
    SQLite deployment gets. WAL lets the API read while a dispatcher writes.
    """
    default = connections["default"]
    if default.vendor != "sqlite":
        pytest.skip("the default database is %s, not SQLite" % default.vendor)
    settings_dict = dict(default.settings_dict, NAME=str(tmp_path / "wal.sqlite3"))
    wrapper = type(default)(settings_dict, alias="wal-check")
    with django_db_blocker.unblock():
        try:
            with wrapper.cursor() as cursor:
                cursor.execute("PRAGMA journal_mode")
                mode = cursor.fetchone()[0]
        finally:
            wrapper.close()
    assert mode.lower() == "wal"
