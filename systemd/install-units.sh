#!/bin/sh
# Install the shipped systemd units with ExecStart pointing at where pip put
# the programs. The units say /usr/bin (the Debian packages); a pip install
# into a virtualenv or /usr/local puts them elsewhere.
#
#   systemd/install-units.sh [--bin-dir DIR] [--dest DIR] UNIT...
#
# --bin-dir: where the unit's program is (default: the directory of the
#            first one found on PATH);
# --dest:    where units go (default /etc/systemd/system);
# UNIT:      a unit of this directory that starts a program in /usr/bin, e.g.
#            snf-dispatcher (the template snf-dispatcher@), snf-ganeti-eventd,
#            snf-vncauthproxy, snf-reconcile-servers (default: the first two).
# Then: systemctl daemon-reload && systemctl enable --now UNIT
# (snf-dispatcher@1 snf-dispatcher@2 for the template).
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
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "install-units.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || set -- snf-dispatcher snf-ganeti-eventd
for unit in "$@"; do
  unit=${unit%.service}
  # the dispatcher ships as a template (two run side by side)
  [ -f "$here/$unit.service" ] || [ ! -f "$here/$unit@.service" ] || unit="$unit@"
  src="$here/$unit.service"
  [ -f "$src" ] || { echo "install-units.sh: no unit $unit in $here" >&2; exit 2; }
  program=$(sed -n 's|^ExecStart=/usr/bin/\([^ ]*\).*|\1|p' "$src" | head -n 1)
  [ -n "$program" ] || { echo "install-units.sh: $unit does not start a program of /usr/bin" >&2; exit 2; }
  dir=$bin_dir
  if [ -z "$dir" ]; then
    found=$(command -v "$program" || true)
    [ -n "$found" ] || { echo "install-units.sh: $program is not on PATH: give --bin-dir DIR" >&2; exit 1; }
    dir=$(dirname "$found")
  fi
  [ -x "$dir/$program" ] || { echo "install-units.sh: $dir/$program is not an executable" >&2; exit 1; }
  mkdir -p "$dest"
  sed "s|^ExecStart=/usr/bin/$program |ExecStart=$dir/$program |" "$src" > "$dest/$unit.service.tmp"
  mv "$dest/$unit.service.tmp" "$dest/$unit.service"
  echo "$dest/$unit.service: ExecStart=$dir/$program"
done
