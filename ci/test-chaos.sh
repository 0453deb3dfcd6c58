#!/usr/bin/env bash
# CI step (after `make test-packages`): the chaos suite, tests/chaos/run.py
# (docs/chaos.rst). A whole deployment under a steady mixed load on a private
# PostgreSQL and a private RabbitMQ (started here from their binaries, own
# folders and ports: the machine's services are never touched), one fault at a
# time, the end state checked after each. About 6 to 8 minutes on two cores.
# Needs root for the file-system broker's disk-full fault (a small tmpfs).
# Fails loudly, never skips: exit status 1 for a violation, 2 when the suite
# cannot run (a private service or the deployment does not start).
# Arguments go to run.py (e.g. --only postgresql, --update-docs, --keep).
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${VENV:-.venv}/bin/python" tests/chaos/run.py "$@"
