#!/bin/sh
# Install the shipped systemd units with ExecStart pointing at where pip put
# the programs. The units say /usr/bin (distribution packages); a pip install
# into a virtualenv or /usr/local puts them elsewhere.
#
#   ci/systemd/install-units.sh [--bin-dir DIR] [--dest DIR] UNIT...
#
# --bin-dir: where snf-dispatcher / snf-ganeti-eventd are (default: the
#            directory of the first one found on PATH);
# --dest:    where units go (default /etc/systemd/system);
# UNIT:      snf-dispatcher, snf-ganeti-eventd (default: both).
# Then: systemctl daemon-reload && systemctl enable --now UNIT.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin_dir=""
dest=/etc/systemd/system
while [ $# -gt 0 ]; do
  case "$1" in
    --bin-dir) bin_dir=${2:?--bin-dir needs a directory}; shift 2 ;;
    --bin-dir=*) bin_dir=${1#*=}; shift ;;
    --dest) dest=${2:?--dest needs a directory}; shift 2 ;;
    --dest=*) dest=${1#*=}; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "install-units.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || set -- snf-dispatcher snf-ganeti-eventd
for unit in "$@"; do
  unit=${unit%.service}
  src="$here/$unit.service"
  [ -f "$src" ] || { echo "install-units.sh: no unit $unit in $here" >&2; exit 2; }
  dir=$bin_dir
  if [ -z "$dir" ]; then
    found=$(command -v "$unit" || true)
    [ -n "$found" ] || { echo "install-units.sh: $unit is not on PATH: give --bin-dir DIR" >&2; exit 1; }
    dir=$(dirname "$found")
  fi
  [ -x "$dir/$unit" ] || { echo "install-units.sh: $dir/$unit is not an executable" >&2; exit 1; }
  mkdir -p "$dest"
  sed "s|^ExecStart=/usr/bin/$unit |ExecStart=$dir/$unit |" "$src" > "$dest/$unit.service.tmp"
  mv "$dest/$unit.service.tmp" "$dest/$unit.service"
  echo "$dest/$unit.service: ExecStart=$dir/$unit"
done
