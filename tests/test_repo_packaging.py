"""One version for the whole tree, and the packaging files agree with the tree."""

import pathlib
import re
import subprocess
import sys
import tomllib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE_DIRS = sorted(p.parent.name for p in ROOT.glob("snf-*/pyproject.toml"))


def tree_version():
    return (ROOT / "VERSION").read_text(encoding="utf-8").strip()


@pytest.mark.parametrize("package_dir", PACKAGE_DIRS)
def test_every_package_has_the_tree_version(package_dir):
    with open(ROOT / package_dir / "pyproject.toml", "rb") as handle:
        assert tomllib.load(handle)["project"]["version"] == tree_version()


def test_debian_changelog_has_the_tree_version():
    first = (ROOT / "debian" / "changelog").read_text(encoding="utf-8").splitlines()[0]
    assert re.match(r"^synnefo \((?P<v>[^)]+)\) ", first).group("v") == tree_version()


def test_every_package_has_a_debian_binary_package():
    control = (ROOT / "debian" / "control").read_text(encoding="utf-8")
    binaries = set(re.findall(r"^Package: (\S+)$", control, re.M))
    assert binaries == set(PACKAGE_DIRS)


def test_every_unit_is_installed_by_a_package():
    script = (ROOT / "debian" / "build-python").read_text(encoding="utf-8")
    for unit in (ROOT / "systemd").glob("*.service"):
        assert "systemd/%s" % unit.name in script, unit.name


@pytest.mark.parametrize("command", ["snf-manage", "snf-dispatcher", "snf-ganeti-eventd",
                                     "snf-ganeti-hook", "snf-progress-monitor",
                                     "snf-ganeti-hook-install", "snf-ganeti-sim", "snf-quickstart",
                                     "snf-vncauthproxy"])
def test_every_command_prints_the_tree_version(command):
    path = pathlib.Path(sys.executable).parent / command
    proc = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "%s %s\n" % (command, tree_version())


def test_pep503_index(tmp_path):
    sys.path.insert(0, str(ROOT / "ci"))
    try:
        import dist
    finally:
        sys.path.pop(0)
    for name in ("snf_common-1.0-py3-none-any.whl", "snf_common-1.0.tar.gz",
                 "snf_cyclades_gtools-1.0-py3-none-any.whl"):
        (tmp_path / name).write_bytes(name.encode())
    projects = dist.write_index(tmp_path)
    assert set(projects) == {"snf-common", "snf-cyclades-gtools"}
    page = (tmp_path / "simple" / "snf-common" / "index.html").read_text()
    assert 'href="../../snf_common-1.0.tar.gz#sha256=' in page
    assert '<a href="snf-cyclades-gtools/">' in (tmp_path / "simple" / "index.html").read_text()
