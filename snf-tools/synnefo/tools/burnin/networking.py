"""``network_spawn``: a private network between two servers (spec 07 §2.6)."""

import shlex

from synnefo.tools.burnin.guest import login_user, valid_ip
from synnefo.tools.burnin.lifecycle import ServerCase
from synnefo.tools.burnin.results import CheckFailed, check
from synnefo.tools.client import server_metadata


class NetworkCase(ServerCase):
    name = "network_spawn"
    title = "a private network: create, connect two servers, NICs, disconnect, delete"

    def __init__(self, ctx, image):
        super().__init__(ctx, f"network_spawn[{image['id']}]")
        self.image = image
        self.servers = {}   # "A"/"B" -> server
        self.network = None
        self.private = {}   # "A"/"B" -> NIC on the network
        self.passwords = {}  # "A"/"B" -> adminPass

    def steps(self):
        return [
            ("001", "create servers A and B", self.create_servers),
            ("002", "servers A and B become ACTIVE", self.build_servers),
            ("003", "create a private network: PENDING -> ACTIVE", self.create_network),
            ("004", "connect A and B: each gets a NIC with an address of the network", self.connect),
            ("005", "the network lists both NICs; /servers/{id}/ips/{network} shows them", self.nics_listed),
            ("006", "shutdown and start A and B: the NICs stay", self.restart_servers),
            ("007", "guest: A reaches B on the private network", self.guest_ping),
            ("008", "disconnect both NICs: gone from the servers and the network", self.disconnect),
            ("009", "delete the network: gone from the list", self.delete_network),
            ("010", "delete A and B: DELETED", self.delete_servers),
        ]

    def need_network(self):
        if self.network is None:
            raise CheckFailed("no network (its creation failed)")
        return self.network["id"]

    def need_servers(self):
        if len(self.servers) != 2:
            raise CheckFailed("servers A and B were not both created")
        return self.servers

    def create_servers(self):
        for letter in ("A", "B"):
            self.servers[letter] = self.create(self.image["id"], "net", letter)
            self.passwords[letter] = self.servers[letter].get("adminPass")
        self.note(**{letter: s["id"] for letter, s in self.servers.items()})

    def build_servers(self):
        for letter, server in self.need_servers().items():
            self.servers[letter] = self.wait_built(server["id"])

    def create_network(self):
        name = self.ctx.name("net", self.image["id"])
        network = self.api.create_network(name, cidr=self.options.network_cidr)
        self.ctx.resources.add_network(network["id"], name)
        self.network = network
        self.note(network=network["id"], cidr=network.get("cidr"))
        check(network["name"] == name, f"name echoed as {network['name']!r}")
        check(network.get("public") is False, f"public is {network.get('public')!r}")
        self.network = self.api.wait_network(network["id"], "ACTIVE", self.options.action_timeout,
                                             progress=self.progress("network"))

    def connect(self):
        network_id = self.need_network()
        for server in self.need_servers().values():
            self.api.connect(network_id, server["id"])
        for letter, server in self.servers.items():
            server = self.api.wait_server_nics(
                server["id"], lambda nics: any(n["network_id"] == str(network_id) for n in nics),
                self.options.action_timeout, what=f"a NIC on network {network_id}",
                progress=self.server_progress("connect"))
            nic = next(n for n in server["attachments"]["values"] if n["network_id"] == str(network_id))
            self.private[letter] = nic
            if self.network.get("dhcp"):
                check(valid_ip(nic.get("ipv4"), 4),
                      f"server {server['id']}: NIC {nic['id']} has no valid IPv4 ({nic.get('ipv4')!r})")
        self.note(**{f"{letter}_nic": f"{n['id']} {n.get('ipv4')}" for letter, n in self.private.items()})

    def nics_listed(self):
        network_id = self.need_network()
        network = self.api.get_network(network_id)
        attached = set(network.get("attachments", {}).get("values", []))
        for letter, nic in self.private.items():
            check(nic["id"] in attached,
                  f"network {network_id} does not list {nic['id']} ({sorted(attached)})")
            server_id = self.servers[letter]["id"]
            shown = self.api.server_addresses(server_id, network_id)
            check(shown["id"] == nic["id"], f"GET /servers/{server_id}/ips/{network_id} shows {shown}")

    def restart_servers(self):
        network_id = self.need_network()
        for server in self.need_servers().values():
            self.api.shutdown(server["id"])
        for server in self.servers.values():
            self.wait_status(server["id"], "STOPPED", "shutdown")
        for server in self.servers.values():
            self.api.start(server["id"])
        for server in self.servers.values():
            again = self.wait_status(server["id"], "ACTIVE", "start")
            nics = [n for n in again.get("attachments", {}).get("values", [])
                    if n["network_id"] == str(network_id)]
            check(nics, f"server {server['id']} lost its NIC on network {network_id} after a restart")

    def guest_ping(self):
        a, b = self.private.get("A"), self.private.get("B")
        public = self.public_nic(self.api.get_server(self.need_servers()["A"]["id"]))[0]
        self.ctx.guests.require_reachable(public.get("ipv4"), self.ctx.checkpoint)
        if not (a and b and a.get("ipv4") and b.get("ipv4")):
            raise CheckFailed("the private NICs have no IPv4 to configure")
        user, password = login_user(server_metadata(self.image)), self.passwords.get("A")
        prefix = self.network["cidr"].split("/")[1]
        command = (f"ip link set eth1 up; ip addr add {a['ipv4']}/{prefix} dev eth1; "
                   f"ping -c 3 -w 20 {b['ipv4']} >/dev/null && echo reached")
        if user != "root":   # configure eth1 through sudo, with the same password
            command = f"echo {shlex.quote(password)} | sudo -S -p '' sh -c {shlex.quote(command)}"
        out = self.ctx.guests.ssh_run(public["ipv4"], user, password, command)
        check("reached" in out, f"server A cannot ping {b['ipv4']} on the private network")

    def disconnect(self):
        network_id = self.need_network()
        ours = {str(s["id"]) for s in self.servers.values()}
        network = self.api.get_network(network_id)
        attachments = [a for a in network.get("attachments", {}).get("values", [])
                       if a.split("-")[1] in ours]
        check(attachments, f"network {network_id} lists no NIC of servers A and B")
        for attachment in attachments:
            self.api.disconnect(network_id, attachment)
        for server in self.servers.values():
            self.api.wait_server_nics(
                server["id"], lambda nics: all(n["network_id"] != str(network_id) for n in nics),
                self.options.action_timeout, what=f"no NIC on network {network_id}",
                progress=self.server_progress("disconnect"))
        left = self.api.get_network(network_id).get("attachments", {}).get("values", [])
        check(not [a for a in left if a.split("-")[1] in ours], f"network {network_id} still lists {left}")

    def delete_network(self):
        network_id = self.need_network()
        self.api.delete_network(network_id)
        self.api.wait_gone("networks", network_id, self.options.action_timeout,
                           progress=self.progress("network delete"))
        self.ctx.resources.forget_network(network_id)

    def delete_servers(self):
        for server in self.need_servers().values():
            self.api.delete_server(server["id"])
        for server in self.servers.values():
            self.wait_status(server["id"], "DELETED", "delete")
            self.ctx.resources.forget_server(server["id"])
