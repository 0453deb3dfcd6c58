"""``server_spawn``: one server's whole life, per image (spec 07 §2.5, extended)."""

import base64
import importlib
import os
import random
import socket

from synnefo.tools.burnin.guest import login_user, valid_ip
from synnefo.tools.burnin.results import CheckFailed, Skip, check
from synnefo.tools.burnin.runner import Case
from synnefo.tools.client import (
    ItemNotFound,
    ServiceUnavailable,
    UnexpectedState,
    WaitTimeout,
    describe_server,
    server_metadata,
    server_nics,
)

PERSONALITY_PATH = "/root/test_inj_file"


def pick_flavor(flavors, forced=None):
    """The flavor under test: ``forced`` (id or name), else a random one with disk >= 20 GiB."""
    if forced is not None:
        for flavor in flavors:
            if str(flavor["id"]) == str(forced) or flavor["name"] == str(forced):
                return flavor
        raise LookupError(f"no flavor {forced!r} (flavors: "
                          f"{', '.join(str(f['id']) + '=' + f['name'] for f in flavors)})")
    big = [f for f in flavors if f["disk"] >= 20] or flavors
    if not big:
        raise LookupError("the deployment lists no flavor")
    return random.choice(big)


def personality_of(path):
    """The personality entry of ``--force-personality FILE`` (and its bytes)."""
    with open(path, "rb") as handle:
        data = handle.read()
    mode = os.stat(path).st_mode & 0o7777
    return {"path": PERSONALITY_PATH, "owner": "root", "group": "root", "mode": mode,
            "contents": base64.b64encode(data).decode("ascii")}, data


class ServerCase(Case):
    """Helpers shared by the cases that build servers."""

    def create(self, *words, metadata=None, personality=None):
        name = self.ctx.name(*words)
        image, flavor = self.ctx.image_of(self), self.ctx.flavor
        server = self.api.create_server(name, image["id"], flavor["id"], metadata=metadata,
                                        personality=personality)
        self.ctx.resources.add_server(server["id"], name)
        return server

    def wait_built(self, server_id, seen=None):
        """Wait for BUILD -> ACTIVE; a timeout or an ERROR is a build failure with its reason."""
        o = self.options
        try:
            return self.api.wait_server(
                server_id, "ACTIVE", o.build_fail, progress=self.server_progress("build", seen),
                warn_after=o.build_warning,
                on_warning=lambda s, t: self.warn(f"server {server_id} still {s['status']} after "
                                                  f"{t:.1f} s (--build-warning {o.build_warning:g})"))
        except WaitTimeout as exc:
            last = describe_server(exc.last) if exc.last else "never seen"
            raise CheckFailed(f"build failure: server {server_id} is not ACTIVE after {o.build_fail:g} s "
                              f"(--build-fail); last seen: {last}") from None
        except UnexpectedState as exc:
            raise CheckFailed(f"build failure: server {server_id} went to {exc.state}: "
                              f"{exc.reason}") from None

    def wait_status(self, server_id, status, what):
        return self.api.wait_server(server_id, status, self.options.action_timeout,
                                    progress=self.server_progress(what))

    def public_nic(self, server):
        for nic in server_nics(server):
            network = self.api.get_network(nic["network_id"])
            if network.get("public"):
                return nic, network
        raise CheckFailed(f"server {server['id']} has no NIC on a public network: {server_nics(server)}")

    def delete_and_wait(self, server_id):
        self.api.delete_server(server_id)
        self.wait_status(server_id, "DELETED", "delete")
        self.ctx.resources.forget_server(server_id)


class SpawnServerCase(ServerCase):
    name = "server_spawn"
    title = "a server's life: create, build, metadata, rename, console, actions, delete"

    def __init__(self, ctx, image, index=1):
        suffix = f"#{index}" if ctx.options.fanout > 1 else ""
        super().__init__(ctx, f"server_spawn[{image['id']}]{suffix}")
        self.image, self.index = image, index
        self.server = None
        self.personality = self.personality_data = None
        if self.options.force_personality:
            self.personality, self.personality_data = personality_of(self.options.force_personality)

    def steps(self):
        return [
            ("001", "create: BUILD, name/flavorRef/imageRef echoed, adminPass", self.create_server),
            ("002", "listed in servers/detail", self.listed),
            ("003", "GET /servers/{id} shows it", self.details),
            ("004", "metadata: OS from the image, set/get/update/delete", self.metadata),
            ("005", "build: BUILD -> ACTIVE within --build-fail (progress shown)", self.build),
            ("006", "rename", self.rename),
            ("007", "public NIC: valid IPv4, listed in /ips", self.ipv4),
            ("008", "public NIC: valid IPv6", self.ipv6),
            ("009", "console: authenticate through the proxy, receive a framebuffer update", self.console),
            ("010", "guest answers on its public IPv4", self.reachable),
            ("011", "shutdown: ACTIVE -> STOPPED", self.shutdown),
            ("012", "start: STOPPED -> ACTIVE", self.start),
            ("013", "soft reboot: back to ACTIVE", self.soft_reboot),
            ("014", "hard reboot: back to ACTIVE", self.hard_reboot),
            ("015", "firewall profile PROTECTED, then DISABLED, shown on the public NIC", self.firewall),
            ("016", "guest: SSH hostname ends with -<id> (Linux) / RDP port open (Windows)", self.login),
            ("017", "guest: the injected file (--force-personality) has its contents", self.injected),
            ("018", "delete: -> DELETED, gone from the list", self.delete),
        ]

    @property
    def sid(self):
        if self.server is None:
            raise CheckFailed("no server (its creation failed)")
        return self.server["id"]

    def create_server(self):
        personality = [self.personality] if self.personality else None
        server = self.create(self.image["id"], self.index, personality=personality)
        self.server = server
        self.password = server.get("adminPass")
        self.note(server=server["id"], name=server["name"],
                  flavor=self.ctx.flavor["id"], image=self.image["id"])
        check(server["name"] == self.ctx.name(self.image["id"], self.index),
              f"name echoed as {server['name']!r}")
        check(server["flavorRef"] == self.ctx.flavor["id"] and isinstance(server["flavorRef"], int),
              f"flavorRef echoed as {server['flavorRef']!r}, not {self.ctx.flavor['id']}")
        check(server["imageRef"] == self.image["id"], f"imageRef echoed as {server['imageRef']!r}")
        check(server["status"] == "BUILD", f"status {server['status']}, not BUILD")
        check(self.password, "no adminPass in the answer")

    def listed(self):
        listed = {s["id"]: s for s in self.api.list_servers(detail=True)}
        check(self.sid in listed, f"server {self.sid} is not in GET /servers/detail")
        status = listed[self.sid]["status"]
        check(status in ("BUILD", "ACTIVE"), f"listed with status {status}, not BUILD (or ACTIVE)")

    def details(self):
        server = self.api.get_server(self.sid)
        check(server["name"] == self.server["name"], f"name {server['name']!r}")
        check(server["status"] in ("BUILD", "ACTIVE"), f"status {server['status']}, not BUILD (or ACTIVE)")

    def metadata(self):
        image_meta = server_metadata(self.image)
        os_name = image_meta.get("OS") or image_meta.get("os") or "unknown"
        self.login_user = login_user(image_meta)
        self.note(os=os_name, login=self.login_user)
        self.api.set_server_metadata(self.sid, "OS", os_name)
        check(self.api.get_server_metadata(self.sid, "OS") == os_name, "metadata OS did not round-trip")
        merged = self.api.update_server_metadata(self.sid, {"snf-burnin": self.ctx.run_id})
        check(merged.get("OS") == os_name and merged.get("snf-burnin") == self.ctx.run_id,
              f"POST /meta answered {merged}, not both items")
        self.api.delete_server_metadata(self.sid, "snf-burnin")
        try:
            self.api.get_server_metadata(self.sid, "snf-burnin")
            raise CheckFailed("a deleted metadata item is still there")
        except ItemNotFound:
            pass
        check(self.api.server_metadata(self.sid) == {"OS": os_name},
              f"metadata {self.api.server_metadata(self.sid)}, not {{'OS': {os_name!r}}}")

    def build(self):
        seen = []
        self.server = self.wait_built(self.sid, seen)
        progress = sorted({p for status, p in seen if status == "BUILD" and p is not None})
        self.note(build_progress=progress)

    def rename(self):
        new = self.ctx.name(self.image["id"], self.index, "renamed")
        self.api.rename_server(self.sid, new)
        got = self.api.get_server(self.sid)["name"]
        check(got == new, f"renamed to {new!r} but shows {got!r}")
        self.ctx.resources.add_server(self.sid, new)

    def ipv4(self):
        server = self.api.get_server(self.sid)
        nic, network = self.public_nic(server)
        self.public, self.public_network = nic, network
        check(valid_ip(nic.get("ipv4"), 4), f"public NIC {nic['id']}: ipv4 {nic.get('ipv4')!r} is not valid")
        listed = self.api.server_addresses(self.sid)
        check(any(n["id"] == nic["id"] and n.get("ipv4") == nic["ipv4"] for n in listed),
              f"GET /servers/{self.sid}/ips does not list {nic['id']} with {nic['ipv4']}: {listed}")
        self.note(ipv4=nic["ipv4"], network=network["id"])

    def ipv6(self):
        if self.options.no_ipv6:
            raise Skip("--no-ipv6")
        nic, network = getattr(self, "public", None), getattr(self, "public_network", None)
        if nic is None:
            raise CheckFailed("no public NIC")
        if not network.get("cidr6"):
            raise Skip(f"the public network {network['id']} has no IPv6 subnet")
        check(valid_ip(nic.get("ipv6"), 6), f"public NIC {nic['id']}: ipv6 {nic.get('ipv6')!r} is not valid")
        self.note(ipv6=nic["ipv6"])

    def console(self):
        if self.options.console_check == "no":
            raise Skip("console check disabled (--console-check=no)")
        try:
            vnc_client = importlib.import_module("synnefo.tools.vnc_client")
        except ImportError as exc:
            raise Skip(f"no VNC client here ({exc})") from None
        try:
            console = self.api.console(self.sid)
        except ServiceUnavailable as exc:
            if self.options.console_check == "yes":
                raise
            raise Skip(f"the deployment offers no console: {exc.message}") from None
        check(console.get("type") == "vnc", f"console type {console.get('type')!r}, not vnc")
        check(console.get("host") and console.get("port") and console.get("password"),
              f"incomplete console answer: {console}")
        host, port = console["host"], int(console["port"])
        self.note(console=f"{host}:{port}")
        if self.options.console_check == "auto":
            try:
                socket.getaddrinfo(host, port)
            except socket.gaierror as exc:
                raise Skip(f"the console host {host} does not resolve here ({exc.strerror}); "
                           "--console-check=yes makes this a failure") from None
        try:
            frame = vnc_client.fetch_framebuffer(host, port, console["password"],
                                                 timeout=self.options.action_timeout)
        except vnc_client.VncError as exc:
            raise CheckFailed(f"VNC at {host}:{port}: {exc}") from None
        except OSError as exc:
            raise CheckFailed(f"VNC at {host}:{port}: cannot connect: {exc}") from None
        check(frame.width > 0 and frame.height > 0, f"empty framebuffer {frame.width}x{frame.height}")
        self.note(framebuffer=f"{frame.width}x{frame.height} {frame.name!r}")

    def reachable(self):
        ip = getattr(self, "public", {}).get("ipv4") if getattr(self, "public", None) else None
        self.ctx.guests.require_reachable(ip, self.ctx.checkpoint)

    def shutdown(self):
        self.api.shutdown(self.sid)
        self.wait_status(self.sid, "STOPPED", "shutdown")

    def start(self):
        self.api.start(self.sid)
        self.wait_status(self.sid, "ACTIVE", "start")

    def soft_reboot(self):
        self.api.reboot(self.sid)
        self.wait_status(self.sid, "ACTIVE", "soft reboot")

    def hard_reboot(self):
        self.api.reboot(self.sid, hard=True)
        self.wait_status(self.sid, "ACTIVE", "hard reboot")

    def firewall(self):
        for profile in ("PROTECTED", "DISABLED"):
            self.api.set_firewall_profile(self.sid, profile)
            self.api.wait_server_nics(
                self.sid, lambda nics, p=profile: bool(nics) and nics[0].get("firewallProfile") == p,
                self.options.action_timeout, what=f"firewall profile {profile} on the public NIC",
                progress=self.server_progress(f"firewall {profile}"))

    def login(self):
        ip = self.public.get("ipv4") if getattr(self, "public", None) else None
        self.ctx.guests.require_reachable(ip, self.ctx.checkpoint)
        osfamily = server_metadata(self.image).get("osfamily", "linux").lower()
        if osfamily == "windows":
            self.ctx.guests.tcp_port(ip, 3389)
            return
        out = self.ctx.guests.ssh_run(ip, self.login_user, self.password, "hostname")
        hostname = out.strip()
        self.note(hostname=hostname)
        check(hostname.endswith(f"-{self.sid}"), f"guest hostname {hostname!r} does not end with -{self.sid}")

    def injected(self):
        if not self.personality:
            raise Skip("no --force-personality file")
        ip = self.public.get("ipv4") if getattr(self, "public", None) else None
        self.ctx.guests.require_reachable(ip, self.ctx.checkpoint)
        data = self.ctx.guests.sftp_read(ip, self.login_user, self.password, PERSONALITY_PATH)
        check(data == self.personality_data,
              f"{PERSONALITY_PATH} in the guest differs from the file injected")

    def delete(self):
        self.delete_and_wait(self.sid)
        self.api.wait_gone("servers", self.sid, self.options.action_timeout)
