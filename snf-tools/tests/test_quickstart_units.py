"""snf-quickstart's own logic, without starting processes."""

import json
import os
import stat
import subprocess

from synnefo.tools.quickstart import PASSWORD_ENV, Deployment, write_private


def test_register_backend_passes_the_password_in_the_environment(tmp_path):
    dep = Deployment(tmp_path, log=lambda *a: None)
    dep.cluster = {"cluster_name": "127.0.0.1", "port": 5080, "user": "cyclades", "password": "-dash1",
                   "fingerprint": "ab" * 32, "real": False}
    calls = []

    def manage(*args, check=True, env=None):
        calls.append((args, env))
        out = "[]"
        if args[0] == "backend-list" and any(c[0][0] == "backend-add" for c in calls):
            out = json.dumps([{"id": 1, "clustername": "127.0.0.1"}])
        return subprocess.CompletedProcess(args, 0, out, "")
    dep.manage = manage
    dep.register_backend()
    [(add, env)] = [c for c in calls if c[0][0] == "backend-add"]
    # never on the command line (ps shows it to every user)
    assert not any("dash1" in a for a in add)
    assert add[add.index("--password-env") + 1] == PASSWORD_ENV and env == {PASSWORD_ENV: "-dash1"}


def test_files_holding_secrets_are_private(tmp_path):
    dep = Deployment(tmp_path / "var", log=lambda *a: None, extra_conf="DATABASES = {}\n")
    dep.cluster = None
    os.umask(0o022)
    dep.write_settings()
    for path in ("secrets.json", "settings/50-quickstart.conf", "settings/90-extra.conf"):
        assert stat.S_IMODE(os.stat(tmp_path / "var" / path).st_mode) == 0o600, path
    (tmp_path / "old").write_text("x")
    os.chmod(tmp_path / "old", 0o644)
    write_private(str(tmp_path / "old"), "token")
    assert stat.S_IMODE(os.stat(tmp_path / "old").st_mode) == 0o600
