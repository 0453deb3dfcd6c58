"""What every database connection of a Synnefo process gets, whatever the stack.

* MySQL/MariaDB through PyMySQL: Django's MySQL backend imports ``MySQLdb``
  (mysqlclient, a C extension that needs the client headers and a compiler);
  when it is not installed, PyMySQL (pure Python, installed by pip alone)
  stands in for it (:func:`use_pymysql_if_needed`, called by the defaults:
  Django loads the database backend while it imports the models, before any
  application is ready).
* A lock timeout (``DATABASE_LOCK_TIMEOUT`` seconds) on every new PostgreSQL
  and MySQL/MariaDB connection: a request or a dispatcher that waits for a row
  lock longer than that fails (and is answered 503 / retried) instead of
  piling up behind a stuck transaction. SQLite has its own ``timeout`` option.
* MySQL/MariaDB must run at READ COMMITTED (the row-lock protocols of limits,
  pools and the dispatcher re-read rows after taking their locks): the shipped
  settings ask for it; :func:`check_isolation` refuses anything else.
"""

MYSQL_ENGINE = "django.db.backends.mysql"


def use_pymysql_if_needed():
    """Let PyMySQL serve as ``MySQLdb`` when mysqlclient is not installed
    (nothing happens when neither is: only a MySQL database needs them)."""
    try:
        import MySQLdb  # noqa: F401 - mysqlclient wins when installed
    except ImportError:
        try:
            import pymysql
        except ImportError:
            return
        pymysql.install_as_MySQLdb()


def session_statements(vendor, seconds):
    """The SQL that sets the lock timeout of a new connection of ``vendor``."""
    if not seconds or seconds <= 0:
        return []
    if vendor == "postgresql":
        return ["SET lock_timeout = %d" % int(seconds * 1000)]
    if vendor == "mysql":
        return ["SET SESSION innodb_lock_wait_timeout = %d" % max(1, int(seconds))]
    return []


def on_connection_created(sender, connection, **kwargs):
    from django.conf import settings

    statements = session_statements(connection.vendor,
                                    getattr(settings, "DATABASE_LOCK_TIMEOUT", 0))
    if statements:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)


def check_isolation(app_configs=None, databases=None, **kwargs):
    """System check: a MySQL database must be configured READ COMMITTED.
    ``databases``: the ``DATABASES`` to check (default: the settings')."""
    from django.conf import settings
    from django.core import checks

    errors = []
    if not isinstance(databases, dict):  # Django passes the aliases it checks
        databases = settings.DATABASES
    for alias, db in databases.items():
        if db.get("ENGINE") != MYSQL_ENGINE:
            continue
        level = (db.get("OPTIONS") or {}).get("isolation_level", "read committed")
        if str(level).lower() != "read committed":
            errors.append(checks.Error(
                "DATABASES[%r] is MySQL/MariaDB with isolation_level %r" % (alias, level),
                hint='Set DATABASES[%r]["OPTIONS"]["isolation_level"] = "read committed".' % alias,
                id="synnefo.E010"))
    return errors
