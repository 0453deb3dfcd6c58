"""Loopback helpers for whole deployments on one machine (tests, benchmarks)."""

import socket

_handed_out = set()


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now, and that this
    process was not given before: the kernel may hand the same port to two
    ``bind(0)`` calls in a row, and a deployment asks for several ports before
    it starts anything (the API's and the console proxy's, say)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


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
            f'AMQP_HOSTS = [{RABBITMQ_URL!r}]\n'
            f'EXCHANGE_GANETI = {scratch_exchange(tag, purpose)!r}\n')
    return database, conf


RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"


def scratch_exchange(tag, purpose):
    """The exchange of a :func:`scratch_postgres_rabbitmq` deployment."""
    return f"{purpose}-{tag}"


def drop_rabbitmq_objects(tag, purpose, prefix_id):
    """Delete what a :func:`scratch_postgres_rabbitmq` deployment with ``BACKEND_PREFIX_ID``
    ``prefix_id`` declared on RabbitMQ: its durable queues (and their dead-letter
    queues) and its two exchanges, which would otherwise outlive the run."""
    from synnefo.messaging import names
    from synnefo.messaging.client import Broker

    with Broker([RABBITMQ_URL], exchange=scratch_exchange(tag, purpose)) as broker:
        broker.delete(names.prefix_of(prefix_id), exchanges=True)


def drop_database(database):
    """Drop a database of :func:`scratch_postgres_rabbitmq` (closing its sessions)."""
    import psycopg

    with psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
