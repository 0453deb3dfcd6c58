#!/usr/bin/env bash
# The whole test suite: once on the default stack (SQLite + file-system broker),
# then again on PostgreSQL (+ RabbitMQ) and on MariaDB/MySQL (+ RabbitMQ) where
# they answer on 127.0.0.1. A stack that does not answer is named as skipped.
# Database names: SYNNEFO_TEST_PGDATABASE / SYNNEFO_TEST_MYDATABASE (default
# "synnefo"; the tests use "test_" + that name).
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin
status=0

echo "== test suite: SQLite + file-system broker"
SYNNEFO_SETTINGS_DIR=$PWD/ci/settings/sqlite "$BIN/pytest" "$@" || status=1

amqp=""
if "$BIN/python" ci/service_up.py rabbitmq; then amqp="amqp://guest:guest@127.0.0.1:5672//"; fi

if "$BIN/python" ci/service_up.py postgres; then
  echo "== test suite: PostgreSQL${amqp:+ + RabbitMQ}"
  SYNNEFO_SETTINGS_DIR=$PWD/ci/settings/postgres SYNNEFO_TEST_AMQP=$amqp \
    "$BIN/pytest" "$@" || status=1
else
  echo "== PostgreSQL does not answer on 127.0.0.1:5432: PostgreSQL run skipped"
fi

if "$BIN/python" ci/service_up.py mariadb; then
  echo "== test suite: MariaDB/MySQL${amqp:+ + RabbitMQ}"
  SYNNEFO_SETTINGS_DIR=$PWD/ci/settings/mariadb SYNNEFO_TEST_AMQP=$amqp \
    "$BIN/pytest" "$@" || status=1
else
  echo "== MariaDB/MySQL does not answer on 127.0.0.1:3306: MariaDB run skipped"
fi
exit $status
