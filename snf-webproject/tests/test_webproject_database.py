"""Per-connection database settings: the lock timeout (PostgreSQL, MySQL/MariaDB),
READ COMMITTED on MySQL/MariaDB, PyMySQL standing in for mysqlclient."""

import pytest
from django.db import connection, connections
from synnefo.webproject import database


def test_session_statements_per_vendor():
    assert database.session_statements("postgresql", 10) == ["SET lock_timeout = 10000"]
    assert database.session_statements("mysql", 2.5) == [
        "SET SESSION innodb_lock_wait_timeout = 2"]
    assert database.session_statements("sqlite", 10) == []
    assert database.session_statements("postgresql", 0) == []


@pytest.mark.django_db
def test_new_connections_get_the_lock_timeout(settings):
    settings.DATABASE_LOCK_TIMEOUT = 7
    if connection.vendor not in ("postgresql", "mysql"):
        pytest.skip("SQLite has no lock timeout setting (its busy timeout is an OPTION)")
    fresh = connections.create_connection("default")
    try:
        with fresh.cursor() as cursor:
            if fresh.vendor == "postgresql":
                cursor.execute("SHOW lock_timeout")
                assert cursor.fetchone()[0] == "7s"
            else:
                cursor.execute("SELECT @@SESSION.innodb_lock_wait_timeout, @@SESSION.tx_isolation")
                assert cursor.fetchone() == (7, "READ-COMMITTED")
    finally:
        fresh.close()


def test_mysql_isolation_other_than_read_committed_is_refused():
    mysql = {"ENGINE": "django.db.backends.mysql", "NAME": "x"}
    errors = database.check_isolation(databases={
        "default": dict(mysql, OPTIONS={"isolation_level": "repeatable read"})})
    assert [e.id for e in errors] == ["synnefo.E010"]
    assert "read committed" in errors[0].hint
    assert database.check_isolation(databases={
        "default": dict(mysql, OPTIONS={"isolation_level": "read committed"})}) == []
    # Django's own default for MySQL is READ COMMITTED
    assert database.check_isolation(databases={"default": mysql}) == []


def test_pymysql_stands_in_for_mysqlclient():
    import MySQLdb
    database.use_pymysql_if_needed()
    assert MySQLdb.version_info >= (1, 4, 3)  # what Django's MySQL backend requires
