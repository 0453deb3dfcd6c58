"""A plain ``pytest`` from the repository root runs on the test settings (ci/settings/sqlite),
whatever the environment says about Django, and never reads /etc/synnefo."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROBE = "SNF_PYTEST_SETTINGS_PROBE"


@pytest.mark.skipif(not os.environ.get(PROBE), reason="run by test_plain_pytest_uses_test_settings")
def test_probe_settings():
    from django.conf import settings
    assert settings.SYNNEFO_SETTINGS_DIR == os.path.join(ROOT, "ci", "settings", "sqlite")
    assert settings.TEST is True
    assert not settings.DATABASES["default"]["NAME"].startswith("/var/lib/synnefo")


def test_plain_pytest_uses_test_settings():
    env = {k: v for k, v in os.environ.items()
           if k not in ("SYNNEFO_SETTINGS_DIR", "DJANGO_SETTINGS_MODULE", "SYNNEFO_TEST_DIR")}
    env[PROBE] = "1"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/test_repo_pytest_settings.py::test_probe_settings"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "1 passed" in proc.stdout
