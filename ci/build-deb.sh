#!/usr/bin/env bash
# `make deb`: build the Debian packages of every node role into dist/deb/,
# with an apt repository index there (Packages), so that a node can use
#   deb [trusted=yes] file:/path/to/dist/deb ./
# The build runs in a copy of the tree (var/deb/src) so the worktree gets no
# build products. Needs: debhelper dh-python python3-installer python3-venv
# dpkg-dev, and PyPI (the Django side's environment is installed from it).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
version=$(cat VERSION)
missing=()
for tool in dpkg-buildpackage dh dh_python3 dpkg-scanpackages; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
/usr/bin/python3 -c 'import installer, ensurepip' 2>/dev/null || missing+=("python3-installer/python3-venv")
if ((${#missing[@]})); then
  echo "make deb: missing ${missing[*]}: apt-get install debhelper dh-python python3-installer python3-venv dpkg-dev" >&2
  exit 1
fi
changelog_version=$(dpkg-parsechangelog -S Version)
if [ "$changelog_version" != "$version" ]; then
  echo "make deb: debian/changelog is at $changelog_version but VERSION is $version" >&2
  exit 1
fi
work=var/deb
src=$work/src/synnefo-$version
rm -rf "$work"
mkdir -p "$src" dist/deb
# the files of the tree as git sees them (tracked + new, not ignored)
git ls-files -co --exclude-standard -z | while IFS= read -r -d '' f; do
  [ -e "$f" ] && printf '%s\0' "$f"
done | rsync -a --from0 --files-from=- ./ "$src/"
start=$(date +%s)
(cd "$src" && dpkg-buildpackage -b -us -uc > "$ROOT/$work/build.log" 2>&1) || {
  tail -40 "$work/build.log" >&2; echo "make deb: dpkg-buildpackage failed (log: $work/build.log)" >&2; exit 1; }
rm -f dist/deb/*.deb
mv "$work"/src/*.deb dist/deb/
(cd dist/deb && dpkg-scanpackages --multiversion . /dev/null > Packages 2>/dev/null && gzip -9kf Packages)
echo "make deb: $(ls dist/deb/*.deb | wc -l) packages in dist/deb/ in $(( $(date +%s) - start )) s:"
ls -s1h dist/deb/*.deb
