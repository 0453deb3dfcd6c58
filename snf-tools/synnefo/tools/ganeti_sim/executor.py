"""What each opcode does to the cluster.

An :class:`Operation` has ``check()`` (raise :class:`OpError` when Ganeti's
prerequisites fail, no change) and ``apply()`` (change the cluster, return
the op result). Both run with ``cluster.lock`` held; the job runs ``check``
when the op starts and ``check`` + ``apply`` again at its end. ``log`` adds a
line to the op's log. ``hooks_path`` names the post-hook directory.
"""

import ipaddress
import re
import time
import uuid

from synnefo.tools.ganeti_sim.cluster import GROUP_NAME
from synnefo.tools.ganeti_sim.errors import OpError, prereq

TAG_RE = re.compile(r"^[\w.+*/:@-]{1,128}$")
MAC_RE = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")
MAC_PREFIX_RE = re.compile(r"^([0-9a-f]{2}:){2}[0-9a-f]{2}$")
MIN_MEMORY, MAX_MEMORY, MIN_DISK = 128, 32768, 1024
DISK_TEMPLATES = ("diskless", "plain", "file", "sharedfile", "ext", "rbd", "blockdev")


class Operation:
    hooks_path = None
    # Ganeti describes some objects in both hook phases as they are after the
    # op (instance-modify: the NIC list after the change, samples README).
    hooks_env_after_change = False

    def __init__(self, cluster, op_input, log):
        self.cluster = cluster
        self.op = op_input
        self.log = log

    def check(self):
        raise NotImplementedError

    def apply(self):
        raise NotImplementedError


# -- helpers -----------------------------------------------------------------

def _instance(cluster, name):
    inst = cluster.instances.get(name)
    if inst is None:
        raise prereq("Instance '%s' not known" % name, "unknown_entity")
    return inst


def _network(cluster, name):
    net = cluster.networks.get(name)
    if net is None:
        raise prereq("Network '%s' not found" % name, "unknown_entity")
    return net


def _need_memory(cluster, inst_name, maxmem):
    free = cluster.node_memory - cluster.memory_used(exclude=inst_name)
    if maxmem > free:
        raise prereq("Not enough memory on node %s for starting instance %s: needed %s MiB, available %s MiB"
                     % (cluster.node_name, inst_name, maxmem, free), "insufficient_resources")


def _check_os(cluster, os_type):
    base = (os_type or "").split("+", 1)[0]
    if base not in cluster.os_names:
        raise prereq("OS '%s' not in supported OS list for primary node %s" % (os_type, cluster.node_name),
                     "environment_error")


def _check_tags(tags):
    for tag in tags:
        if not TAG_RE.match(tag):
            raise prereq("Invalid tag name %r (1-128 letters, digits and .+*/:@-_)" % tag, "wrong_input")


def _parse_ip(text, what):
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise prereq("Invalid %s address '%s'" % (what, text), "wrong_input") from None


class NicResolver:
    """Turns requested NIC parameters into a stored NIC (mode, link, IP, MAC).

    ``kept``: the instance's other NICs after the change; their IPs and MACs
    count as taken, the instance's current NICs do not (they may be replaced).
    """

    def __init__(self, cluster, instance_name, log):
        self.cluster = cluster
        self.instance_name = instance_name
        self.log = log

    def resolve(self, params, kept=()):
        cluster = self.cluster
        net = None
        if params.get("network"):
            net = _network(cluster, params["network"])
            conn = net["groups"].get(GROUP_NAME)
            if conn is None:
                raise prereq("Network '%s' is not connected to node group '%s'" % (net["name"], GROUP_NAME),
                             "wrong_input")
            if params.get("mode") or params.get("link"):
                raise prereq("If network is given, mode or link should not", "wrong_input")
            mode, link, vlan = conn
        else:
            mode = params.get("mode") or "bridged"
            link = params.get("link") or (cluster.default_bridge if mode == "bridged" else "100")
            vlan = params.get("vlan") or ""
        ip = params.get("ip")
        if ip in ("", "none", "None"):
            ip = None
        if ip == "pool":
            if net is None:
                raise prereq("if ip=pool, parameter network must be passed", "wrong_input")
            ip = self._from_pool(net, kept)
        elif ip is not None:
            _parse_ip(ip, "IP")
            if net is not None:
                if ipaddress.ip_address(ip) not in ipaddress.ip_network(net["network"]):
                    raise prereq("IP address %s not in network %s (%s)" % (ip, net["name"], net["network"]),
                                 "wrong_input")
                if ip in self._used_ips(net, kept) or ip in net["reservations"]:
                    raise prereq("IP address %s already in use or reserved in network %s" % (ip, net["name"]),
                                 "not_unique")
        elif mode == "routed" and net is None:
            raise prereq("Routed nic mode requires an ip address", "wrong_input")
        used_macs = {n["mac"] for name, i in cluster.instances.items() if name != self.instance_name
                     for n in i["nics"]} | {n["mac"] for n in kept}
        mac = params.get("mac")
        if mac in (None, "auto", "generate"):
            mac = cluster.new_mac(net["mac_prefix"] if net else None, used_macs)
        else:
            mac = mac.lower()
            if not MAC_RE.match(mac):
                raise prereq("Invalid MAC address '%s'" % mac, "wrong_input")
            if mac in used_macs:
                raise prereq("MAC address %s already in use in cluster" % mac, "not_unique")
        return {"mac": mac, "ip": ip, "mode": mode, "link": link, "vlan": vlan,
                "network": net["uuid"] if net else None, "name": params.get("name"),
                "uuid": str(uuid.uuid4())}

    def _used_ips(self, net, kept):
        return (self.cluster.network_used_ips(net, exclude_instance=self.instance_name)
                | {n["ip"] for n in kept if n.get("network") == net["uuid"] and n.get("ip")})

    def _from_pool(self, net, kept):
        used = self._used_ips(net, kept) | set(net["reservations"])
        for address in ipaddress.ip_network(net["network"]).hosts():
            if str(address) not in used:
                self.log(" - INFO: Chose IP %s from network %s" % (address, net["name"]))
                return str(address)
        raise prereq("Cannot allocate IP from network %s: no free address" % net["name"],
                     "insufficient_resources")


# -- instance opcodes ----------------------------------------------------------

class InstanceCreate(Operation):
    hooks_path = "instance-add"

    def check(self):
        op, cluster = self.op, self.cluster
        name = op["instance_name"]
        if name in cluster.instances:
            raise prereq("Instance '%s' is already in the cluster" % name, "already_exists")
        if op.get("pnode") and op["pnode"] != cluster.node_name:
            raise prereq("Node '%s' not known" % op["pnode"], "unknown_entity")
        if op.get("hypervisor") and op["hypervisor"] != cluster.hypervisor:
            raise prereq("Selected hypervisor (%s) not enabled in the cluster (%s)"
                         % (op["hypervisor"], cluster.hypervisor), "wrong_input")
        if op["disk_template"] not in DISK_TEMPLATES:
            raise prereq("Disk template %s is not supported by the single-node simulator (use one of %s)"
                         % (op["disk_template"], ", ".join(DISK_TEMPLATES)), "wrong_input")
        if op["os_type"]:
            _check_os(cluster, op["os_type"])
        else:
            raise prereq("No OS given and no_install is set: Ganeti still needs an OS definition",
                         "wrong_input")
        _check_tags(op["tags"])
        be = self.beparams()
        disks = self.disks()
        if not op["ignore_ipolicy"]:
            if not MIN_MEMORY <= be["maxmem"] <= MAX_MEMORY:
                raise prereq("Instance allocation to group default violates policy: memory-size value %s "
                             "is not in range [%s, %s]" % (be["maxmem"], MIN_MEMORY, MAX_MEMORY),
                             "wrong_input")
            for disk in disks:
                if disk["size"] < MIN_DISK:
                    raise prereq("Instance allocation to group default violates policy: disk-size value %s "
                                 "is not in range [%s, 1048576]" % (disk["size"], MIN_DISK), "wrong_input")
        needed = sum(d["size"] for d in disks)
        free = cluster.node_disk - cluster.disk_used()
        if needed > free:
            raise prereq("Not enough disk space on target node %s: required %s MiB, available %s MiB"
                         % (cluster.node_name, needed, free), "insufficient_resources")
        if self.will_start():
            _need_memory(cluster, name, be["maxmem"])
        self.resolve_nics(NicResolver(cluster, name, lambda msg: None))

    def resolve_nics(self, resolver):
        nics = []
        for params in self.op["nics"]:
            nics.append(resolver.resolve(params, kept=nics))
        return nics

    def will_start(self):
        return bool(self.op["start"]) and not self.op.get("no_install")

    def beparams(self):
        be = {"minmem": 128, "maxmem": 128, "vcpus": 1}
        be.update(self.op["beparams"])
        be["minmem"] = min(be["minmem"], be["maxmem"])
        return be

    def disks(self):
        if self.op["disk_template"] == "diskless":
            return []
        return [{"size": d["size"], "name": d.get("name"), "uuid": str(uuid.uuid4())}
                for d in self.op["disks"]]

    def apply(self):
        op, cluster = self.op, self.cluster
        name = op["instance_name"]
        if op.get("no_install"):
            self.log(" - INFO: No-installation mode selected, disabling startup")
        nics = self.resolve_nics(NicResolver(cluster, name, self.log))
        disks = self.disks()
        if disks:
            self.log("* creating instance disks...")
        self.log("adding instance %s to cluster config" % name)
        now = time.time()
        start = self.will_start()
        cluster.instances[name] = {
            "name": name, "uuid": str(uuid.uuid4()), "os": op["os_type"],
            "disk_template": op["disk_template"],
            "disks": disks, "nics": nics, "beparams": {k: v for k, v in self.beparams().items()},
            "hvparams": dict(op["hvparams"]), "osparams": dict(op["osparams"]),
            "admin_state": "up" if start else "down", "oper_state": start,
            "network_port": cluster.free_console_port() if cluster.hypervisor == "kvm" else None,
            "ctime": now, "mtime": now, "serial_no": 1, "tags": list(op["tags"]),
        }
        if start:
            self.log("* starting instance...")
        return [cluster.node_name]


class InstanceRemove(Operation):
    hooks_path = "instance-remove"

    def check(self):
        _instance(self.cluster, self.op["instance_name"])

    def apply(self):
        del self.cluster.instances[self.op["instance_name"]]
        return None


class InstanceStartup(Operation):
    hooks_path = "instance-start"

    def check(self):
        inst = _instance(self.cluster, self.op["instance_name"])
        if not inst["oper_state"]:
            _need_memory(self.cluster, inst["name"], inst["beparams"]["maxmem"])

    def apply(self):
        inst = self.cluster.instances[self.op["instance_name"]]
        if inst["oper_state"]:
            self.log(" - INFO: Instance %s is already running" % inst["name"])
        if not self.op.get("no_remember"):
            inst["admin_state"] = "up"
        inst["oper_state"] = True
        self.cluster.touch(inst)
        return None


class InstanceShutdown(Operation):
    hooks_path = "instance-stop"

    def check(self):
        _instance(self.cluster, self.op["instance_name"])

    def apply(self):
        inst = self.cluster.instances[self.op["instance_name"]]
        if not inst["oper_state"]:
            self.log(" - INFO: Instance %s is already stopped" % inst["name"])
        if not self.op.get("no_remember"):
            inst["admin_state"] = "down"
        inst["oper_state"] = False
        self.cluster.touch(inst)
        return None


class InstanceReboot(Operation):
    hooks_path = "instance-reboot"

    def check(self):
        inst = _instance(self.cluster, self.op["instance_name"])
        if not inst["oper_state"]:
            _need_memory(self.cluster, inst["name"], inst["beparams"]["maxmem"])

    def apply(self):
        inst = self.cluster.instances[self.op["instance_name"]]
        inst["admin_state"] = "up"
        inst["oper_state"] = True
        self.cluster.touch(inst)
        return None


class InstanceSetParams(Operation):
    hooks_path = "instance-modify"
    hooks_env_after_change = True

    def check(self):
        self._plan(dry=True)

    def apply(self):
        return self._plan(dry=False)

    def _plan(self, dry):
        op, cluster = self.op, self.cluster
        inst = _instance(cluster, op["instance_name"])
        if not (op["nics"] or op["beparams"] or op["hvparams"] or op["os_name"] or op["osparams"]):
            raise prereq("No changes submitted", "wrong_input")
        changes = []
        nics = [dict(n) for n in inst["nics"]]
        resolver = NicResolver(cluster, inst["name"], (lambda msg: None) if dry else self.log)
        for action, index, params in op["nics"]:
            if action == "add":
                position = len(nics) if index == -1 else index
                if not 0 <= position <= len(nics):
                    raise prereq("Invalid NIC index %s (instance has %s NICs)" % (index, len(nics)),
                                 "wrong_input")
                nic = resolver.resolve(params, kept=nics)
                nics.insert(position, nic)
                net = cluster.network_by_uuid(nic["network"]) if nic["network"] else None
                described = (nic["mac"], nic["ip"], nic["mode"], nic["link"], net["name"] if net else None)
                changes.append(["nic.%d" % position,
                                "add:mac=%s,ip=%s,mode=%s,link=%s,network=%s" % described])
            else:
                position = len(nics) - 1 if index == -1 else index
                if not 0 <= position < len(nics):
                    raise prereq("Invalid NIC index %s (instance has %s NICs)" % (index, len(nics)),
                                 "wrong_input")
                if action == "remove":
                    nics.pop(position)
                    changes.append(["nic.%d" % position, "remove"])
                else:
                    nics[position] = self._modified_nic(resolver, nics, position, params)
                    changes.append(["nic.%d" % position, "modify:%s" % ",".join(
                        "%s=%s" % (k, v) for k, v in sorted(params.items()))])
        be = dict(inst["beparams"])
        be.update(op["beparams"])
        if op["beparams"]:
            be["minmem"] = min(be["minmem"], be["maxmem"])
            if not op["ignore_ipolicy"] and not MIN_MEMORY <= be["maxmem"] <= MAX_MEMORY:
                raise prereq("Instance modify violates policy: memory-size value %s is not in range [%s, %s]"
                             % (be["maxmem"], MIN_MEMORY, MAX_MEMORY), "wrong_input")
            changes.extend(["be/%s" % k, v] for k, v in sorted(op["beparams"].items()))
        if op["os_name"]:
            _check_os(cluster, op["os_name"])
            changes.append(["os", op["os_name"]])
        changes.extend(["hv/%s" % k, v] for k, v in sorted(op["hvparams"].items()))
        changes.extend(["os/%s" % k, v] for k, v in sorted(op["osparams"].items()))
        if dry:
            return changes
        inst["nics"] = nics
        inst["beparams"] = be
        inst["hvparams"].update(op["hvparams"])
        inst["osparams"].update(op["osparams"])
        if op["os_name"]:
            inst["os"] = op["os_name"]
        cluster.touch(inst)
        return changes


    def _modified_nic(self, resolver, nics, position, params):
        """NIC ``position`` with ``params`` applied; what is not given is kept."""
        old = nics[position]
        merged = {"ip": old.get("ip"), "mac": old["mac"], "name": old.get("name")}
        if not any(key in params for key in ("network", "mode", "link")):
            old_net = self.cluster.network_by_uuid(old["network"]) if old.get("network") else None
            if old_net is not None:
                merged["network"] = old_net["name"]
            else:
                merged.update(mode=old["mode"], link=old["link"], vlan=old.get("vlan"))
        merged.update(params)
        new = resolver.resolve(merged, kept=nics[:position] + nics[position + 1:])
        new["uuid"] = old["uuid"]
        return new


class InstanceRename(Operation):
    hooks_path = "instance-rename"

    def check(self):
        _instance(self.cluster, self.op["instance_name"])
        if self.op["new_name"] in self.cluster.instances:
            raise prereq("Instance '%s' is already in the cluster" % self.op["new_name"], "already_exists")

    def apply(self):
        inst = self.cluster.instances.pop(self.op["instance_name"])
        inst["name"] = self.op["new_name"]
        self.cluster.instances[inst["name"]] = inst
        self.cluster.touch(inst)
        return inst["name"]


class TagsChange(Operation):
    """OP_TAGS_SET / OP_TAGS_DEL on the cluster, an instance or a network."""

    def _owner(self):
        kind, name = self.op["kind"], self.op.get("name")
        if kind == "cluster":
            return None
        if kind == "instance":
            return _instance(self.cluster, name)
        if kind == "network":
            return _network(self.cluster, name)
        raise prereq("Tags of %s objects are not supported by the simulator" % kind, "wrong_input")

    def _tags(self):
        owner = self._owner()
        return self.cluster.tags if owner is None else owner["tags"]

    def check(self):
        _check_tags(self.op["tags"])
        tags = self._tags()
        if self.op["OP_ID"] == "OP_TAGS_DEL":
            missing = [t for t in self.op["tags"] if t not in tags]
            if missing:
                raise prereq("Tag(s) %s not found" % ", ".join("'%s'" % t for t in missing), "not_found")

    def apply(self):
        tags = self._tags()
        for tag in self.op["tags"]:
            if self.op["OP_ID"] == "OP_TAGS_SET" and tag not in tags:
                tags.append(tag)
            elif self.op["OP_ID"] == "OP_TAGS_DEL" and tag in tags:
                tags.remove(tag)
        owner = self._owner()
        if owner is not None:
            self.cluster.touch(owner)
        return None


class ClusterSetParams(Operation):
    def check(self):
        pass

    def apply(self):
        self.cluster.mtime = time.time()
        return None


# -- network opcodes -----------------------------------------------------------

def _check_subnet(text):
    try:
        subnet = ipaddress.ip_network(text, strict=True)
    except ValueError:
        raise prereq("Invalid network address '%s'" % text, "wrong_input") from None
    if subnet.version != 4:
        raise prereq("Network '%s' is not IPv4" % text, "wrong_input")
    if not 16 <= subnet.prefixlen <= 30:
        raise prereq("Network %s: only networks from /16 to /30 are supported" % text, "wrong_input")
    return subnet


def _check_v6(network6, gateway6):
    if network6:
        try:
            net6 = ipaddress.IPv6Network(network6, strict=True)
        except ValueError:
            raise prereq("Invalid IPv6 network '%s'" % network6, "wrong_input") from None
        if gateway6 and ipaddress.ip_address(gateway6) not in net6:
            raise prereq("IPv6 gateway %s is not in %s" % (gateway6, network6), "wrong_input")
    if gateway6:
        try:
            ipaddress.IPv6Address(gateway6)
        except ValueError:
            raise prereq("Invalid IPv6 gateway '%s'" % gateway6, "wrong_input") from None


def _in_subnet(address, subnet, what):
    ip = _parse_ip(address, what)
    if ip not in subnet:
        raise prereq("%s %s is not in network %s" % (what, address, subnet), "wrong_input")
    return str(ip)


def _check_mac_prefix(prefix):
    if prefix and not MAC_PREFIX_RE.match(prefix.lower()):
        raise prereq("Invalid MAC prefix '%s' (want xx:xx:xx)" % prefix, "wrong_input")


class NetworkAdd(Operation):
    hooks_path = "network-add"

    def check(self):
        op = self.op
        if op["network_name"] in self.cluster.networks:
            raise prereq("Network '%s' already exists" % op["network_name"], "already_exists")
        subnet = _check_subnet(op["network"])
        if op["gateway"]:
            _in_subnet(op["gateway"], subnet, "Gateway")
        for address in op["add_reserved_ips"] or []:
            _in_subnet(address, subnet, "Reserved IP")
        _check_v6(op["network6"], op["gateway6"])
        _check_mac_prefix(op["mac_prefix"])
        _check_tags(op["tags"])

    def apply(self):
        op = self.op
        subnet = ipaddress.ip_network(op["network"])
        reserved = {str(subnet.network_address), str(subnet.broadcast_address)}
        if op["gateway"]:
            reserved.add(op["gateway"])
        reserved.update(op["add_reserved_ips"] or [])
        now = time.time()
        self.cluster.networks[op["network_name"]] = {
            "name": op["network_name"], "uuid": str(uuid.uuid4()), "network": str(subnet),
            "gateway": op["gateway"], "network6": op["network6"], "gateway6": op["gateway6"],
            "mac_prefix": op["mac_prefix"].lower() if op["mac_prefix"] else None,
            "reservations": sorted(reserved, key=ipaddress.ip_address), "groups": {},
            "tags": list(op["tags"]), "ctime": now, "mtime": now, "serial_no": 1,
        }
        return None


class NetworkConnect(Operation):
    hooks_path = "network-connect"

    def check(self):
        net = _network(self.cluster, self.op["network_name"])
        if self.op["group_name"] != GROUP_NAME:
            raise prereq("Group '%s' not found" % self.op["group_name"], "unknown_entity")
        if self.op["conflicts_check"] and self._conflicting_nics(net):
            # As Ganeti: any NIC of an instance of the group whose IP lies in the
            # network, on whatever network it is (seen on Ganeti 3.0).
            raise prereq("Conflicting IP addresses found;  remove/modify the corresponding "
                         "network interfaces", "wrong_state")

    def _conflicting_nics(self, net):
        subnet = ipaddress.ip_network(net["network"])
        found = []
        for inst in self.cluster.instances.values():
            for index, nic in enumerate(inst["nics"]):
                if nic.get("ip") and ipaddress.ip_address(nic["ip"]) in subnet:
                    self.log("Conflicting IP address: instance %s NIC %d (%s)"
                             % (inst["name"], index, nic["ip"]))
                    found.append((inst["name"], index))
        return found

    def apply(self):
        net = self.cluster.networks[self.op["network_name"]]
        conn = [self.op["network_mode"], self.op["network_link"], self.op["network_vlan"]]
        if GROUP_NAME in net["groups"]:
            if net["groups"][GROUP_NAME] == conn:
                self.log(" - WARNING: Network '%s' is already connected to group '%s'"
                         % (net["name"], GROUP_NAME))
                return None
            raise prereq("Network '%s' is already connected to group '%s' with other parameters"
                         % (net["name"], GROUP_NAME), "wrong_input")
        net["groups"][GROUP_NAME] = conn
        self.cluster.touch(net)
        return None


class NetworkDisconnect(Operation):
    hooks_path = "network-disconnect"

    def check(self):
        net = _network(self.cluster, self.op["network_name"])
        if self.op["group_name"] != GROUP_NAME:
            raise prereq("Group '%s' not found" % self.op["group_name"], "unknown_entity")
        users = self.cluster.network_instances(net)
        if users and GROUP_NAME in net["groups"]:
            raise prereq("Network '%s' is in use by instances of group '%s': %s"
                         % (net["name"], GROUP_NAME, ", ".join(users)), "wrong_state")

    def apply(self):
        net = self.cluster.networks[self.op["network_name"]]
        if GROUP_NAME not in net["groups"]:
            self.log(" - WARNING: Network '%s' is not connected to group '%s'" % (net["name"], GROUP_NAME))
            return None
        del net["groups"][GROUP_NAME]
        self.cluster.touch(net)
        return None


class NetworkRemove(Operation):
    hooks_path = "network-remove"

    def check(self):
        net = _network(self.cluster, self.op["network_name"])
        if net["groups"]:
            raise prereq("Network '%s' is still connected to node group(s): %s"
                         % (net["name"], ", ".join(sorted(net["groups"]))), "wrong_state")
        users = self.cluster.network_instances(net)
        if users:
            raise prereq("Network '%s' is in use by instances: %s" % (net["name"], ", ".join(users)),
                         "wrong_state")

    def apply(self):
        del self.cluster.networks[self.op["network_name"]]
        return None


class NetworkSetParams(Operation):
    hooks_path = "network-modify"

    def check(self):
        op = self.op
        net = _network(self.cluster, op["network_name"])
        subnet = ipaddress.ip_network(net["network"])
        if not any(op.get(k) for k in ("gateway", "network6", "gateway6", "mac_prefix", "add_reserved_ips",
                                       "remove_reserved_ips")):
            raise prereq("No changes submitted", "wrong_input")
        if op["gateway"]:
            _in_subnet(op["gateway"], subnet, "Gateway")
        used = self.cluster.network_used_ips(net)
        for address in op["add_reserved_ips"] or []:
            address = _in_subnet(address, subnet, "Reserved IP")
            if address in used or address in net["reservations"]:
                raise prereq("IP address %s is already reserved or in use" % address, "wrong_input")
        for address in op["remove_reserved_ips"] or []:
            if _in_subnet(address, subnet, "Reserved IP") not in net["reservations"]:
                raise prereq("IP address %s is not reserved" % address, "wrong_input")
        _check_v6(op["network6"] or net["network6"], op["gateway6"])
        _check_mac_prefix(op["mac_prefix"])

    def apply(self):
        op = self.op
        net = self.cluster.networks[op["network_name"]]
        reserved = set(net["reservations"])
        if op["gateway"]:
            reserved.discard(net["gateway"]) if net["gateway"] else None
            reserved.add(op["gateway"])
            net["gateway"] = op["gateway"]
        reserved.update(op["add_reserved_ips"] or [])
        reserved.difference_update(op["remove_reserved_ips"] or [])
        net["reservations"] = sorted(reserved, key=ipaddress.ip_address)
        for key in ("network6", "gateway6"):
            if op[key]:
                net[key] = op[key]
        if op["mac_prefix"]:
            net["mac_prefix"] = op["mac_prefix"].lower()
        self.cluster.touch(net)
        return None


OPERATIONS = {
    "OP_INSTANCE_CREATE": InstanceCreate, "OP_INSTANCE_REMOVE": InstanceRemove,
    "OP_INSTANCE_STARTUP": InstanceStartup, "OP_INSTANCE_SHUTDOWN": InstanceShutdown,
    "OP_INSTANCE_REBOOT": InstanceReboot, "OP_INSTANCE_SET_PARAMS": InstanceSetParams,
    "OP_INSTANCE_RENAME": InstanceRename, "OP_TAGS_SET": TagsChange, "OP_TAGS_DEL": TagsChange,
    "OP_CLUSTER_SET_PARAMS": ClusterSetParams, "OP_NETWORK_ADD": NetworkAdd,
    "OP_NETWORK_CONNECT": NetworkConnect, "OP_NETWORK_DISCONNECT": NetworkDisconnect,
    "OP_NETWORK_REMOVE": NetworkRemove, "OP_NETWORK_SET_PARAMS": NetworkSetParams,
}


def operation_for(cluster, op_input, log):
    cls = OPERATIONS.get(op_input.get("OP_ID"))
    if cls is None:
        raise OpError("OpPrereqError", "Opcode %s is not simulated" % op_input.get("OP_ID"), "wrong_input")
    return cls(cluster, op_input, log)
