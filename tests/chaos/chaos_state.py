"""What the chaos checker compares: one snapshot of the database (through
Django's ORM, with the deployment's settings), of Ganeti (its RAPI), of the
broker's queues and of the deployment's processes.

Import this only after ``SYNNEFO_SETTINGS_DIR`` names the deployment's
settings (``run.py`` sets it once the deployment is up).
"""

import os
from dataclasses import dataclass, field

import django
from synnefo.messaging import names
from synnefo.tools.processes import child_pids

_ready = False


def setup_django(settings_dir):
    global _ready
    if not _ready:
        os.environ["SYNNEFO_SETTINGS_DIR"] = settings_dir
        os.environ["DJANGO_SETTINGS_MODULE"] = "synnefo.settings"
        django.setup()
        _ready = True


@dataclass
class Snapshot:
    # id -> {"name", "state", "deleted", "task", "nics": [(network id, ipv4)], "job": create job}
    servers: dict = field(default_factory=dict)
    # id -> {"name", "state", "deleted", "public", "type", "link", "mac_prefix", "action",
    #        "job": a Ganeti job of one of its backend networks}
    networks: dict = field(default_factory=dict)
    pending_nics: list = field(default_factory=list)     # (server id, network id, ipv4)
    # "bridge" / "mac-prefix" -> allocated values; "ip" -> {network id: allocated addresses}
    pools: dict = field(default_factory=dict)
    instances: dict = field(default_factory=dict)        # name -> {"running", "nics": [(net, ip)]}
    ganeti_networks: set = field(default_factory=set)
    jobs: list = field(default_factory=list)             # (instance name, opcode) of every job
    queues: dict = field(default_factory=dict)           # queue -> ready messages
    dead_letters: list = field(default_factory=list)     # (queue, headers)
    processes: dict = field(default_factory=dict)        # name -> alive
    api_workers: int = 0
    errors: list = field(default_factory=list)           # what could not be read


def _allocated(pool):
    """Values handed out (not free, not reserved by the administrator)."""
    return {pool.value_of(i) for i in range(pool.size) if not pool.available[i] and pool.reserved[i]}


def read_database(snap):
    from django.db import close_old_connections, connection
    from synnefo.db.models import (
        BackendNetwork,
        BridgePoolTable,
        IPPoolTable,
        MacPrefixPoolTable,
        Network,
        NetworkInterface,
        PendingNic,
        VirtualMachine,
    )
    from synnefo.logic.pools import BridgePool, IPPool, MacPrefixPool

    close_old_connections()
    connection.close()  # a restarted PostgreSQL leaves a dead connection behind
    nics = {}
    for nic in NetworkInterface.objects.order_by("machine_id", "index"):
        nics.setdefault(nic.machine_id, []).append((nic.network_id, nic.ipv4))
    for vm in VirtualMachine.objects.all():
        snap.servers[vm.id] = {"name": vm.name, "state": vm.operstate, "deleted": vm.deleted,
                               "task": vm.task, "nics": nics.get(vm.id, []),
                               "job": vm.backendjobid}
    jobs = {}
    for bn in BackendNetwork.objects.exclude(backendjobid=None):
        jobs[bn.network_id] = bn.backendjobid
    for net in Network.objects.all():
        snap.networks[net.id] = {"name": net.name, "state": net.state, "deleted": net.deleted,
                                 "public": net.public, "type": net.type, "link": net.link,
                                 "mac_prefix": net.mac_prefix, "action": net.action,
                                 "job": jobs.get(net.id)}
    snap.pending_nics = [(p.machine_id, p.network_id, p.ipv4) for p in PendingNic.objects.all()]
    snap.pools["bridge"] = set().union(*[_allocated(BridgePool(r)) for r in BridgePoolTable.objects.all()])
    snap.pools["mac-prefix"] = set().union(*[_allocated(MacPrefixPool(r))
                                             for r in MacPrefixPoolTable.objects.all()])
    snap.pools["ip"] = {}
    for row in IPPoolTable.objects.select_related("network").exclude(network=None):
        snap.pools["ip"][row.network_id] = _allocated(IPPool(row, row.network))
    connection.close()


def read_ganeti(snap, rapi, prefix_id):
    for inst in rapi.get_instances(bulk=True):
        if not inst["name"].startswith(prefix_id):
            continue
        nets = [names.network_id_of(prefix_id, n or "") for n in inst.get("nic.networks.names") or []]
        snap.instances[inst["name"]] = {"running": bool(inst.get("oper_state")),
                                        "nics": list(zip(nets, inst.get("nic.ips") or [], strict=False))}
    for job in rapi.get_jobs(bulk=True):
        for op in job.get("ops") or []:
            name = op.get("instance_name")
            if isinstance(name, str) and name.startswith(prefix_id):
                snap.jobs.append((name, op.get("OP_ID")))
    snap.ganeti_networks = {n["name"] for n in rapi.get_networks(bulk=True)
                            if n["name"].startswith(prefix_id)}


def read_queues(snap, broker, prefix_id):
    """Ready messages of every dispatcher queue, and the headers of every dead
    letter (read without acknowledging: they return to their queue)."""
    from synnefo.logic import dispatcher, queues
    from synnefo.messaging.client import NoSuchQueue

    prefix = dispatcher.backend_prefix(prefix_id)
    for kind in names.QUEUE_KINDS:
        queue = names.queue_name(prefix, kind)
        try:
            snap.queues[queue] = broker.message_count(queue)
        except NoSuchQueue:
            snap.queues[queue] = 0
    for dead in queues.dead_letter_queues(prefix_id):
        try:
            for item in queues.peek(broker, dead):
                snap.dead_letters.append((dead, item["headers"]))
        except NoSuchQueue:
            pass


def read_processes(snap, deployment):
    for name, proc in deployment.processes:
        snap.processes[name] = proc.poll() is None
    snap.api_workers = len(child_pids(deployment.process("api").pid))


def take(deployment, prefix_id, with_queues=True):
    """A :class:`Snapshot`; a part that cannot be read is named in ``errors``."""
    from django.conf import settings
    from synnefo.messaging.client import Broker

    snap = Snapshot()
    read_processes(snap, deployment)
    parts = [("database", lambda: read_database(snap))]
    parts.append(("Ganeti", lambda: _with_rapi(deployment, lambda r: read_ganeti(snap, r, prefix_id))))
    if with_queues:
        parts.append(("broker", lambda: _with_broker(Broker.from_settings(settings),
                                                     lambda b: read_queues(snap, b, prefix_id))))
    for what, read in parts:
        try:
            read()
        except Exception as exc:  # noqa: BLE001 - reported as a finding, the run goes on
            snap.errors.append(f"cannot read {what}: {type(exc).__name__}: {exc}"[:300])
    return snap


def _with_rapi(deployment, action):
    with deployment.rapi_client(timeout=10, retries=0) as rapi:
        action(rapi)


def _with_broker(broker, action):
    try:
        action(broker)
    finally:
        broker.close()
