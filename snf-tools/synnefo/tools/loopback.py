"""Loopback helpers for whole deployments on one machine (tests, benchmarks)."""

import socket


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(port, timeout=1):
    """Does something accept connections on 127.0.0.1:``port``?"""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def scratch_postgres_rabbitmq(tag, purpose):
    """A new PostgreSQL database ``snf_<purpose>_<tag>`` on 127.0.0.1 and the
    settings that put a deployment on it and on RabbitMQ with an exchange of
    its own, so that runs never meet. Returns ``(database, conf text)``; drop
    the database with :func:`drop_database`."""
    import psycopg  # the webproject's PostgreSQL driver

    database = f"snf_{purpose}_{tag}"
    with psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {database}")
    conf = (f'DATABASES = {{"default": {{"ENGINE": "django.db.backends.postgresql", "NAME": {database!r},\n'
            f'              "USER": "postgres", "HOST": "127.0.0.1", "PORT": 5432}}}}\n'
            f'AMQP_HOSTS = ["amqp://guest:guest@127.0.0.1:5672//"]\n'
            f'EXCHANGE_GANETI = "{purpose}-{tag}"\n')
    return database, conf


def drop_database(database):
    """Drop a database of :func:`scratch_postgres_rabbitmq` (closing its sessions)."""
    import psycopg

    with psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
