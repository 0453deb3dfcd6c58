"""The end-state checks of the chaos suite: pure functions of a snapshot
(:mod:`chaos_state`) and the requests made so far (:mod:`chaos_load`).

Each returns :class:`Finding` objects. A finding is either *unsettled* (the
system is still working on it: a server in BUILD or with a task, a network
PENDING, messages waiting in a queue) or a *violation*. The checker waits
for the unsettled ones to go; whatever remains at the end of a phase's
recovery time counts as a violation too.
"""

from collections import Counter
from dataclasses import dataclass

from chaos_load import NAME_PREFIX

# A server's operstate and whether its instance must be running in Ganeti.
RUNNING = {"STARTED": True, "STOPPED": False}
DEAD_LETTER_REASONS = ("x-death-reason", "x-death")


@dataclass(frozen=True)
class Finding:
    kind: str
    key: str          # what it is about (dedupes a finding across phases)
    text: str
    unsettled: bool = False


def _ours(name):
    return isinstance(name, str) and name.startswith(NAME_PREFIX)


def took_effect(obj):
    """Did this object ever exist for its owner? A row the API undid itself
    (deleted, its create never submitted to Ganeti) did not."""
    return not obj["deleted"] or obj.get("job", True) is not None


def check_creates(requests, objects, op, what):
    """Every accepted (202) create made exactly one object of its name; a
    refused or unanswered one made none that took effect."""
    found = []
    by_name = Counter(o["name"] for o in objects.values() if _ours(o["name"]))
    effective = Counter(o["name"] for o in objects.values() if _ours(o["name"]) and took_effect(o))
    asked = {}
    for request in requests:
        if request.op == op:
            asked[request.target] = request
    for name, request in asked.items():
        made = by_name.get(name, 0)
        if request.ok and made != 1:
            found.append(Finding(f"{op}-{'lost' if made == 0 else 'duplicated'}", name,
                                 f"{what} {name}: answered {request.outcome}, {made} made"))
        elif not request.ok and effective.get(name):
            states = sorted(o["state"] for o in objects.values() if o["name"] == name)
            found.append(Finding(f"{op}-unacknowledged", name,
                                 f"{what} {name}: answered {request.outcome} but {made} made "
                                 f"({', '.join(states)}): the client cannot know it exists"))
    for name, count in by_name.items():
        if name not in asked:
            found.append(Finding(f"{op}-unknown", name, f"{what} {name}: {count} made, never asked for"))
    return found


def check_deletes(requests, servers, networks):
    """Every accepted delete (204) ended in a deleted object."""
    found = []
    for request in requests:
        if not request.ok or request.op not in ("delete", "net-delete"):
            continue
        table, what = (servers, "server") if request.op == "delete" else (networks, "network")
        obj = table.get(int(request.target))
        if obj is None:
            found.append(Finding("delete-unknown", f"{what}-{request.target}",
                                 f"{what} {request.target}: deleted (204) but not in the database"))
        elif not obj["deleted"]:
            found.append(Finding(f"{request.op}-pending", f"{what}-{request.target}",
                                 f"{what} {request.target}: delete accepted, still {obj['state']}",
                                 unsettled=True))
    return found


# The Ganeti job each accepted request of the load submits, one per request.
# (Deletes are checked by their effect, check_deletes: a server without an
# instance is deleted without a job, and reconciliation removes instances too.)
ACTION_OPCODES = {"start": "OP_INSTANCE_STARTUP", "stop": "OP_INSTANCE_SHUTDOWN",
                  "reboot": "OP_INSTANCE_REBOOT", "connect": "OP_INSTANCE_SET_PARAMS",
                  "disconnect": "OP_INSTANCE_SET_PARAMS"}


def _may_have_reached(request):
    """A request that got no definite refusal (2xx, 5xx, no answer): it may have a job."""
    return request.ok or not (isinstance(request.outcome, int) and 400 <= request.outcome < 500)


def check_actions(requests, jobs, prefix_id):
    """Every accepted action, connect and disconnect made exactly one
    Ganeti job of its kind on its server (``jobs``: (instance, opcode) pairs),
    and no server got more such jobs than requests that may have reached
    Ganeti. A job made by a request answered 5xx or unanswered is not a
    violation: the answer said the outcome was unknown, and a poll shows it."""
    accepted, possible = Counter(), Counter()
    for request in requests:
        opcode = ACTION_OPCODES.get(request.op)
        if opcode is None:
            continue
        key = (f"{prefix_id}{request.target}", opcode)
        accepted[key] += request.ok
        possible[key] += _may_have_reached(request)
    made = Counter(jobs)
    found = []
    for (name, opcode), count in sorted(accepted.items()):
        if made[(name, opcode)] < count:
            found.append(Finding("action-lost", f"{name}:{opcode}",
                                 f"instance {name}: {count} accepted request(s) for {opcode}, "
                                 f"{made[(name, opcode)]} job(s) in Ganeti"))
    for (name, opcode), count in sorted(made.items()):
        if opcode in ACTION_OPCODES.values() and count > possible[(name, opcode)]:
            found.append(Finding("action-duplicated", f"{name}:{opcode}",
                                 f"instance {name}: {count} {opcode} job(s) for "
                                 f"{possible[(name, opcode)]} request(s)"))
        if opcode == "OP_INSTANCE_CREATE" and count > 1:
            found.append(Finding("create-job-duplicated", name,
                                 f"instance {name}: {count} create jobs"))
    return found


def check_servers(servers, instances, prefix_id):
    """Every server's state and NICs equal its Ganeti instance's; no instance without a server."""
    found = []
    owned = set()
    for sid, server in sorted(servers.items()):
        name = f"{prefix_id}{sid}"
        inst = instances.get(name)
        key = f"server-{sid}"
        owned.add(name)  # a deleted one's instance is reported below, not as an orphan
        if server["deleted"]:
            if inst is not None:
                found.append(Finding("server-deleted-but-in-ganeti", key,
                                     f"server {sid} is deleted, instance {name} still in Ganeti",
                                     unsettled=True))
            continue
        if server["task"] or server["state"] == "BUILD":
            found.append(Finding("server-busy", key, f"server {sid}: {server['state']}, "
                                 f"task {server['task']}", unsettled=True))
            continue
        if server["state"] == "ERROR":
            if inst is not None and inst["running"]:
                found.append(Finding("server-state", key, f"server {sid}: ERROR, instance running"))
            continue
        if inst is None:
            found.append(Finding("server-missing-in-ganeti", key,
                                 f"server {sid}: {server['state']}, no instance {name} in Ganeti"))
            continue
        want = RUNNING.get(server["state"])
        if want is None or want != inst["running"]:
            found.append(Finding("server-state", key, f"server {sid}: {server['state']}, instance "
                                 f"{'running' if inst['running'] else 'down'}"))
        if sorted(server["nics"], key=str) != sorted(inst["nics"], key=str):
            found.append(Finding("server-nics", key, f"server {sid}: NICs {server['nics']} in the "
                                 f"database, {inst['nics']} in Ganeti"))
    for name in sorted(set(instances) - owned):
        found.append(Finding("orphan-instance", name, f"instance {name}: in Ganeti, no server owns it"))
    return found


def check_networks(networks, ganeti_networks, prefix_id):
    """Every network's state equals Ganeti's; no Ganeti network without one."""
    found = []
    owned = set()
    for nid, net in sorted(networks.items()):
        name = f"{prefix_id}net-{nid}"
        key = f"network-{nid}"
        present = name in ganeti_networks
        owned.add(name)
        if net["deleted"]:
            if present:
                found.append(Finding("network-deleted-but-in-ganeti", key,
                                     f"network {nid} is deleted, {name} still in Ganeti"))
            continue
        if net["state"] == "PENDING" or net["action"] == "DESTROY":
            found.append(Finding("network-busy", key, f"network {nid}: {net['state']}, action "
                                 f"{net['action']}", unsettled=True))
        elif net["state"] != "ACTIVE":
            found.append(Finding("network-state", key, f"network {nid}: {net['state']}"))
        elif not present:
            found.append(Finding("network-missing-in-ganeti", key,
                                 f"network {nid}: ACTIVE, {name} not in Ganeti"))
    for name in sorted(ganeti_networks - owned):
        found.append(Finding("orphan-network", name, f"network {name}: in Ganeti, no network owns it"))
    return found


def _compare(kind, key, allocated, in_use):
    found = []
    for value in sorted(allocated - in_use, key=str):
        found.append(Finding(f"leaked-{kind}", f"{key}:{value}",
                             f"{key}: {value} is allocated in the pool, used by nothing"))
    for value in sorted(in_use - allocated, key=str):
        found.append(Finding(f"unreserved-{kind}", f"{key}:{value}",
                             f"{key}: {value} is in use but free in the pool"))
    return found


def check_pools(snap):
    """The bridge, MAC-prefix and IP pools hold exactly the values in use."""
    live = {nid: n for nid, n in snap.networks.items() if not n["deleted"]}
    busy = {sid for sid, s in snap.servers.items() if s["task"] or s["state"] == "BUILD"}
    found = []
    bridges = {n["link"] for n in live.values() if n["type"] == "PRIVATE_PHYSICAL_VLAN"}
    found += _compare("bridge", "bridge pool", snap.pools.get("bridge", set()), bridges)
    prefixes = {n["mac_prefix"] for n in live.values() if n["type"] == "PRIVATE_MAC_FILTERED"}
    found += _compare("mac-prefix", "MAC-prefix pool", snap.pools.get("mac-prefix", set()), prefixes)
    in_use = {nid: set() for nid in live}
    for server in snap.servers.values():
        if not server["deleted"]:
            for nid, ip in server["nics"]:
                if ip and nid in in_use:
                    in_use[nid].add(ip)
    for sid, nid, ip in snap.pending_nics:
        if ip and nid in in_use:
            in_use[nid].add(ip)
        if sid not in busy:
            found.append(Finding("pending-nic-left", f"pending-{sid}-{nid}",
                                 f"server {sid}: a pending NIC on network {nid} ({ip}) with no "
                                 "job in flight"))
    for nid, allocated in snap.pools.get("ip", {}).items():
        if nid in live:
            found += _compare("ip", f"network {nid}", allocated, in_use[nid])
    return found


def check_messages(snap, dead_letters_before=0):
    """No message waiting in a dispatcher queue; every dead letter carries its reason."""
    found = []
    for queue, count in sorted(snap.queues.items()):
        if count:
            found.append(Finding("queue-not-empty", queue, f"{queue}: {count} message(s) waiting",
                                 unsettled=True))
    for number, (queue, headers) in enumerate(snap.dead_letters):
        if not any(headers.get(h) for h in DEAD_LETTER_REASONS):
            found.append(Finding("dead-letter-without-reason", f"{queue}#{number}",
                                 f"{queue}: a dead letter without a reason: {headers}"))
    return found


def check_daemons(snap, api_workers):
    found = []
    for name, alive in sorted(snap.processes.items()):
        if not alive:  # unsettled: a supervisor may be about to start it again
            found.append(Finding("daemon-dead", name, f"{name} is not running", unsettled=True))
    if snap.api_workers != api_workers:
        found.append(Finding("api-workers", "api-workers",
                             f"gunicorn has {snap.api_workers} worker(s), not {api_workers}",
                             unsettled=True))
    return found


def check_all(snap, requests, prefix_id, api_workers=2):
    """Every finding about ``snap`` (nothing else is read)."""
    if snap.errors:
        return [Finding("unreadable", e, e, unsettled=True) for e in snap.errors]
    return (check_creates(requests, snap.servers, "create", "server")
            + check_creates(requests, snap.networks, "net-create", "network")
            + check_deletes(requests, snap.servers, snap.networks)
            + check_actions(requests, snap.jobs, prefix_id)
            + check_servers(snap.servers, snap.instances, prefix_id)
            + check_networks(snap.networks, snap.ganeti_networks, prefix_id)
            + check_pools(snap)
            + check_messages(snap)
            + check_daemons(snap, api_workers))
