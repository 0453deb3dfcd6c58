"""The simulated cluster: one node, one node group, instances, networks, tags.

Plain dicts inside, persisted as ``<state-dir>/state.json`` (written
atomically after every change). Every method expects the caller to hold
``cluster.lock``; the RAPI views return fresh copies shaped like Ganeti 3.0's
answers.
"""

import ipaddress
import json
import os
import random
import threading
import time
import uuid

from synnefo.tools.ganeti_sim.files import write_json

STATE_FILE = "state.json"
STATE_VERSION = 1
GROUP_NAME = "default"
FIRST_CONSOLE_PORT = 11000
BE_DEFAULTS = {"minmem": 128, "maxmem": 128, "vcpus": 1, "auto_balance": True,
               "always_failover": False, "spindle_use": 1}
SOFTWARE_VERSION = "3.0.2"


def _new_uuid():
    return str(uuid.uuid4())


class Cluster:
    """State of the whole simulated cluster."""

    def __init__(self, name, node_name, state_dir, node_memory=32768, node_disk=1048576, node_cpus=16,
                 hypervisor="kvm", default_bridge="br0", os_names=("snf-image", "noop")):
        self.lock = threading.RLock()
        self.name = name
        self.node_name = node_name
        self.state_dir = state_dir
        self.node_memory = node_memory
        self.node_disk = node_disk
        self.node_cpus = node_cpus
        self.hypervisor = hypervisor
        self.default_bridge = default_bridge
        self.os_names = list(os_names)
        self.uuid = _new_uuid()
        self.node_uuid = _new_uuid()
        self.group_uuid = _new_uuid()
        self.ctime = time.time()
        self.mtime = self.ctime
        self.instances = {}
        self.networks = {}
        self.tags = []
        self.next_job_id = 1
        # Where instance consoles are served (the VNC address), and a check
        # that a port can be listened on there; set by the VNC servers.
        self.console_host = None
        self.console_port_free = None

    # -- persistence -------------------------------------------------------

    @property
    def state_path(self):
        return os.path.join(self.state_dir, STATE_FILE)

    def to_dict(self):
        return {"version": STATE_VERSION, "cluster_uuid": self.uuid, "node_uuid": self.node_uuid,
                "group_uuid": self.group_uuid, "ctime": self.ctime, "mtime": self.mtime,
                "tags": self.tags, "next_job_id": self.next_job_id,
                "instances": self.instances, "networks": self.networks}

    def save(self):
        write_json(self.state_path, self.to_dict(), mode=0o600)

    def load(self):
        """Read the state file if there is one; a broken file is an error."""
        if not os.path.exists(self.state_path):
            return False
        with open(self.state_path) as handle:
            try:
                data = json.load(handle)
            except ValueError as exc:
                raise ValueError("%s is not valid JSON: %s" % (self.state_path, exc)) from None
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            raise ValueError("%s is not a simulator state file (version %s)"
                             % (self.state_path, STATE_VERSION))
        self.uuid = data["cluster_uuid"]
        self.node_uuid = data["node_uuid"]
        self.group_uuid = data["group_uuid"]
        self.ctime, self.mtime = data["ctime"], data["mtime"]
        self.tags = list(data["tags"])
        self.next_job_id = int(data["next_job_id"])
        self.instances = dict(data["instances"])
        self.networks = dict(data["networks"])
        return True

    def allocate_job_id(self):
        job_id = self.next_job_id
        self.next_job_id += 1
        self.save()
        return job_id

    # -- resources ---------------------------------------------------------

    def memory_used(self, exclude=None):
        return sum(inst["beparams"]["maxmem"] for name, inst in self.instances.items()
                   if inst["oper_state"] and name != exclude)

    def disk_used(self):
        return sum(d["size"] for inst in self.instances.values() for d in inst["disks"])

    def free_console_port(self):
        used = {inst.get("network_port") for inst in self.instances.values()}
        port = FIRST_CONSOLE_PORT
        while port in used or (self.console_port_free and not self.console_port_free(port)):
            port += 1
        return port

    def new_mac(self, prefix=None, used=()):
        used = {nic["mac"] for inst in self.instances.values() for nic in inst["nics"]} | set(used)
        prefix = prefix or "aa:00:00"
        for _ in range(10000):
            mac = "%s:%02x:%02x:%02x" % (prefix, random.randrange(256), random.randrange(256),
                                         random.randrange(256))
            if mac not in used:
                return mac
        raise RuntimeError("no free MAC address with prefix %s" % prefix)

    def network_by_uuid(self, net_uuid):
        for net in self.networks.values():
            if net["uuid"] == net_uuid:
                return net
        return None

    def network_instances(self, net):
        return sorted(name for name, inst in self.instances.items()
                      if any(nic.get("network") == net["uuid"] for nic in inst["nics"]))

    def network_used_ips(self, net, exclude_instance=None):
        return {nic["ip"] for name, inst in self.instances.items() if name != exclude_instance
                for nic in inst["nics"] if nic.get("network") == net["uuid"] and nic.get("ip")}

    # -- RAPI views ----------------------------------------------------------

    def info(self):
        return {
            "software_version": SOFTWARE_VERSION, "protocol_version": 3000000, "config_version": 3000000,
            "os_api_version": 20, "export_version": 0,
            "vcs_version": "(snf-ganeti-sim) version %s" % SOFTWARE_VERSION,
            "architecture": ["64bits", "x86_64"], "name": self.name, "master": self.node_name,
            "default_hypervisor": self.hypervisor, "enabled_hypervisors": [self.hypervisor],
            "hvparams": {self.hypervisor: {}}, "os_hvp": {}, "osparams": {},
            "beparams": {"default": dict(BE_DEFAULTS, memory=BE_DEFAULTS["maxmem"])},
            "nicparams": {"default": {"mode": "bridged", "link": self.default_bridge, "vlan": ""}},
            "ndparams": {"exclusive_storage": False, "oob_program": "", "spindle_count": 1},
            "ipolicy": {"minmax": [{"min": {"memory-size": 128, "disk-size": 1024},
                                    "max": {"memory-size": 32768, "disk-size": 1048576}}]},
            "candidate_pool_size": 10, "master_netdev": "lo", "master_netmask": 32,
            "default_iallocator": "hail", "enabled_disk_templates": ["diskless", "file", "plain",
                                                                     "sharedfile", "ext"],
            "ctime": self.ctime, "mtime": self.mtime, "uuid": self.uuid, "tags": list(self.tags),
        }

    def node_view(self):
        mem_used = self.memory_used()
        disk_used = self.disk_used()
        pinst = sorted(self.instances)
        return {
            "name": self.node_name, "uuid": self.node_uuid, "group.uuid": self.group_uuid,
            "mtotal": self.node_memory, "mnode": 1024, "mfree": max(0, self.node_memory - mem_used),
            "dtotal": self.node_disk, "dfree": max(0, self.node_disk - disk_used),
            "ctotal": self.node_cpus, "cnodes": 1, "csockets": 1,
            "pinst_cnt": len(pinst), "pinst_list": pinst, "sinst_cnt": 0, "sinst_list": [],
            "offline": False, "drained": False, "master_candidate": True, "master_capable": True,
            "vm_capable": True, "role": "M", "pip": "127.0.0.1", "sip": "127.0.0.1",
            "ctime": self.ctime, "mtime": self.mtime, "serial_no": 1, "tags": [],
        }

    def group_view(self):
        return {
            "name": GROUP_NAME, "uuid": self.group_uuid, "alloc_policy": "preferred",
            "node_cnt": 1, "node_list": [self.node_name],
            "networks": sorted(n["name"] for n in self.networks.values() if GROUP_NAME in n["groups"]),
            "ctime": self.ctime, "mtime": self.mtime, "serial_no": 1, "tags": [],
        }

    def instance_view(self, inst):
        be = dict(BE_DEFAULTS)
        be.update(inst["beparams"])
        be["memory"] = be["maxmem"]
        nics = inst["nics"]
        nets = [self.network_by_uuid(nic["network"]) if nic.get("network") else None for nic in nics]
        running = inst["oper_state"]
        if inst["admin_state"] == "up":
            status = "running" if running else "ERROR_down"
        else:
            status = "ERROR_up" if running else "ADMIN_down"
        return {
            "name": inst["name"], "admin_state": inst["admin_state"], "os": inst["os"],
            "pnode": self.node_name, "snodes": [], "disk_template": inst["disk_template"],
            "nic.ips": [nic.get("ip") for nic in nics], "nic.macs": [nic["mac"] for nic in nics],
            "nic.modes": [nic["mode"] for nic in nics], "nic.uuids": [nic["uuid"] for nic in nics],
            "nic.names": [nic.get("name") for nic in nics], "nic.links": [nic["link"] for nic in nics],
            "nic.networks": [nic.get("network") for nic in nics],
            "nic.networks.names": [net["name"] if net else None for net in nets],
            "nic.bridges": [nic["link"] if nic["mode"] == "bridged" else None for nic in nics],
            "network_port": inst.get("network_port"),
            "disk.sizes": [d["size"] for d in inst["disks"]],
            "disk.spindles": [None for _ in inst["disks"]],
            "disk_usage": sum(d["size"] for d in inst["disks"]),
            "disk.uuids": [d["uuid"] for d in inst["disks"]],
            "disk.names": [d.get("name") for d in inst["disks"]],
            "beparams": be, "hvparams": dict(inst["hvparams"]),
            "oper_state": running, "oper_ram": be["maxmem"] if running else None,
            "oper_vcpus": be["vcpus"] if running else None, "status": status,
            "custom_hvparams": dict(inst["hvparams"]), "custom_beparams": dict(inst["beparams"]),
            "custom_nicparams": [{k: nic[k] for k in ("mode", "link") if not nic.get("network")}
                                 for nic in nics],
            "ctime": inst["ctime"], "mtime": inst["mtime"], "uuid": inst["uuid"],
            "serial_no": inst["serial_no"], "tags": list(inst["tags"]),
        }

    def network_view(self, net):
        subnet = ipaddress.ip_network(net["network"])
        used = self.network_used_ips(net)
        reserved = set(net["reservations"])
        addresses = list(subnet)
        bitmap = "".join("X" if str(a) in used or str(a) in reserved else "." for a in addresses)
        taken = bitmap.count("X")
        return {
            "name": net["name"], "network": net["network"], "gateway": net["gateway"],
            "network6": net["network6"], "gateway6": net["gateway6"], "mac_prefix": net["mac_prefix"],
            "free_count": len(addresses) - taken, "reserved_count": taken, "map": bitmap,
            "group_list": [[group, mode, link, vlan]
                           for group, (mode, link, vlan) in sorted(net["groups"].items())],
            "inst_list": self.network_instances(net),
            "external_reservations": ", ".join(sorted(reserved, key=ipaddress.ip_address)),
            "ctime": net["ctime"], "mtime": net["mtime"], "uuid": net["uuid"],
            "serial_no": net["serial_no"], "tags": list(net["tags"]),
        }

    def touch(self, obj):
        obj["mtime"] = time.time()
        obj["serial_no"] = obj.get("serial_no", 0) + 1
