#!/usr/bin/env python3
"""`make dist`: the sdist and wheel of every package of the tree in dist/, plus a PEP 503 index.

    python3 ci/dist.py [--out dist] [PACKAGE_DIR...]

Each package is built from a copy (so the tree gets no build/ or *.egg-info),
sdist first and the wheel from that sdist, so a file missing from the sdist
fails here rather than on the operator's machine. Every package must carry the
version of the top-level VERSION file. Then dist/simple/ gets a PEP 503 index
(one page per project, links with #sha256=). Both forms work with pip:

    pip install -f dist/ snf-cyclades-gtools
    pip install --extra-index-url file://$PWD/dist/simple/ snf-cyclades-gtools
"""

import argparse
import hashlib
import html
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ["snf-common", "snf-webproject", "snf-cyclades-app", "snf-cyclades-gtools",
            "snf-tools"]
OPTIONAL_PACKAGES = ["snf-vncauthproxy"]   # built when the tree has it


class DistError(Exception):
    pass


def tree_version():
    return (ROOT / "VERSION").read_text(encoding="utf-8").strip()


def package_dirs():
    return PACKAGES + [p for p in OPTIONAL_PACKAGES if (ROOT / p / "pyproject.toml").exists()]


def project_of(package_dir):
    with open(ROOT / package_dir / "pyproject.toml", "rb") as handle:
        return tomllib.load(handle)["project"]


def check_versions(dirs):
    want = tree_version()
    wrong = ["%s has %s" % (d, project_of(d)["version"]) for d in dirs
             if project_of(d)["version"] != want]
    if wrong:
        raise DistError("VERSION is %s but %s" % (want, ", ".join(wrong)))
    return want


def normalize(name):
    """PEP 503 project name normalization."""
    return re.sub(r"[-_.]+", "-", name).lower()


def build_one(package_dir, out, python):
    with tempfile.TemporaryDirectory(prefix="snf-dist-") as tmp:
        copy = pathlib.Path(tmp) / package_dir
        shutil.copytree(ROOT / package_dir, copy, ignore=shutil.ignore_patterns(
            "tests", "build", "*.egg-info", "__pycache__", "*.pyc"))
        proc = subprocess.run([python, "-m", "build", "--sdist", "--wheel", "--outdir", str(out),
                               str(copy)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise DistError("%s: build failed:\n%s" % (package_dir, (proc.stdout + proc.stderr)[-3000:]))


def project_of_file(filename):
    """The normalized project name of a wheel or sdist file name."""
    stem = filename[:-len(".tar.gz")] if filename.endswith(".tar.gz") else filename
    return normalize(stem.split("-")[0])


def write_index(out):
    simple = out / "simple"
    shutil.rmtree(simple, ignore_errors=True)
    simple.mkdir()
    files = sorted(f for f in os.listdir(out) if f.endswith((".whl", ".tar.gz")))
    projects = {}
    for name in files:
        projects.setdefault(project_of_file(name), []).append(name)
    page = '<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.0">' \
           '<title>%s</title></head><body>\n%s</body></html>\n'
    for project, names in projects.items():
        (simple / project).mkdir()
        links = "".join('<a href="../../%s#sha256=%s">%s</a><br>\n' % (
            html.escape(n), hashlib.sha256((out / n).read_bytes()).hexdigest(), html.escape(n))
            for n in names)
        (simple / project / "index.html").write_text(page % ("Links for " + project, links))
    root_links = "".join('<a href="%s/">%s</a><br>\n' % (p, p) for p in sorted(projects))
    (simple / "index.html").write_text(page % ("Simple index", root_links))
    return projects


def main(argv=None):
    parser = argparse.ArgumentParser(prog="ci/dist.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "dist"), help="output directory (default: dist/)")
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter with the 'build' module (default: this one)")
    parser.add_argument("packages", nargs="*", help="package directories (default: all)")
    args = parser.parse_args(argv)
    dirs = args.packages or package_dirs()
    out = pathlib.Path(args.out).resolve()
    try:
        version = check_versions(dirs)
        out.mkdir(parents=True, exist_ok=True)
        for stale in out.glob("*"):
            if stale.is_file() and stale.name.endswith((".whl", ".tar.gz")):
                stale.unlink()
        for package_dir in dirs:
            print("== %s %s" % (package_dir, version), flush=True)
            build_one(package_dir, out, args.python)
        projects = write_index(out)
    except DistError as exc:
        print("ci/dist.py: %s" % exc, file=sys.stderr)
        return 1
    print("%s: %d files of %d projects, index in %s" % (
        out, sum(len(v) for v in projects.values()), len(projects), out / "simple"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
