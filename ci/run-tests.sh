#!/usr/bin/env bash
# The whole test suite: once on the default stack (SQLite + file-system broker),
# then again on PostgreSQL (+ RabbitMQ) where they answer on 127.0.0.1.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin
status=0

echo "== test suite: SQLite + file-system broker"
SYNNEFO_SETTINGS_DIR=$PWD/ci/settings/sqlite "$BIN/pytest" "$@" || status=1

if "$BIN/python" ci/service_up.py postgres; then
  amqp=""
  if "$BIN/python" ci/service_up.py rabbitmq; then amqp="amqp://guest:guest@127.0.0.1:5672//"; fi
  echo "== test suite: PostgreSQL${amqp:+ + RabbitMQ}"
  SYNNEFO_SETTINGS_DIR=$PWD/ci/settings/postgres SYNNEFO_TEST_AMQP=$amqp \
    "$BIN/pytest" "$@" || status=1
else
  echo "== PostgreSQL does not answer on 127.0.0.1:5432: second run skipped"
fi
exit $status
