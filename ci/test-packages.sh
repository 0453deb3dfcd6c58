#!/usr/bin/env bash
# CI step (after `make test`): build the pip distributions and the Debian
# packages, lint them, and install each node role into a fresh Debian 12 root
# made for the test (debootstrap from the mirror this machine's apt uses; the
# finished base root is cached under /var/cache/snf-pkg-test, so later runs
# only unpack it). It proves:
#   - Ganeti node (apt install snf-cyclades-gtools): no Django, no web stack,
#     its commands run (--version, eventd watching a queue, hook links);
#   - API/logic node (apt install snf-cyclades-app snf-tools): `snf-manage
#     migrate` and `check` against PostgreSQL with only /etc/synnefo edited;
#   - the same two roles with `pip install -f dist/` in a fresh virtualenv;
#   - conf files are conffiles (an edit survives a reinstall), 0640 root:synnefo;
#     no unit is enabled by the packages; every unit passes systemd-analyze verify;
#   - lintian: no error or warning left (each override says why).
# It fails loudly where it cannot run (not root, no mirror, no PostgreSQL).
# Environment: SYNNEFO_PKG_PGDATABASE (default synnefo_pkg), SYNNEFO_PKG_PGHOST
# (default 127.0.0.1), SYNNEFO_PKG_KEEP=1 keeps the roots for inspection,
# SYNNEFO_PKG_REUSE=1 (by hand) skips the build and tests dist/ as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE=/var/cache/snf-pkg-test
PGDATABASE=${SYNNEFO_PKG_PGDATABASE:-synnefo_pkg}
PGHOST=${SYNNEFO_PKG_PGHOST:-127.0.0.1}
VERSION=$(cat VERSION)
T0=$(date +%s)
ROOTS=()

die() { echo "test-packages: FAILED: $*" >&2; exit 1; }
step() { echo "== [$(( $(date +%s) - T0 )) s] $*" >&2; }

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot, mounts)"

# --- tools --------------------------------------------------------------------
need=()
for pair in debootstrap:debootstrap lintian:lintian dpkg-buildpackage:dpkg-dev dh:debhelper \
            dh_python3:dh-python systemd-analyze:systemd rsync:rsync; do
  command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
done
/usr/bin/python3 -c 'import installer, ensurepip' 2>/dev/null || need+=(python3-installer python3-venv)
if ((${#need[@]})); then
  step "apt-get install ${need[*]}"
  apt-get update -qq || die "apt-get update failed: cannot install ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
    --no-install-recommends "${need[@]}" >/dev/null || die "cannot apt-get install ${need[*]}"
fi

# --- the mirror this machine's apt uses ---------------------------------------
mirror() {
  local uri
  uri=$(grep -hs -A3 '^Types:.*deb' /etc/apt/sources.list.d/*.sources 2>/dev/null \
        | awk '/^URIs:/ {print $2}' | grep -v security | head -1)
  [ -n "$uri" ] || uri=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
        | awk '{for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' | grep -v security | head -1)
  echo "$uri"
}
MIRROR=$(mirror)
[ -n "$MIRROR" ] || die "no Debian mirror in /etc/apt/sources.list*: cannot debootstrap"

# --- build ----------------------------------------------------------------------
if [ "${SYNNEFO_PKG_REUSE:-}" = 1 ]; then   # by hand only: test the artifacts of a previous run
  ls dist/*.whl dist/deb/*.deb >/dev/null || die "SYNNEFO_PKG_REUSE=1 but no dist/ or dist/deb/"
else
step "make dist"
mkdir -p var
make -s dist > var/test-packages-dist.log 2>&1 || { tail -30 var/test-packages-dist.log; die "make dist failed"; }
step "make deb"
make -s deb | tail -1
step "lintian"
lintian --fail-on error,warning --tag-display-limit 0 dist/deb/*.deb \
  || die "lintian reports errors or warnings (above)"
fi

# --- roots ----------------------------------------------------------------------
cleanup() {
  local r m
  for r in "${ROOTS[@]}"; do
    for m in "$r/root/.cache/pip" "$r/var/cache/apt/archives" "$r/proc"; do
      mountpoint -q "$m" 2>/dev/null && umount -l "$m"
    done
    if [ "${SYNNEFO_PKG_KEEP:-}" = 1 ]; then echo "kept $r"; continue; fi
    if ! grep -q " $r/" /proc/mounts; then rm -rf --one-file-system "$r"; fi
  done
}
trap cleanup EXIT

base_tarball() {  # sets TARBALL (no subshell: ROOTS must see the temporary root)
  local tar=$CACHE/bookworm-base.tar
  if [ ! -s "$tar" ]; then
    step "debootstrap bookworm from $MIRROR (first run only; cached in $tar)"
    local tmp; tmp=$(mktemp -d /var/tmp/snf-pkg-base.XXXXXX)
    ROOTS+=("$tmp")
    debootstrap --variant=minbase --include=systemd,ca-certificates bookworm "$tmp" "$MIRROR" \
      > "$CACHE/debootstrap.log" 2>&1 || die "debootstrap from $MIRROR failed (log $CACHE/debootstrap.log)"
    rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/*
    tar -C "$tmp" -cf "$tar.new" . && mv "$tar.new" "$tar"
  fi
  TARBALL=$tar
}

new_root() {  # new_root NAME: sets R to a fresh Debian 12 root with our apt repository
  local r; r=$(mktemp -d "/var/tmp/snf-pkg-$1.XXXXXX")
  ROOTS+=("$r")
  R=$r
  tar -C "$r" -xf "$TARBALL"
  chmod 0755 "$r"   # "/" for the synnefo user (mktemp and the tarball's "." say 0700)
  cp /etc/resolv.conf "$r/etc/resolv.conf"
  # the root trusts the certificate authorities this machine trusts (pip reaches
  # PyPI over TLS; the machine's egress may be inspected by a local authority)
  cp /etc/ssl/certs/ca-certificates.crt "$r/etc/ssl/certs/ca-certificates.crt"
  printf 'deb %s bookworm main\n' "$MIRROR" > "$r/etc/apt/sources.list"
  mkdir -p "$r/srv/synnefo-deb" "$r/srv/synnefo-dist" "$CACHE/apt-archives/partial" "$CACHE/pip" "$r/root/.cache/pip"
  cp dist/deb/*.deb dist/deb/Packages "$r/srv/synnefo-deb/"
  cp -r dist/*.whl dist/*.tar.gz dist/simple "$r/srv/synnefo-dist/"
  printf 'deb [trusted=yes] file:/srv/synnefo-deb ./\n' > "$r/etc/apt/sources.list.d/synnefo.list"
  mount -t proc proc "$r/proc"
  mount --bind "$CACHE/apt-archives" "$r/var/cache/apt/archives"
  mount --bind "$CACHE/pip" "$r/root/.cache/pip"
  in_root "$r" apt-get update -qq >/dev/null || die "apt-get update in the test root failed"
}

in_root() { local r=$1; shift; chroot "$r" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
                                DEBIAN_FRONTEND=noninteractive "$@"; }
apt_install() { local r=$1; shift; in_root "$r" apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
                                     || die "apt-get install $* failed in $r"; }
expect() {  # expect DESCRIPTION COMMAND...: run, fail loudly when it fails
  local what=$1; shift
  "$@" || die "$what"
  echo "   ok: $what"
}
no_django() {  # no_django ROOT [PYTHON]
  local r=$1 py=${2:-python3}
  ! in_root "$r" "$py" -c 'import django' 2>/dev/null \
    && ! in_root "$r" "$py" -c 'import gunicorn' 2>/dev/null \
    && ! in_root "$r" dpkg -l 'python3-django*' 'gunicorn*' 2>/dev/null | grep -q '^ii'
}

mkdir -p "$CACHE"
base_tarball
psql_host() { "$ROOT/.venv/bin/python" - "$@" <<'PYEOF'
import sys, psycopg
host, name = sys.argv[1], sys.argv[2]
with psycopg.connect(host=host, user="postgres", dbname="postgres", autocommit=True) as conn:
    conn.execute('DROP DATABASE IF EXISTS "%s"' % name)
    conn.execute('CREATE DATABASE "%s"' % name)
PYEOF
}

# --- Ganeti node, apt -------------------------------------------------------------
step "Ganeti node with apt: snf-cyclades-gtools"
new_root ganeti; G=$R
# with Recommends, as an operator's apt-get does by default
in_root "$G" apt-get install -y -qq snf-cyclades-gtools >/dev/null || die "apt-get install snf-cyclades-gtools failed"
expect "the Ganeti node has no Django and no web stack" no_django "$G"
expect "it installed only snf-common and snf-cyclades-gtools of ours" \
  test "$(in_root "$G" dpkg-query -W -f='${Package}\n' 'snf-*' | sort | tr '\n' ' ')" = "snf-common snf-cyclades-gtools "
for cmd in snf-ganeti-eventd snf-ganeti-hook snf-progress-monitor snf-ganeti-hook-install; do
  expect "$cmd --version prints $VERSION" test "$(in_root "$G" "$cmd" --version)" = "$cmd $VERSION"
done
mkdir -p "$G/tmp/queue"
echo ganeti.example.org > "$G/tmp/ssconf_cluster_name"
in_root "$G" timeout -s TERM 4 snf-ganeti-eventd --foreground --queue-dir /tmp/queue \
  --cluster-name ganeti.example.org --state-file /tmp/eventd.json > "$G/tmp/eventd.log" 2>&1 || true
expect "snf-ganeti-eventd watches a queue on Debian's kombu and stops on SIGTERM" \
  grep -q "watching /tmp/queue" "$G/tmp/eventd.log"
expect "snf-ganeti-hook-install links the hook under valid names" \
  in_root "$G" sh -c 'snf-ganeti-hook-install --hooks-dir /tmp/hooks >/dev/null &&
    test "$(readlink /tmp/hooks/instance-start-post.d/00-snf-ganeti-hook)" = /usr/bin/snf-ganeti-hook'
expect "snf-ganeti-hook-install refuses a name Ganeti would skip" \
  in_root "$G" sh -c '! snf-ganeti-hook-install --hooks-dir /tmp/hooks --name hook.py 2>/dev/null'
expect "conf files are 0640 root:synnefo" \
  test "$(in_root "$G" stat -c '%a %U:%G' /etc/synnefo/00-snf-common.conf /etc/synnefo/30-snf-cyclades-gtools.conf | sort -u)" = "640 root:synnefo"
expect "no unit is enabled by the packages" test -z "$(find "$G/etc/systemd/system" -path '*.wants/snf-*')"
echo 'AMQP_HOSTS = ["amqp://cyclades:secret@mq.example.org:5672//"]' >> "$G/etc/synnefo/00-snf-common.conf"
in_root "$G" apt-get install -y -qq --reinstall -o Dpkg::Options::=--force-confdef \
  -o Dpkg::Options::=--force-confold snf-common >/dev/null
expect "an edited conf file survives a reinstall (conffile)" grep -q 'mq.example.org' "$G/etc/synnefo/00-snf-common.conf"
expect "units of the Ganeti node pass systemd-analyze verify" \
  in_root "$G" systemd-analyze verify snf-ganeti-eventd.service

# --- API/logic node, apt ------------------------------------------------------------
step "API/logic node with apt: snf-cyclades-app snf-tools"
new_root api; A=$R
apt_install "$A" snf-cyclades-app snf-tools
psql_host "$PGHOST" "$PGDATABASE" || die "PostgreSQL at $PGHOST:5432 does not answer (user postgres)"
{
  printf 'DATABASES["default"] = {"ENGINE": "django.db.backends.postgresql", "NAME": "%s",\n' "$PGDATABASE"
  printf '                        "USER": "postgres", "HOST": "%s", "PORT": 5432}\n' "$PGHOST"
  printf 'SECRET_KEY = "test-packages-%s"\n' "$(date +%s%N)"
  # every node that stores backend passwords refuses to start without it
  printf 'SECRET_ENCRYPTION_KEY = "test-packages-%s"\n' "$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
} > "$A/etc/synnefo/50-site.conf"
in_root "$A" sh -c 'chgrp synnefo /etc/synnefo/50-site.conf && chmod 0640 /etc/synnefo/50-site.conf'
for cmd in snf-manage snf-dispatcher snf-ganeti-sim snf-quickstart; do
  expect "$cmd --version prints $VERSION" test "$(in_root "$A" "$cmd" --version)" = "$cmd $VERSION"
done
expect "snf-manage migrate (user synnefo, PostgreSQL $PGDATABASE)" \
  in_root "$A" runuser -u synnefo -- snf-manage migrate --noinput -v0
expect "snf-manage check" in_root "$A" runuser -u synnefo -- snf-manage check
expect "the system python3 of the API node has no Django (it lives in /usr/lib/synnefo/venv)" \
  in_root "$A" sh -c '! python3 -c "import django" 2>/dev/null'
cp "$A/lib/systemd/system/snf-dispatcher@.service" "$A/etc/systemd/system/snf-dispatcher@1.service"
expect "units of the API/logic node pass systemd-analyze verify" \
  in_root "$A" systemd-analyze verify snf-api.service snf-dispatcher@1.service
rm "$A/etc/systemd/system/snf-dispatcher@1.service"
if ls dist/deb/snf-vncauthproxy_*.deb >/dev/null 2>&1; then
  apt_install "$A" snf-vncauthproxy
  expect "snf-vncauthproxy --version prints $VERSION" \
    test "$(in_root "$A" snf-vncauthproxy --version)" = "snf-vncauthproxy $VERSION"
  expect "snf-vncauthproxy.service passes systemd-analyze verify" \
    in_root "$A" systemd-analyze verify snf-vncauthproxy.service
fi
expect "no unit is enabled by the packages" test -z "$(find "$A/etc/systemd/system" -path '*.wants/snf-*')"

# --- both roles with pip -f ---------------------------------------------------------
step "pip install -f dist/ in fresh virtualenvs"
new_root pip; P=$R
apt_install "$P" python3-venv
in_root "$P" python3 -m venv /opt/ganeti-node
in_root "$P" /opt/ganeti-node/bin/pip install -q -f /srv/synnefo-dist snf-cyclades-gtools >/dev/null \
  || die "pip install -f dist/ snf-cyclades-gtools failed"
expect "pip: the Ganeti node has no Django" no_django "$P" /opt/ganeti-node/bin/python
expect "pip: snf-ganeti-eventd --version prints $VERSION" \
  test "$(in_root "$P" /opt/ganeti-node/bin/snf-ganeti-eventd --version)" = "snf-ganeti-eventd $VERSION"
in_root "$P" python3 -m venv /opt/cyclades
in_root "$P" /opt/cyclades/bin/pip install -q --extra-index-url file:///srv/synnefo-dist/simple/ \
  snf-cyclades-app >/dev/null || die "pip install (PEP 503 index) snf-cyclades-app failed"
psql_host "$PGHOST" "$PGDATABASE"
mkdir -p "$P/etc/synnefo"
cp "$A/etc/synnefo/50-site.conf" "$P/etc/synnefo/50-site.conf"
expect "pip: snf-manage migrate and check on PostgreSQL" \
  in_root "$P" sh -c '/opt/cyclades/bin/snf-manage migrate --noinput -v0 && /opt/cyclades/bin/snf-manage check'
step "done: every role installed and ran ($(( $(date +%s) - T0 )) s)"
