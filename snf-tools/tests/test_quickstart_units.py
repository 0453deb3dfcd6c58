"""snf-quickstart's own logic, without starting processes."""

import json
import subprocess

from synnefo.tools.quickstart import Deployment


def test_register_backend_passes_a_dash_password_as_one_argument(tmp_path):
    dep = Deployment(tmp_path, log=lambda *a: None)
    dep.cluster = {"cluster_name": "127.0.0.1", "port": 5080, "user": "cyclades", "password": "-dash1",
                   "fingerprint": "ab" * 32, "real": False}
    calls = []

    def manage(*args, check=True):
        calls.append(args)
        out = "[]"
        if args[0] == "backend-list" and any(c[0] == "backend-add" for c in calls):
            out = json.dumps([{"id": 1, "clustername": "127.0.0.1"}])
        return subprocess.CompletedProcess(args, 0, out, "")
    dep.manage = manage
    dep.register_backend()
    [add] = [c for c in calls if c[0] == "backend-add"]
    # argparse would take "--pass -dash1" for two options; "--pass=-dash1" is one value
    assert "--pass=-dash1" in add and "-dash1" not in add
