#!/usr/bin/env bash
# `make test-ganeti`: the contract suite on both targets (the simulator and a real Ganeti 3.0)
# and the end-to-end lifecycle against the real cluster. Brings the cluster up with
# ci/real-ganeti.sh and down again afterwards, unless one was already up (then it stays).
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin
STATE=${SNF_GANETI_STATE:-/run/snf-real-ganeti.env}
# the tests fail, never skip, when the cluster does not answer
export SNF_GANETI_STATE=$STATE SNF_REAL_GANETI_REQUIRED=1

if ! why=$(bash ci/real-ganeti.sh can-run); then
  echo "test-ganeti: this machine cannot run a real Ganeti cluster: $why" >&2
  exit 1
fi
was_up=
[ -s "$STATE" ] && was_up=1
bash ci/real-ganeti.sh up >/dev/null || { echo "test-ganeti: ci/real-ganeti.sh up failed" >&2; exit 1; }
[ -n "$was_up" ] || trap 'bash ci/real-ganeti.sh down' EXIT

echo "== real Ganeti: contract suite (simulator and Ganeti $(dpkg-query -W -f='${Version}' ganeti)), lifecycle"
"$BIN/pytest" tests/contract tests/e2e -k "not sqlite-filesystem and not postgres-rabbitmq and not quickstart" "$@"
