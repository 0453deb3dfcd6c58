"""Helpers of the logic tests: a fake RAPI client, backend and network factories."""

import itertools

from synnefo.db.models import Backend, BackendNetwork, Network
from synnefo.rapi import GanetiApiError


class FakeRapi:
    """Records calls; job-submitting methods return increasing job ids."""

    def __init__(self):
        self.calls = []
        self.jobs = itertools.count(100)
        self.fail = {}  # method name -> exception to raise
        self.nodes = [{"name": "node1", "vm_capable": True, "drained": False, "offline": False,
                       "cnodes": 2, "mfree": 8000, "mtotal": 16000, "dfree": 500000,
                       "dtotal": 1000000, "pinst_cnt": 2, "ctotal": 8}]
        self.groups = ["default"]
        self.info = {"name": "cluster1.example.org"}
        self.instance = {"pnode": "node1.example.org", "network_port": 11000,
                         "hvparams": {"serial_console": False}}
        self.console = {"kind": "vnc", "host": "node1.example.org", "port": 11000}

    def _call(self, _method, *args, **kwargs):
        name = _method
        self.calls.append((name, args, kwargs))
        if name in self.fail:
            raise self.fail[name]

    def _job(self, _method, *args, **kwargs):
        self._call(_method, *args, **kwargs)
        return next(self.jobs)

    def names(self):
        return [c[0] for c in self.calls]

    def last(self, name):
        return [c for c in self.calls if c[0] == name][-1]

    def get_info(self):
        self._call("get_info")
        return self.info

    def get_features(self):
        self._call("get_features")
        return ["instance-create-reqv1", "instance-reinstall-reqv1"]

    def modify_cluster(self, **body):
        return self._job("modify_cluster", **body)

    def get_nodes(self, bulk=False):
        self._call("get_nodes", bulk=bulk)
        return self.nodes

    def get_groups(self, bulk=False):
        self._call("get_groups")
        return list(self.groups)

    def get_instance(self, name):
        self._call("get_instance", name)
        return dict(self.instance)

    def get_instance_console(self, name):
        self._call("get_instance_console", name)
        return dict(self.console)

    def create_instance(self, **body):
        return self._job("create_instance", **body)

    def delete_instance(self, name):
        return self._job("delete_instance", name)

    def startup_instance(self, name):
        return self._job("startup_instance", name)

    def shutdown_instance(self, name, timeout=None):
        return self._job("shutdown_instance", name)

    def reboot_instance(self, name, type="soft"):  # noqa: A002
        return self._job("reboot_instance", name, type=type)

    def modify_instance(self, name, **body):
        return self._job("modify_instance", name, **body)

    def add_instance_tags(self, name, tags):
        return self._job("add_instance_tags", name, tags)

    def delete_instance_tags(self, name, tags):
        return self._job("delete_instance_tags", name, tags)

    def create_network(self, **body):
        return self._job("create_network", **body)

    def connect_network(self, name, group_name, mode, link, depends=None, conflicts_check=None):
        return self._job("connect_network", name, group_name, mode, link, depends=depends,
                         conflicts_check=conflicts_check)

    def disconnect_network(self, name, group_name, depends=None):
        return self._job("disconnect_network", name, group_name, depends=depends)

    def delete_network(self, name, depends=None):
        return self._job("delete_network", name, depends=depends)

    def get_network(self, name):
        self._call("get_network", name)
        return {"name": name, "map": "X..X", "group_list": []}

    def modify_network(self, name, **body):
        return self._job("modify_network", name, **body)

    def wait_for_job(self, job_id, timeout):
        self._call("wait_for_job", job_id)
        return "success"

    def close(self):
        pass


def rapi_error(message="boom", code=500):
    return GanetiApiError(message, code)


def make_backend(name="cluster1.example.org", index=None, **fields):
    if index is None:
        used = set(Backend.objects.values_list("index", flat=True))
        index = min(set(range(16)) - used)
    backend = Backend(clustername=name, index=index, username="u", **fields)
    backend.password = "secret"
    backend.save()
    return backend


def make_public_network(backend, subnet="192.0.2.0/29", gateway="192.0.2.1"):
    net = Network.objects.create(name="public", subnet=subnet, gateway=gateway, public=True,
                                 type="PUBLIC_ROUTED", mac_prefix="aa:00:0", state="ACTIVE",
                                 link="snf_public")
    BackendNetwork.objects.create(network=net, backend=backend, mac_prefix="aa:00:0%x" % backend.index,
                                  operstate="ACTIVE")
    return net


