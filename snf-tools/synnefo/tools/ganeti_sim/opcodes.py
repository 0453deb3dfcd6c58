"""RAPI request bodies -> Ganeti opcode inputs.

Each builder validates the body the way Ganeti's RAPI layer does (unknown
parameters and wrong types are a 400 before any job exists) and returns the
opcode input with Ganeti's defaults filled in, ``OP_ID`` last. Semantic checks
(does the instance exist, is there memory...) belong to :mod:`.executor` and
make the *job* fail, as in Ganeti.
"""

from synnefo.tools.ganeti_sim.errors import RapiError

COMMON_PARAMS = {"dry_run": False, "debug_level": 0, "priority": 0, "depends": None, "comment": None}
OP_SUMMARY_KEYS = ("instance_name", "network_name", "name")
NIC_KEYS = {"mac", "ip", "mode", "link", "name", "network", "vlan"}
DISK_KEYS = {"size", "mode", "name", "provider", "origin", "spindles", "vg", "metavg", "adopt"}
BE_KEYS = {"memory", "maxmem", "minmem", "vcpus", "auto_balance", "always_failover", "spindle_use"}


def bad(message, explain=None):
    return RapiError(400, message, explain)


def _check_body(body, allowed, what):
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise bad("%s: the request body must be a JSON object" % what)
    unknown = sorted(set(body) - set(allowed) - set(COMMON_PARAMS))
    if unknown:
        raise bad("%s: unknown parameter(s): %s" % (what, ", ".join(unknown)))
    return body


def _typed(body, key, types, what, allow_none=True):
    value = body.get(key)
    if value is None and allow_none:
        return None
    if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise bad("%s: parameter %r has the wrong type (%s)" % (what, key, type(value).__name__))
    if not isinstance(value, types):
        raise bad("%s: parameter %r has the wrong type (%s)" % (what, key, type(value).__name__))
    return value


# Ganeti's RAPI fills these opcodes' ``dry_run`` from the ``dry-run`` query
# argument alone and refuses it in the body (checked on Ganeti 3.0 by
# tests/contract); the others take either.
STATIC_DRY_RUN = {"OP_INSTANCE_CREATE", "OP_INSTANCE_REMOVE", "OP_INSTANCE_SHUTDOWN",
                  "OP_INSTANCE_REBOOT", "OP_NETWORK_ADD", "OP_NETWORK_CONNECT",
                  "OP_NETWORK_DISCONNECT", "OP_NETWORK_REMOVE"}


def _common(body, query, what):
    """The parameters every opcode has; ``what`` is the opcode's OP_ID."""
    if what in STATIC_DRY_RUN and "dry_run" in body:
        raise bad("Can't overwrite static parameters {'dry_run'}",
                  "Bad request syntax or unsupported method")
    params = {}
    dry_run = body.get("dry_run")
    if query.get("dry-run") not in (None, "0", "", "false", "False"):
        dry_run = True
    params["dry_run"] = bool(dry_run)
    params["debug_level"] = 0
    params["priority"] = _typed(body, "priority", int, what) or 0
    params["depends"] = parse_depends(body.get("depends"), what)
    params["comment"] = _typed(body, "comment", str, what)
    return params


def parse_depends(depends, what="depends"):
    """``[[job_id, ["success", ...]], ...]`` (absolute, positive ids only)."""
    if depends is None:
        return None
    if not isinstance(depends, list):
        raise bad("%s: 'depends' must be a list of [job id, [statuses]]" % what)
    result = []
    for item in depends:
        if (not isinstance(item, (list, tuple)) or len(item) != 2 or isinstance(item[0], bool)
                or not isinstance(item[0], int) or not isinstance(item[1], list)):
            raise bad("%s: bad dependency %r (want [job id, [statuses]])" % (what, item))
        job_id, statuses = item
        if job_id <= 0:
            raise bad("%s: relative job dependencies are not supported (%r)" % (what, job_id))
        allowed = {"success", "error", "canceled"}
        if not all(isinstance(s, str) and s in allowed for s in statuses):
            raise bad("%s: dependency statuses must be among %s" % (what, ", ".join(sorted(allowed))))
        result.append([job_id, list(statuses)])
    return result


def _finish(params, common, op_id):
    params.update(common)
    params["OP_ID"] = op_id
    return params


def _bool(body, key, what, default):
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise bad("%s: parameter %r must be a boolean" % (what, key))
    return value


def _name(value, what, key="name"):
    if not isinstance(value, str) or not value.strip():
        raise bad("%s: parameter %r is required and must be a non-empty string" % (what, key))
    return value.strip()


def _nic(nic, what):
    if not isinstance(nic, dict):
        raise bad("%s: each NIC must be an object, got %r" % (what, nic))
    unknown = sorted(set(nic) - NIC_KEYS)
    if unknown:
        raise bad("%s: unknown NIC parameter(s): %s" % (what, ", ".join(unknown)))
    for key, value in nic.items():
        if value is not None and not isinstance(value, str):
            raise bad("%s: NIC parameter %r must be a string" % (what, key))
    if nic.get("mode") not in (None, "bridged", "routed", "openvswitch"):
        raise bad("%s: invalid NIC mode %r" % (what, nic["mode"]))
    return dict(nic)


def _disk(disk, what):
    if not isinstance(disk, dict):
        raise bad("%s: each disk must be an object, got %r" % (what, disk))
    unknown = sorted(set(disk) - DISK_KEYS)
    if unknown:
        raise bad("%s: unknown disk parameter(s): %s" % (what, ", ".join(unknown)))
    size = disk.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise bad("%s: disk size must be a positive integer (MiB), got %r" % (what, size))
    return dict(disk)


def _beparams(be, what):
    if be is None:
        return {}
    if not isinstance(be, dict):
        raise bad("%s: beparams must be an object" % what)
    unknown = sorted(set(be) - BE_KEYS)
    if unknown:
        raise bad("%s: unknown backend parameter(s): %s" % (what, ", ".join(unknown)))
    result = {}
    for key, value in be.items():
        if key in ("auto_balance", "always_failover"):
            if not isinstance(value, bool):
                raise bad("%s: beparams %s must be a boolean" % (what, key))
        elif isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise bad("%s: beparams %s must be a positive integer, got %r" % (what, key, value))
        result[key] = value
    if "memory" in result:
        memory = result.pop("memory")
        result.setdefault("maxmem", memory)
        result.setdefault("minmem", memory)
    return result


def _dict(body, key, what):
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise bad("%s: parameter %r must be an object" % (what, key))
    return dict(value)


# -- instances ---------------------------------------------------------------

CREATE_KEYS = {"__version__", "name", "mode", "os", "os_type", "pnode", "snode", "disk_template", "disks",
               "nics", "beparams", "hvparams", "osparams", "osparams_private", "osparams_secret", "start",
               "no_install", "tags", "ip_check", "name_check", "wait_for_sync", "iallocator", "hypervisor",
               "conflicts_check", "hotplug", "ignore_ipolicy", "group_name", "force_variant",
               "identify_defaults", "opportunistic_locking", "file_driver", "file_storage_dir"}


def instance_create(body, query):
    what = "OP_INSTANCE_CREATE"
    body = _check_body(body, CREATE_KEYS, what)
    if body.get("__version__") != 1:
        raise bad("Unsupported request body version %r (this RAPI accepts __version__: 1)"
                  % (body.get("__version__"),))
    if "mode" not in body:       # Ganeti 3.0 has no default for it
        raise bad("Invalid body parameters: (\"Parameter '%s.mode' fails validation\", 'wrong_input')"
                  % what)
    if body["mode"] != "create":
        raise bad("%s: only mode 'create' is supported, not %r" % (what, body.get("mode")))
    name = _name(body.get("name"), what)
    os_type = body.get("os") or body.get("os_type")
    no_install = body.get("no_install")
    if no_install is not None and not isinstance(no_install, bool):
        raise bad("%s: parameter 'no_install' must be a boolean" % what)
    if not os_type and not no_install:
        raise bad("%s: parameter 'os' is required" % what)
    if os_type is not None and not isinstance(os_type, str):
        raise bad("%s: parameter 'os' must be a string" % what)
    disk_template = _name(body.get("disk_template"), what, "disk_template")
    disks = body.get("disks", [])
    nics = body.get("nics", [])
    if not isinstance(disks, list) or not isinstance(nics, list):
        raise bad("%s: 'disks' and 'nics' must be lists" % what)
    tags = body.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise bad("%s: 'tags' must be a list of strings" % what)
    params = {
        "instance_name": name, "force_variant": _bool(body, "force_variant", what, False),
        "wait_for_sync": _bool(body, "wait_for_sync", what, True),
        "name_check": _bool(body, "name_check", what, True), "ignore_ipolicy": _bool(body, "ignore_ipolicy",
                                                                                     what, False),
        "opportunistic_locking": False, "beparams": _beparams(body.get("beparams"), what),
        "disks": [_disk(d, what) for d in disks], "disk_template": disk_template,
        "group_name": body.get("group_name"), "file_driver": body.get("file_driver"),
        "file_storage_dir": body.get("file_storage_dir"), "hvparams": _dict(body, "hvparams", what),
        "hypervisor": body.get("hypervisor"), "iallocator": body.get("iallocator"),
        "identify_defaults": _bool(body, "identify_defaults", what, False),
        "ip_check": _bool(body, "ip_check", what, True),
        "conflicts_check": _bool(body, "conflicts_check", what, True), "mode": "create",
        "nics": [_nic(n, what) for n in nics], "no_install": no_install,
        "osparams": _dict(body, "osparams", what), "osparams_private": _dict(body, "osparams_private", what),
        "osparams_secret": _dict(body, "osparams_secret", what), "os_type": os_type,
        "pnode": body.get("pnode"), "snode": body.get("snode"),
        "start": _bool(body, "start", what, True), "tags": list(tags),
        "hotplug": _bool(body, "hotplug", what, False),
    }
    return _finish(params, _common(body, query, what), "OP_INSTANCE_CREATE")


def instance_remove(name, body, query):
    what = "OP_INSTANCE_REMOVE"
    body = _check_body(body, set(), what)
    params = {"instance_name": name, "ignore_failures": False, "shutdown_timeout": 120}
    return _finish(params, _common(body, query, what), "OP_INSTANCE_REMOVE")


def instance_startup(name, body, query):
    what = "OP_INSTANCE_STARTUP"
    body = _check_body(body, {"force", "no_remember", "startup_paused"}, what)
    params = {"instance_name": name, "force": _bool(body, "force", what, False),
              "ignore_offline_nodes": False, "hvparams": {}, "beparams": {},
              "no_remember": _bool(body, "no_remember", what, False),
              "startup_paused": _bool(body, "startup_paused", what, False)}
    return _finish(params, _common(body, query, what), "OP_INSTANCE_STARTUP")


def instance_shutdown(name, body, query):
    what = "OP_INSTANCE_SHUTDOWN"
    body = _check_body(body, {"timeout", "no_remember", "force"}, what)
    timeout = body.get("timeout", 120)
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 0:
        raise bad("%s: 'timeout' must be a non-negative integer (seconds)" % what)
    params = {"instance_name": name, "force": _bool(body, "force", what, False),
              "ignore_offline_nodes": False, "timeout": timeout,
              "no_remember": _bool(body, "no_remember", what, False), "admin_state_source": "admin"}
    return _finish(params, _common(body, query, what), "OP_INSTANCE_SHUTDOWN")


def instance_reboot(name, body, query):
    what = "OP_INSTANCE_REBOOT"
    body = _check_body(body, {"type", "ignore_secondaries", "shutdown_timeout"}, what)
    reboot_type = query.get("type") or body.get("type") or "hard"
    if reboot_type not in ("soft", "hard", "full"):
        raise bad("%s: reboot type must be soft, hard or full, not %r" % (what, reboot_type))
    params = {"instance_name": name, "ignore_secondaries": bool(query.get("ignore_secondaries") == "1"),
              "reboot_type": reboot_type, "shutdown_timeout": 120}
    return _finish(params, _common(body, query, what), "OP_INSTANCE_REBOOT")


MODIFY_KEYS = {"nics", "disks", "beparams", "hvparams", "os_name", "osparams", "force", "hotplug",
               "hotplug_if_possible", "conflicts_check", "wait_for_sync", "offline", "runtime_mem",
               "ignore_ipolicy", "force_variant"}


def _nic_mods(mods, what):
    """Normalise ``[["add", {..}]]``, ``[["add", -1, {..}]]``, ``[["remove", 1, {}]]``,
    ``[["modify", 0, {..}]]`` and the legacy ``[[index|"add"|"remove", {..}]]``."""
    if not isinstance(mods, list):
        raise bad("%s: 'nics' must be a list of modifications" % what)
    result = []
    for mod in mods:
        if not isinstance(mod, (list, tuple)) or len(mod) not in (2, 3):
            raise bad("%s: bad NIC modification %r" % (what, mod))
        if len(mod) == 2:
            action, params = mod
            if isinstance(action, int) and not isinstance(action, bool):
                action, index = "modify", action
            else:
                index = -1
        else:
            action, index, params = mod
        if action not in ("add", "remove", "modify"):
            raise bad("%s: NIC modification action must be add, remove or modify, not %r" % (what, action))
        if isinstance(index, bool) or not isinstance(index, int):
            raise bad("%s: NIC index must be an integer, got %r" % (what, index))
        params = _nic(params or {}, what)
        result.append([action, index, params])
    return result


def instance_set_params(name, body, query):
    what = "OP_INSTANCE_SET_PARAMS"
    body = _check_body(body, MODIFY_KEYS, what)
    os_name = body.get("os_name")
    if os_name is not None and not isinstance(os_name, str):
        raise bad("%s: 'os_name' must be a string" % what)
    if body.get("disks"):
        raise bad("%s: disk modifications are not supported by the simulator" % what)
    params = {"instance_name": name, "force": _bool(body, "force", what, False),
              "force_variant": False, "ignore_ipolicy": _bool(body, "ignore_ipolicy", what, False),
              "nics": _nic_mods(body.get("nics", []), what), "disks": [],
              "beparams": _beparams(body.get("beparams"), what), "runtime_mem": None,
              "hvparams": _dict(body, "hvparams", what), "disk_template": None, "ext_params": {},
              "file_driver": None, "file_storage_dir": None, "pnode": None, "remote_node": None,
              "iallocator": None, "os_name": os_name, "osparams": _dict(body, "osparams", what),
              "osparams_private": None, "wait_for_sync": True, "offline": None,
              "conflicts_check": _bool(body, "conflicts_check", what, True),
              "hotplug": _bool(body, "hotplug", what, False),
              "hotplug_if_possible": _bool(body, "hotplug_if_possible", what, False),
              "instance_communication": None}
    return _finish(params, _common(body, query, what), "OP_INSTANCE_SET_PARAMS")


def instance_rename(name, body, query):
    what = "OP_INSTANCE_RENAME"
    body = _check_body(body, {"new_name", "ip_check", "name_check"}, what)
    params = {"instance_name": name, "new_name": _name(body.get("new_name"), what, "new_name"),
              "ip_check": _bool(body, "ip_check", what, False),
              "name_check": _bool(body, "name_check", what, True)}
    return _finish(params, _common(body, query, what), "OP_INSTANCE_RENAME")


def tags_change(op_id, kind, name, tags, query):
    what = op_id
    if not tags:
        raise bad("%s: no tags given (use ?tag=...)" % what)
    params = {"kind": kind, "name": name, "tags": list(tags)}
    return _finish(params, _common({}, query, what), op_id)


def cluster_set_params(body, query):
    what = "OP_CLUSTER_SET_PARAMS"
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise bad("%s: the request body must be a JSON object" % what)
    params = {key: value for key, value in body.items() if key not in COMMON_PARAMS}
    return _finish(params, _common(body, query, what), "OP_CLUSTER_SET_PARAMS")


# -- networks ----------------------------------------------------------------

NETWORK_ADD_KEYS = {"network_name", "network", "gateway", "network6", "gateway6", "mac_prefix",
                    "add_reserved_ips", "conflicts_check", "tags"}


def _str_or_none(body, key, what):
    return _typed(body, key, str, what)


def _ip_list(body, key, what):
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad("%s: %r must be a list of IP addresses" % (what, key))
    return list(value)


def network_add(body, query):
    what = "OP_NETWORK_ADD"
    body = _check_body(body, NETWORK_ADD_KEYS, what)
    tags = body.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise bad("%s: 'tags' must be a list of strings" % what)
    params = {"network_name": _name(body.get("network_name"), what, "network_name"),
              "network": _name(body.get("network"), what, "network"),
              "gateway": _str_or_none(body, "gateway", what),
              "network6": _str_or_none(body, "network6", what),
              "gateway6": _str_or_none(body, "gateway6", what),
              "mac_prefix": _str_or_none(body, "mac_prefix", what),
              "add_reserved_ips": _ip_list(body, "add_reserved_ips", what),
              "conflicts_check": _bool(body, "conflicts_check", what, True), "tags": list(tags)}
    return _finish(params, _common(body, query, what), "OP_NETWORK_ADD")


def network_connect(name, body, query):
    what = "OP_NETWORK_CONNECT"
    body = _check_body(body, {"group_name", "network_mode", "network_link", "network_vlan",
                              "conflicts_check"}, what)
    mode = _name(body.get("network_mode"), what, "network_mode")
    if mode not in ("bridged", "routed", "openvswitch"):
        raise bad("%s: network_mode must be bridged, routed or openvswitch, not %r" % (what, mode))
    params = {"group_name": _name(body.get("group_name"), what, "group_name"), "network_name": name,
              "network_mode": mode, "network_link": _name(body.get("network_link"), what, "network_link"),
              "network_vlan": _str_or_none(body, "network_vlan", what) or "",
              "conflicts_check": _bool(body, "conflicts_check", what, True)}
    return _finish(params, _common(body, query, what), "OP_NETWORK_CONNECT")


def network_disconnect(name, body, query):
    what = "OP_NETWORK_DISCONNECT"
    body = _check_body(body, {"group_name"}, what)
    params = {"group_name": _name(body.get("group_name"), what, "group_name"), "network_name": name}
    return _finish(params, _common(body, query, what), "OP_NETWORK_DISCONNECT")


def network_remove(name, body, query):
    what = "OP_NETWORK_REMOVE"
    body = _check_body(body, {"force"}, what)
    params = {"network_name": name, "force": _bool(body, "force", what, False)}
    return _finish(params, _common(body, query, what), "OP_NETWORK_REMOVE")


def network_set_params(name, body, query):
    what = "OP_NETWORK_SET_PARAMS"
    body = _check_body(body, {"gateway", "network6", "gateway6", "mac_prefix", "add_reserved_ips",
                              "remove_reserved_ips"}, what)
    params = {"network_name": name, "gateway": _str_or_none(body, "gateway", what),
              "network6": _str_or_none(body, "network6", what),
              "gateway6": _str_or_none(body, "gateway6", what),
              "mac_prefix": _str_or_none(body, "mac_prefix", what),
              "add_reserved_ips": _ip_list(body, "add_reserved_ips", what),
              "remove_reserved_ips": _ip_list(body, "remove_reserved_ips", what)}
    return _finish(params, _common(body, query, what), "OP_NETWORK_SET_PARAMS")


def summary(op_input):
    """Ganeti's job summary: ``INSTANCE_SHUTDOWN(name)``."""
    op_id = op_input.get("OP_ID", "OP_UNKNOWN")
    short = op_id[3:] if op_id.startswith("OP_") else op_id
    for key in OP_SUMMARY_KEYS:
        if isinstance(op_input.get(key), str):
            return "%s(%s)" % (short, op_input[key])
    return short
