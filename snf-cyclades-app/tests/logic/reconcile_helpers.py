"""Helpers of the reconciliation tests: a fake RAPI client with instances and jobs."""

import json

import pytest
from django.db import connections
from logic_helpers import FakeRapi, manage, rapi_error
from synnefo.logic import backends as backends_mod
from synnefo.logic.utils import instance_name, network_name


class GanetiRapi(FakeRapi):
    """FakeRapi with instances and jobs that reconciliation reads."""

    def __init__(self):
        super().__init__()
        self.instances = {}
        self.job_views = {}
        self.nets = {}
        self.down = False
        self.down_jobs = False

    def add(self, vm, up=True, nics=(), cpu=None, ram=None, tags=()):
        self.instances[instance_name(vm.id)] = {
            "name": instance_name(vm.id), "oper_state": up,
            "beparams": {"vcpus": cpu or vm.flavor.cpu, "maxmem": ram or vm.flavor.ram},
            "nic.macs": [n[0] for n in nics], "nic.ips": [n[1] for n in nics],
            "nic.networks.names": [n[2] for n in nics], "tags": list(tags)}

    def get_instances(self, bulk=False):
        self._call("get_instances", bulk=bulk)
        if self.down:
            raise rapi_error("connection refused", None)
        return list(self.instances.values()) if bulk else list(self.instances)

    def get_job(self, job_id):
        self._call("get_job", job_id)
        if self.down_jobs:
            raise rapi_error("connection reset", None)
        if job_id not in self.job_views:
            raise rapi_error("job %s not found" % job_id, 404)
        return self.job_views[job_id]

    def job(self, job_id, opcode, status, end=(1000, 0)):
        final = status in ("success", "error", "canceled")
        result = [["OpExecError", ["disk failed"]]] if status == "error" else [None]
        self.job_views[job_id] = {"id": job_id, "ops": [{"OP_ID": opcode}], "status": status,
                                  "end_ts": list(end) if final else None, "opresult": result}


    def has(self, network, groups=None):
        """Ganeti has ``network``, connected to ``groups`` (default: every group)."""
        groups = self.groups if groups is None else groups
        self.nets[network_name(network.id)] = {
            "name": network_name(network.id), "group_list": [[g, "bridged", "br0", ""] for g in groups]}

    def get_networks(self, bulk=False):
        self._call("get_networks", bulk=bulk)
        return list(self.nets.values())


@pytest.fixture(name="ganeti")
def ganeti_fixture(monkeypatch, db):
    """A :class:`GanetiRapi` that every backend's RAPI client is."""
    fake = GanetiRapi()
    monkeypatch.setattr(backends_mod, "get_rapi_client", lambda backend: fake)
    return fake


@pytest.fixture(name="run")
def run_fixture(db, monkeypatch, capsys):
    """``run(command, *args) -> (exit code, stdout, stderr)``."""
    monkeypatch.setattr(connections, "close_all", lambda: None)
    return manage(capsys)


def findings(out):
    return {(f["kind"], f["object"]): f for f in json.loads(out)}
