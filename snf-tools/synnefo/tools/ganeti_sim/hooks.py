"""Post hooks: ``<hooks-dir>/<path>-post.d/*`` with a Ganeti-like environment.

The environment mirrors what Ganeti 3.0 gives (see the captured samples):
general ``GANETI_*`` variables, the object's variables as they were before
the op and again, prefixed ``GANETI_POST_``, as they are after it; for
instance-modify both sets describe the instance after the change (Ganeti
builds its env from the planned NIC list in both phases). Unlike
Ganeti the hooks inherit the simulator's own environment (minus any
``GANETI_*``), so that tools find their settings.
"""

import logging
import os
import re
import subprocess

from synnefo.tools.ganeti_sim.cluster import GROUP_NAME

log = logging.getLogger(__name__)

HOOK_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]+$")
HOOK_TIMEOUT = 60
HOOKS_PATH_BY_OPCODE = {
    "OP_INSTANCE_CREATE": "instance-add", "OP_INSTANCE_REMOVE": "instance-remove",
    "OP_INSTANCE_STARTUP": "instance-start", "OP_INSTANCE_SHUTDOWN": "instance-stop",
    "OP_INSTANCE_REBOOT": "instance-reboot", "OP_INSTANCE_SET_PARAMS": "instance-modify",
    "OP_INSTANCE_RENAME": "instance-rename", "OP_NETWORK_ADD": "network-add",
    "OP_NETWORK_CONNECT": "network-connect", "OP_NETWORK_DISCONNECT": "network-disconnect",
    "OP_NETWORK_REMOVE": "network-remove", "OP_NETWORK_SET_PARAMS": "network-modify",
}


def instance_env(cluster, inst, status=None):
    """``INSTANCE_*`` variables (without the ``GANETI_`` prefix) of one instance."""
    be = {"minmem": 128, "maxmem": 128, "vcpus": 1, "auto_balance": True, "always_failover": False,
          "spindle_use": 1}
    be.update(inst["beparams"])
    env = {
        "INSTANCE_NAME": inst["name"], "INSTANCE_PRIMARY": cluster.node_name, "INSTANCE_SECONDARIES": "",
        "INSTANCE_OS_TYPE": inst["os"], "INSTANCE_STATUS": status or inst["admin_state"],
        "INSTANCE_MAXMEM": str(be["maxmem"]), "INSTANCE_MINMEM": str(be["minmem"]),
        "INSTANCE_MEMORY": str(be["maxmem"]), "INSTANCE_VCPUS": str(be["vcpus"]),
        "INSTANCE_DISK_TEMPLATE": inst["disk_template"], "INSTANCE_HYPERVISOR": cluster.hypervisor,
        "INSTANCE_DISK_COUNT": str(len(inst["disks"])), "INSTANCE_NIC_COUNT": str(len(inst["nics"])),
        "INSTANCE_TAGS": " ".join(inst["tags"]), "INSTANCE_HV_migration_mode": "live",
    }
    for key, value in be.items():
        env["INSTANCE_BE_%s" % key] = str(value)
    for key, value in inst["hvparams"].items():
        env["INSTANCE_HV_%s" % key] = str(value)
    for index, disk in enumerate(inst["disks"]):
        env["INSTANCE_DISK%d_SIZE" % index] = str(disk["size"])
        env["INSTANCE_DISK%d_UUID" % index] = disk["uuid"]
        env["INSTANCE_DISK%d_MODE" % index] = "rw"
    for index, nic in enumerate(inst["nics"]):
        prefix = "INSTANCE_NIC%d_" % index
        env[prefix + "MAC"] = nic["mac"]
        env[prefix + "IP"] = nic.get("ip") or ""
        env[prefix + "MODE"] = nic["mode"]
        env[prefix + "LINK"] = nic["link"]
        env[prefix + "UUID"] = nic["uuid"]
        env[prefix + "VLAN"] = nic.get("vlan") or ""
        if nic.get("name"):
            env[prefix + "NAME"] = nic["name"]
        if nic["mode"] == "bridged":
            env[prefix + "BRIDGE"] = nic["link"]
        net = cluster.network_by_uuid(nic["network"]) if nic.get("network") else None
        if net is not None:
            env[prefix + "NETWORK_NAME"] = net["name"]
            env[prefix + "NETWORK_UUID"] = net["uuid"]
            env[prefix + "NETWORK_SUBNET"] = net["network"]
            for key, var in (("gateway", "GATEWAY"), ("network6", "SUBNET6"), ("gateway6", "GATEWAY6"),
                             ("mac_prefix", "MAC_PREFIX")):
                if net.get(key):
                    env[prefix + "NETWORK_" + var] = net[key]
            if net["tags"]:
                env[prefix + "NETWORK_TAGS"] = " ".join(net["tags"])
    return env


def network_env(net):
    env = {"NETWORK_NAME": net["name"], "NETWORK_UUID": net["uuid"], "NETWORK_SUBNET": net["network"],
           "NETWORK_TAGS": " ".join(net["tags"])}
    for key, var in (("gateway", "GATEWAY"), ("network6", "SUBNET6"), ("gateway6", "GATEWAY6"),
                     ("mac_prefix", "MAC_PREFIX")):
        if net.get(key):
            env["NETWORK_" + var] = net[key]
    return env


def op_env(op):
    """Opcode-specific variables (as Ganeti's LUs add them)."""
    op_id = op["OP_ID"]
    if op_id == "OP_INSTANCE_CREATE":
        return {"ADD_MODE": "create"}
    if op_id == "OP_INSTANCE_STARTUP":
        return {"FORCE": str(bool(op.get("force")))}
    if op_id == "OP_INSTANCE_SHUTDOWN":
        return {"TIMEOUT": str(op.get("timeout", 120))}
    if op_id == "OP_INSTANCE_REBOOT":
        return {"IGNORE_SECONDARIES": str(bool(op.get("ignore_secondaries"))),
                "REBOOT_TYPE": op.get("reboot_type", "hard"),
                "SHUTDOWN_TIMEOUT": str(op.get("shutdown_timeout", 120))}
    if op_id == "OP_INSTANCE_RENAME":
        return {"INSTANCE_NEW_NAME": op["new_name"]}
    if op_id in ("OP_NETWORK_CONNECT", "OP_NETWORK_DISCONNECT"):
        env = {"GROUP_NAME": op["group_name"]}
        if op_id == "OP_NETWORK_CONNECT":
            env.update(GROUP_NETWORK_MODE=op["network_mode"], GROUP_NETWORK_LINK=op["network_link"],
                       GROUP_NETWORK_VLAN=op.get("network_vlan") or "")
        return env
    return {}


def build_env(cluster, op, hooks_path, hooks_dir, before, after):
    """The full hook environment. ``before``/``after``: object variables
    (unprefixed) before and after the op; either may be empty."""
    obj_type = "NETWORK" if hooks_path.startswith("network-") else "INSTANCE"
    target = op.get("instance_name") or op.get("network_name") or cluster.name
    specific = op_env(op)
    env = {"CLUSTER": cluster.name, "MASTER": cluster.node_name, "DATA_DIR": hooks_dir,
           "HOOKS_PATH": hooks_path, "HOOKS_PHASE": "post", "HOOKS_VERSION": "2",
           "OBJECT_TYPE": obj_type, "OP_CODE": op["OP_ID"]}
    if obj_type == "INSTANCE":
        env["OP_TARGET"] = target
    pre = dict(before)
    pre.update(specific)
    env.update(pre)
    post = dict(after)
    post.update(specific)
    if obj_type == "INSTANCE":
        post["OP_TARGET"] = op.get("new_name") or target
    env.update({"POST_" + key: value for key, value in post.items()})
    if op["OP_ID"] in ("OP_NETWORK_CONNECT", "OP_NETWORK_DISCONNECT") and GROUP_NAME:
        env.setdefault("GROUP_NAME", op["group_name"])
    return {"GANETI_" + key: str(value) for key, value in env.items()}


def hook_scripts(hooks_dir, hooks_path):
    directory = os.path.join(hooks_dir, "%s-post.d" % hooks_path)
    if not os.path.isdir(directory):
        return []
    scripts = []
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if HOOK_NAME_RE.match(name) and os.path.isfile(path) and os.access(path, os.X_OK):
            scripts.append((name, path))
    return scripts


def run_hooks(hooks_dir, hooks_path, env, job_log):
    """Run every hook of ``<hooks_path>-post.d``; each exit status goes to the
    simulator log and, when not 0, as a warning line to the job's log."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("GANETI_")}
    base.update(env)
    base["PWD"] = "/"
    results = []
    for name, path in hook_scripts(hooks_dir, hooks_path):
        where = "%s-post.d/%s" % (hooks_path, name)
        try:
            proc = subprocess.run([path], env=base, cwd="/", stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=HOOK_TIMEOUT)
            status = proc.returncode
            output = (proc.stdout + proc.stderr).decode("utf-8", "replace").strip()
        except subprocess.TimeoutExpired:
            status, output = None, "timed out after %ss" % HOOK_TIMEOUT
        except OSError as exc:
            status, output = None, str(exc)
        log.info("hook %s (%s): exit status %s", where, env.get("GANETI_OP_CODE"), status)
        if status != 0:
            job_log(" - WARNING: Hook %s failed (exit status %s): %s" % (where, status, output[-500:]))
        results.append((where, status))
    return results
