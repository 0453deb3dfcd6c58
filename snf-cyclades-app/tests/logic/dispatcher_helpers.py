"""Helpers of the dispatcher tests: message builders and DB fixtures."""

import json

from synnefo.db.models import Backend, BackendNetwork, Flavor, Network, VirtualMachine

T0 = 1700000000


def et(offset, micros=0):
    return [T0 + offset, micros]


def op(vm_id, operation, status, job_id, t, logmsg=None, prefix="snf-"):
    return {"type": "ganeti-op-status", "instance": "%s%s" % (prefix, vm_id),
            "operation": operation, "status": status, "jobId": job_id, "logmsg": logmsg,
            "cluster": "cluster1.example.org", "event_time": et(*t) if isinstance(t, tuple) else et(t)}


def net(vm_id, nics, t):
    return {"type": "ganeti-net-status", "instance": "snf-%s" % vm_id, "nics": nics,
            "event_time": et(t)}


def network_msg(net_id, operation, status, job_id, t, cluster="cluster1.example.org", **extra):
    msg = {"type": "ganeti-network-status", "network": "snf-net-%s" % net_id,
           "operation": operation, "status": status, "jobId": job_id, "logmsg": None,
           "cluster": cluster, "event_time": et(t), "subnet": None, "gateway": None,
           "group_name": None}
    msg.update(extra)
    return msg


def progress(vm_id, t, **payload):
    msg = {"instance": "snf-%s" % vm_id, "event_time": et(t)}
    msg.update(payload)
    return msg


def make_world():
    backend = Backend(clustername="cluster1.example.org", index=0, username="u")
    backend.password = "secret"
    backend.save()
    flavor = Flavor.objects.create(cpu=1, ram=1024, disk=20, disk_template="drbd")
    public = Network.objects.create(name="public", subnet="192.0.2.0/29", gateway="192.0.2.1",
                                    public=True, type="PUBLIC_ROUTED", mac_prefix="aa:00:0",
                                    state="ACTIVE", link="snf_public")
    BackendNetwork.objects.create(network=public, backend=backend, mac_prefix="aa:00:00",
                                  operstate="ACTIVE")
    private = Network.objects.create(name="priv", subnet="10.0.0.0/29", userid="alice",
                                     type="PRIVATE_MAC_FILTERED", mac_prefix="aa:00:1",
                                     state="PENDING", link="br0")
    BackendNetwork.objects.create(network=private, backend=backend, mac_prefix="aa:00:10")
    return {"backend": backend, "flavor": flavor, "public": public, "private": private}


def make_vm(world, **fields):
    values = dict(name="vm", userid="alice", backend=world["backend"], flavor=world["flavor"],
                  imageid="img1", operstate="BUILD", action="CREATE", task="BUILD")
    values.update(fields)
    return VirtualMachine.objects.create(**values)


class FakeDelivery:
    def __init__(self, body, queue="snf-events-op"):
        self.body = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.headers = {}
        self.queue = queue
        self.outcome = None
        self.reason = None

    def ack(self):
        assert self.outcome is None
        self.outcome = "ack"

    def reject_to_dead_letter(self, reason):
        assert self.outcome is None
        self.outcome, self.reason = "dead", reason
