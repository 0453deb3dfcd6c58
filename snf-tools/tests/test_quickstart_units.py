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


def _pool_deployment(tmp_path, cluster, pools):
    dep = Deployment(tmp_path, log=lambda *a: None, ganeti=cluster)
    dep.write_settings()
    calls = []

    def manage(*args, check=True):
        calls.append(args)
        if args[0] == "pool-create":
            kind = args[args.index("--type") + 1]
            pools.append({"type": kind, "base": args[args.index("--base") + 1],
                          "size": int(args[args.index("--size") + 1])})
        out = json.dumps(pools) if args[0] == "pool-list" else ""
        return subprocess.CompletedProcess(args, 0, out, "")
    dep.manage = manage
    return dep, calls


def test_private_network_pools_once(tmp_path):
    dep, calls = _pool_deployment(tmp_path, None, [])
    dep.create_private_network_pools()
    creates = [c for c in calls if c[0] == "pool-create"]
    assert [c[c.index("--type") + 1] for c in creates] == ["bridge", "mac-prefix"]
    assert "prv" in creates[0] and "aa:00:0" in creates[1]
    dep.create_private_network_pools()  # a restart keeps the pools it has
    assert len([c for c in calls if c[0] == "pool-create"]) == 2


def test_real_cluster_gets_the_bridges_pools_and_settings_name(tmp_path, monkeypatch):
    cluster = {"real": True, "node": "vm.ganeti.test", "os": "snf-image+default", "ns": "snfgnt",
               "private_bridge": "br0", "bridge_pool_base": "prv", "bridge_pool_size": "3",
               "links": ["br-snfgnt", "br0", "prv1"]}
    ran = []
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: ran.append(cmd) or
                        subprocess.CompletedProcess(cmd, 0, "", ""))
    dep, _ = _pool_deployment(tmp_path, cluster, [])
    with open(tmp_path / "settings" / "95-custom.conf", "w") as handle:
        handle.write('ENABLED_NETWORKS = ["PRIVATE_MAC_FILTERED", "CUSTOM_BRIDGED"]\n'
                     'CUSTOM_BRIDGED_BRIDGE = "lab0"\n')
    dep.create_private_network_pools()
    added = [cmd[7] for cmd in ran if cmd[5:7] == ["link", "add"]]
    assert added == ["lab0", "prv2", "prv3"]  # br0 and prv1 are there already
    assert all(cmd[:4] == ["ip", "netns", "exec", "snfgnt"] for cmd in ran)
    settings = (tmp_path / "settings" / "50-quickstart.conf").read_text()
    assert "PRIVATE_MAC_FILTERED_BRIDGE = 'br0'" in settings
