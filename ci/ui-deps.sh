#!/usr/bin/env bash
# System packages of the web UI's build and browser tests, installed where missing:
#   npm       `make ui-assets` fetches noVNC and esbuild from the npm registry (package-lock.json)
#   chromium  Debian's browser that the Playwright tests drive (tests/ui; no browser download)
# Needs root for apt-get; CI runs it from .ci/run before `make test`.
set -euo pipefail
missing=()
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "ci/ui-deps.sh: missing ${missing[*]}; install them: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "== installing ${missing[*]} (apt-get)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q "${missing[@]}"
