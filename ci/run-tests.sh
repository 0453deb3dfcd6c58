#!/usr/bin/env bash
# The whole test suite: once on the default stack (SQLite + file-system broker),
# then again on PostgreSQL (+ RabbitMQ) and on MariaDB/MySQL (+ RabbitMQ) where
# they answer on 127.0.0.1. A stack that does not answer is named as skipped.
# Database names: SYNNEFO_TEST_PGDATABASE / SYNNEFO_TEST_MYDATABASE (default
# "synnefo"; the tests use "test_" + that name).
# The top-level tests/ (end-to-end, contract, browser and repository tests)
# start their own deployments on every stack that answers (sqlite-filesystem,
# postgres-rabbitmq, real_ganeti), whatever the suite's settings: they run in
# the first pass only. The packages' own tests run on every database.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin
status=0

echo "== test suite: SQLite + file-system broker"
SYNNEFO_SETTINGS_DIR=$PWD/ci/settings/sqlite "$BIN/pytest" "$@" || status=1

amqp=""
if "$BIN/python" ci/service_up.py rabbitmq; then amqp="amqp://guest:guest@127.0.0.1:5672//"; fi

# stack_pass SERVICE SETTINGS-DIR LABEL PORT [pytest args]
stack_pass() {
  local service=$1 settings=$2 label=$3 port=$4
  shift 4
  if "$BIN/python" ci/service_up.py "$service"; then
    echo "== test suite: $label${amqp:+ + RabbitMQ}"
    SYNNEFO_SETTINGS_DIR=$PWD/ci/settings/$settings SYNNEFO_TEST_AMQP=$amqp \
      "$BIN/pytest" "$@" || status=1
  else
    echo "== $label does not answer on 127.0.0.1:$port: $label run skipped"
  fi
}

# the packages' tests only (see above): named one by one, since pytest's
# --ignore does not apply to the directories given in testpaths
PACKAGE_TESTS=(snf-*/tests)
echo "== (the next passes run the packages' tests; tests/ ran once above, on its own stacks)"
stack_pass postgres postgres PostgreSQL 5432 "${PACKAGE_TESTS[@]}" "$@"
stack_pass mariadb mariadb MariaDB/MySQL 3306 "${PACKAGE_TESTS[@]}" "$@"
exit $status
