"""Deleting what burnin created: at the end of every run, and ``--show-stale`` /
``--delete-stale`` for what earlier runs left behind (names ``snf-test-*``)."""

import logging
import time

from synnefo.tools.burnin.runner import NAME_PREFIX
from synnefo.tools.client import ClientError, ItemNotFound, server_nics

log = logging.getLogger("snf-burnin")


def stale(api, prefix=NAME_PREFIX):
    """``(servers, networks)`` whose names start with ``prefix`` (detailed, not deleted)."""
    servers = [s for s in api.list_servers(detail=True) if s["name"].startswith(prefix)]
    networks = [n for n in api.list_networks(detail=True)
                if n["name"].startswith(prefix) and not n.get("public")]
    return servers, networks


def delete_all(api, servers, networks, timeout, say=print):
    """Delete ``servers`` (``{id: name}``) and then ``networks`` (``{id: name}``),
    waiting until each is gone, all within ``timeout`` seconds; the list of
    what is still there afterwards (one line each, with the reason)."""
    deadline = time.monotonic() + timeout

    def remaining():
        return max(1.0, deadline - time.monotonic())
    left = []
    waiting = []
    for server_id, name in sorted(servers.items()):
        try:
            server = api.get_server(server_id)
            if server["status"] != "DELETED":
                if server.get("SNF:task_state") != "DESTROY":
                    api.delete_server(server_id)
                say(f"deleting server {server_id} ({name})")
                waiting.append((server_id, name))
        except ItemNotFound:
            pass
        except ClientError as exc:
            left.append(f"server {server_id} ({name}): cannot delete it: {exc}")
    for server_id, name in waiting:
        try:
            api.wait_server(server_id, "DELETED", remaining())
        except ClientError as exc:
            left.append(f"server {server_id} ({name}): {exc}")
    for network_id, name in sorted(networks.items()):
        try:
            network = api.get_network(network_id)
            if network["status"] == "DELETED":
                continue
            _disconnect_ours(api, network, remaining())
            api.delete_network(network_id)
            say(f"deleting network {network_id} ({name})")
            api.wait_gone("networks", network_id, remaining())
        except ItemNotFound:
            pass
        except ClientError as exc:
            left.append(f"network {network_id} ({name}): {exc}")
    for line in left:
        log.error("cleanup: %s", line)
    return left


def _disconnect_ours(api, network, timeout):
    """Servers that outlive cleanup keep their NICs; a network can go only
    without them: remove the NICs of live servers still on it."""
    for attachment in (network.get("attachments") or {}).get("values", []):
        server_id = int(attachment.split("-")[1])
        try:
            server = api.get_server(server_id)
        except ItemNotFound:
            continue
        if server["status"] == "DELETED":
            continue
        api.disconnect(network["id"], attachment)
        api.wait_server_nics(server_id, lambda nics, gone=attachment: all(n["id"] != gone for n in nics),
                             timeout, what=f"{attachment} removed")


def show_stale(api, say=print):
    servers, networks = stale(api)
    if not servers and not networks:
        say("no stale servers or networks (names starting with %r)" % NAME_PREFIX)
        return servers, networks
    for s in servers:
        say(f"stale server  {s['id']:>8}  {s['status']:<8} {s['name']}")
    for n in networks:
        say(f"stale network {n['id']:>8}  {n['status']:<8} {n['name']}")
    return servers, networks


def delete_stale(api, timeout, say=print):
    servers, networks = show_stale(api, say)
    for s in servers:
        for nic in server_nics(s):
            log.info("stale server %s has NIC %s on network %s", s["id"], nic["id"], nic["network_id"])
    return delete_all(api, {s["id"]: s["name"] for s in servers},
                      {n["id"]: n["name"] for n in networks}, timeout, say)
