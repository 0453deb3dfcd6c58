"""snf-quickstart: the whole Cyclades system on one machine.

Started by ``make run``. Everything lives under one directory (default
``./var``): a SQLite database, the file-system broker, the Ganeti simulator's
state, logs, and a settings directory that every process (and the
operator's ``snf-manage``) shares. It

1. writes the settings (once: generated secrets are kept across runs),
2. migrates the database, loads flavors, images and a demo user, and
   collects the web UI's static files (``snf-manage collectstatic``),
3. starts the Ganeti simulator and registers it as a backend with a public
   network, and creates the bridge and MAC-prefix pools that private
   networks take their link and MAC prefix from (on a real cluster, also
   the bridges those name, on the node),
4. starts ``snf-ganeti-eventd``, two ``snf-dispatcher``, the console proxy
   (``snf-vncauthproxy`` on 127.0.0.1, with a generated control user) and
   the API (gunicorn) on 127.0.0.1:8000 (the API's processes submit the
   create jobs of POST /servers from threads of their own, the dispatchers
   those an API process left behind: nothing more to start),
5. prints the web UI's address, the API endpoint and the demo token and
   writes ``var/quickstart.json``,

restarts a daemon that dies, with back-off, saying so on the terminal and in
``log/supervisor.log`` (:mod:`synnefo.tools.supervisor`), and stops
everything cleanly on Ctrl-C or SIGTERM (only then). The same wiring runs on
PostgreSQL and RabbitMQ by settings alone (``--conf FILE`` adds a conf file),
and against a real Ganeti cluster instead of the simulator (``--ganeti
STATE_FILE``, the state file ``ci/real-ganeti.sh up`` writes; ``make
run-ganeti``).

The :class:`Deployment` class is also what the end-to-end tests use.
"""

import argparse
import base64
import json
import os
import secrets
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

from synnefo.tools import real_ganeti
from synnefo.tools.loopback import free_port
from synnefo.tools.supervisor import Supervisor
from synnefo.util.version import add_version_option

DEMO_USER = "demo@example.org"
SIM_NODE = "node1.sim.cyclades.local"
# Backends are reached at their cluster name: the simulator's must resolve here.
SIM_CLUSTER = "127.0.0.1"
HOOK_OPS = ("add", "start", "reboot", "stop", "modify")
# Ganeti ignores hook files whose names contain dots.
HOOK_NAME = "snf-ganeti-hook"
SIM_PUBLIC_SUBNET = ("10.0.0.0/24", "10.0.0.1")
# A real cluster's public network: a documentation range, never routed anywhere.
REAL_PUBLIC_SUBNET = ("203.0.113.0/24", "203.0.113.1")
# `make run` reconciles a staggered share of the servers this often (seconds).
RECONCILE_EVERY = 60


# backend-add reads the RAPI password from this variable (never the command line).
PASSWORD_ENV = "SNF_QUICKSTART_RAPI_PASSWORD"
# Pools of private networks: bridges prv1..prv20 (PRIVATE_PHYSICAL_VLAN) and
# MAC prefixes from aa:00:1 (PRIVATE_MAC_FILTERED; aa:00:0 is the public one).
BRIDGE_POOL = ("prv", 20)
MAC_PREFIX_POOL = ("aa:00:0", 4096)


class QuickstartError(Exception):
    pass


def write_private(path, text):
    """Write ``path`` readable by its owner only (0600 from creation: secrets)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its old mode otherwise
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def read_ganeti_state(path):
    try:
        return real_ganeti.read_state(path)
    except real_ganeti.StateError as exc:
        raise QuickstartError(str(exc)) from None


def _bin_dir():
    return os.path.dirname(os.path.abspath(sys.executable))


def _wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.1)
    raise QuickstartError(f"timed out after {timeout:.0f} s waiting for {what}")


class Deployment:
    """One Cyclades deployment under ``base_dir``.

    ``extra_conf``: Python text appended as ``90-extra.conf`` (e.g. PostgreSQL
    ``DATABASES`` and RabbitMQ ``AMQP_HOSTS``). ``sim_args``: extra options of
    the simulator (durations, failure rules). ``ganeti``: a real cluster
    (:func:`read_ganeti_state`) to use instead of starting the simulator.
    """

    def __init__(self, base_dir, api_port=8000, extra_conf="", sim_args=(), dispatchers=2,
                 prefix_id="snf-", log=print, ganeti=None, reconcile_every=None):
        self.base = os.path.abspath(base_dir)
        self.api_port = api_port
        self.extra_conf = extra_conf
        self.sim_args = list(sim_args)
        self.dispatchers = dispatchers
        self.prefix_id = prefix_id
        self.log = log
        # The Ganeti cluster in use: the real one given, or the simulator once started.
        self.cluster = ganeti
        # Seconds between staggered reconciliation runs (None: none; `make run` heals itself).
        self.reconcile_every = reconcile_every
        self.bin = _bin_dir()
        self.settings_dir = os.path.join(self.base, "settings")
        self.log_dir = os.path.join(self.base, "log")
        self.sim_dir = os.path.join(self.base, "sim")
        self.hooks_dir = os.path.join(self.base, "hooks")
        self.processes = []  # (name, Popen), in start order
        self.commands = {}
        self.info = {}

    # -- files -----------------------------------------------------------------
    def path(self, *parts):
        return os.path.join(self.base, *parts)

    def env(self):
        env = dict(os.environ)
        env["SYNNEFO_SETTINGS_DIR"] = self.settings_dir
        env["DJANGO_SETTINGS_MODULE"] = "synnefo.settings"
        env["PATH"] = self.bin + os.pathsep + env.get("PATH", "")
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def _secrets(self):
        path = self.path("secrets.json")
        if os.path.exists(path):
            with open(path) as handle:
                return json.load(handle)
        values = {"secret_key": secrets.token_urlsafe(40),
                  "encryption_key": secrets.token_urlsafe(24),
                  "rapi_password": secrets.token_urlsafe(16)}
        write_private(path, json.dumps(values))
        return values

    def _console_proxy_password(self):
        """The control password of the console proxy, added to older secrets files."""
        values = self._secrets()
        if "vncauthproxy_password" not in values:
            values["vncauthproxy_password"] = secrets.token_urlsafe(16)
            write_private(self.path("secrets.json"), json.dumps(values))
        return values["vncauthproxy_password"]

    def write_settings(self):
        for d in (self.base, self.settings_dir, self.log_dir, self.sim_dir):
            os.makedirs(d, exist_ok=True)
        s = self._secrets()
        conf = f'''# Written by snf-quickstart: the one-machine deployment under {self.base}.
SYNNEFO_DATA_DIR = {self.base!r}
DATABASES["default"]["NAME"] = {self.path("synnefo.sqlite3")!r}
AMQP_HOSTS = ["filesystem://"]
AMQP_FILESYSTEM_DIR = {self.path("broker")!r}
BACKEND_PREFIX_ID = {self.prefix_id!r}
SECRET_KEY = {s["secret_key"]!r}
SECRET_ENCRYPTION_KEY = {s["encryption_key"]!r}
APP_INSTALL_URL = "http://127.0.0.1:{self.api_port}"
API_ROOT_URL = APP_INSTALL_URL + "/api"
STATIC_ROOT = {self.path("static")!r}
# snf-ganeti-hook publishes only on the Ganeti master: the cluster's one node.
GANETI_HOOK_NODE_NAME = {self.node!r}
''' + self._console_conf() + self._real_ganeti_conf()
        write_private(os.path.join(self.settings_dir, "50-quickstart.conf"), conf)
        extra = os.path.join(self.settings_dir, "90-extra.conf")
        if self.extra_conf:
            write_private(extra, self.extra_conf)
        elif os.path.exists(extra):
            os.unlink(extra)

    @property
    def real(self):
        return bool(self.cluster and self.cluster.get("real"))

    @property
    def node(self):
        return self.cluster["node"] if self.real else SIM_NODE

    def _console_conf(self):
        # The console proxy's control channel: a port free now, chosen at each start.
        self.console_control_port = free_port()
        return f'''# Consoles: the snf-vncauthproxy that snf-quickstart starts (loopback only).
CYCLADES_VNCAUTHPROXY_OPTS = [{{"server_address": "127.0.0.1", "server_port": {self.console_control_port},
                               "auth_user": "cyclades", "auth_password": {self._console_proxy_password()!r}}}]
'''

    def start_console_proxy(self):
        """snf-vncauthproxy on 127.0.0.1 with the control user ``cyclades``."""
        users = self.path("vncauthproxy", "users")
        proxy = os.path.join(self.bin, "snf-vncauthproxy")
        proc = subprocess.run([proxy, "--auth-file", users, "--add-user", "cyclades"], env=self.env(),
                              input=self._console_proxy_password() + "\n", capture_output=True, text=True)
        if proc.returncode != 0:
            raise QuickstartError(f"cannot add the console proxy's user: {proc.stderr.strip()}")
        port = self.console_control_port
        self.spawn("vncauthproxy", [proxy, "--foreground", "--auth-file", users, "--listen-address",
                                    "127.0.0.1", "--listen-port", str(port), "--proxy-listen-address",
                                    "127.0.0.1", "--proxy-address", "127.0.0.1"])

        def ready():
            self.check_alive()
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return True
            except OSError:
                return False
        _wait_for(ready, 30, f"the console proxy on 127.0.0.1:{port}")
        self.info["console_proxy"] = f"127.0.0.1:{port}"

    def _real_ganeti_conf(self):
        if not self.real:
            return ""
        # One node: Ganeti's default iallocator refuses (N+1), so name the node;
        # the fake hypervisor has no serial_console parameter.
        return f'''# A real Ganeti cluster (ci/real-ganeti.sh): fake hypervisor, one node.
GANETI_CREATEINSTANCE_KWARGS = {{"os": {self.cluster["os"]!r}, "hvparams": {{}},
                                "wait_for_sync": False, "pnode": {self.node!r}}}
# A bridge ci/real-ganeti.sh made on the node.
PRIVATE_MAC_FILTERED_BRIDGE = {self.cluster.get("private_bridge") or "br0"!r}
'''

    def write_hooks(self, hooks_dir):
        """``snf-ganeti-hook`` in the instance post-hook directories under
        ``hooks_dir``: a wrapper naming this deployment's settings, since
        Ganeti gives hooks an environment of its own."""
        hook = os.path.join(self.bin, HOOK_NAME)
        for op in HOOK_OPS:
            d = os.path.join(hooks_dir, f"instance-{op}-post.d")
            os.makedirs(d, exist_ok=True)
            path = os.path.join(d, HOOK_NAME)
            with open(path + ".tmp", "w") as handle:
                handle.write(f"#!/bin/sh\n# Written by snf-quickstart for {self.base}.\n"
                             f"SYNNEFO_SETTINGS_DIR={shlex.quote(self.settings_dir)} "
                             f"exec {shlex.quote(hook)} \"$@\"\n")
            os.chmod(path + ".tmp", 0o755)
            os.replace(path + ".tmp", path)

    def remove_hooks(self, hooks_dir):
        for op in HOOK_OPS:
            path = os.path.join(hooks_dir, f"instance-{op}-post.d", HOOK_NAME)
            try:
                with open(path) as handle:
                    ours = self.base in handle.read()
                if ours:
                    os.unlink(path)
            except OSError:
                pass

    # -- commands ----------------------------------------------------------------
    def manage(self, *args, check=True, env=None):
        cmd = [os.path.join(self.bin, "snf-manage"), *args]
        proc = subprocess.run(cmd, env=dict(self.env(), **(env or {})), capture_output=True,
                              text=True)
        if check and proc.returncode != 0:
            raise QuickstartError(f"snf-manage {' '.join(args)} failed: "
                                  f"{(proc.stderr or proc.stdout).strip()}")
        return proc

    def _manage_json(self, *args):
        return json.loads(self.manage(*args, "--output", "json").stdout or "[]")

    def prepare_database(self):
        self.manage("migrate", "--noinput")
        self.manage("loaddata", "flavors", "images")
        # The web UI's files, served by the API server (WhiteNoise) from STATIC_ROOT.
        self.manage("collectstatic", "--noinput", "--verbosity", "0")
        users = self._manage_json("user-list")
        if not any(u.get("uniq") == DEMO_USER for u in users):
            out = self.manage("user-add", "--uniq", DEMO_USER, "--name", "Demo user",
                              "--max-vms", "1000", "--max-networks", "100",
                              "--token-lifetime", "0").stdout
            self.info["token"] = self._token_from(out)
            self._save_token(self.info["token"])
        else:
            self.info["token"] = self._saved_token()

    @staticmethod
    def _token_from(output):
        for line in output.splitlines():
            if "token" in line.lower() and ":" in line:
                value = line.split(":", 1)[1].strip()
                if value:
                    return value
        raise QuickstartError(f"user-add printed no token: {output!r}")

    def _save_token(self, token):
        write_private(self.path("demo-token"), token)

    def _saved_token(self):
        path = self.path("demo-token")
        if not os.path.exists(path):
            out = self.manage("user-modify", DEMO_USER, "--renew-token").stdout
            token = self._token_from(out)
            self._save_token(token)
            return token
        with open(path) as handle:
            return handle.read().strip()

    # -- processes ---------------------------------------------------------------
    def spawn(self, name, args, **kwargs):
        logfile = open(os.path.join(self.log_dir, f"{name}.log"), "ab")
        proc = subprocess.Popen(args, env=kwargs.pop("env", self.env()), stdout=logfile,
                                stderr=subprocess.STDOUT, stdin=kwargs.pop("stdin", subprocess.DEVNULL),
                                start_new_session=True, **kwargs)
        logfile.close()
        self.processes.append((name, proc))
        self.commands[name] = args
        return proc

    def process(self, name):
        return dict(self.processes)[name]

    def restart(self, name):
        """Start ``name`` again with the same command line (after it died)."""
        old = self.process(name)
        if old.poll() is None:
            raise QuickstartError(f"{name} is still running")
        self.processes = [(n, p) for n, p in self.processes if n != name]
        return self.spawn(name, self.commands[name])

    def log_tail(self, name, size=2000):
        """The last ``size`` characters of daemon ``name``'s log ("" if none)."""
        try:
            with open(os.path.join(self.log_dir, f"{name}.log"), "rb") as handle:
                handle.seek(0, os.SEEK_END)
                handle.seek(max(0, handle.tell() - size))
                return handle.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def check_alive(self):
        """Raise QuickstartError naming the first daemon that has exited, with
        the end of its log (a test's temporary folder is gone by the time
        someone reads a CI report)."""
        for name, proc in self.processes:
            if proc.poll() is not None:
                raise QuickstartError(f"{name} exited with status {proc.returncode}; "
                                      f"see {os.path.join(self.log_dir, name + '.log')}; it ends:\n"
                                      f"{self.log_tail(name)}")

    def start_simulator(self):
        s = self._secrets()
        sim_json = os.path.join(self.sim_dir, "sim.json")
        if os.path.exists(sim_json):
            os.unlink(sim_json)
        self.write_hooks(self.hooks_dir)
        users_file = os.path.join(self.sim_dir, "rapi-users")
        write_private(users_file, f"cyclades {s['rapi_password']} write\n")
        args = [os.path.join(self.bin, "snf-ganeti-sim"), "--state-dir", self.sim_dir,
                "--listen", "127.0.0.1", "--port", "0", "--cluster-name", SIM_CLUSTER,
                "--node-name", SIM_NODE,
                "--users-file", users_file, "--hooks-dir", self.hooks_dir,
                "--progress-monitor", os.path.join(self.bin, "snf-progress-monitor"),
                "--foreground", *self.sim_args]
        self.spawn("ganeti-sim", args)

        def ready():
            self.check_alive()
            if os.path.exists(sim_json):
                with open(sim_json) as handle:
                    try:
                        return json.load(handle)
                    except ValueError:
                        return None
            return None
        sim = _wait_for(ready, 30, "the Ganeti simulator")
        self.sim = sim
        # A restart (Supervisor) must listen where the backend is registered.
        self.commands["ganeti-sim"] = [str(sim["port"]) if arg == "0" and prev == "--port" else arg
                                       for prev, arg in zip(["", *args[:-1]], args, strict=True)]
        self.cluster = {"cluster_name": sim["cluster_name"], "port": sim["port"], "user": "cyclades",
                        "password": s["rapi_password"], "fingerprint": sim["fingerprint"],
                        "node": SIM_NODE, "queue_dir": os.path.join(self.sim_dir, "queue"),
                        "url": sim["url"], "real": False}
        return sim

    def rapi_client(self, **kwargs):
        """A RAPI client of the deployment's Ganeti (the simulator or the real one)."""
        return real_ganeti.rapi_client(self.cluster, **kwargs)

    def inject_failures(self, *opcodes, after_change=False):
        """Make the simulator fail every op of ``opcodes`` (none: fail
        nothing again), with the message ``e2e: injected <opcode> failure``;
        ``after_change``: once the change is made (``PUT /sim/config``,
        docs/simulator.rst)."""
        if self.real:
            raise QuickstartError("failure injection is the simulator's")
        rules = [{"opcode": op, "message": "e2e: injected %s failure" % op, "after_change": after_change}
                 for op in opcodes]
        c = self.cluster
        auth = base64.b64encode(("%s:%s" % (c["user"], c["password"])).encode()).decode()
        req = urllib.request.Request(self.sim["url"] + "/sim/config", method="PUT",
                                     data=json.dumps({"fail_rules": rules}).encode(),
                                     headers={"Authorization": "Basic " + auth,
                                              "Content-Type": "application/json"})
        context = ssl.create_default_context(cafile=self.sim["cert"])
        with urllib.request.urlopen(req, timeout=10, context=context) as resp:
            resp.read()

    def start_cluster(self):
        """Start the simulator, or hook this deployment into the real cluster."""
        if self.real:
            self.write_hooks(self.cluster["hooks_dir"])
        else:
            self.start_simulator()
        c = self.cluster
        self.info.update(rapi=c["url"], rapi_user=c["user"], rapi_password=c["password"])

    def register_backend(self):
        c = self.cluster
        backends = self._manage_json("backend-list")
        existing = [b for b in backends if b.get("clustername") == c["cluster_name"]]
        if existing:
            backend_id = str(existing[0]["id"])
            self.manage("backend-modify", backend_id, "--port", str(c["port"]),
                        "--fingerprint", c["fingerprint"], "--undrained", "--online")
        else:
            self.manage("backend-add", "--clustername", c["cluster_name"], "--port", str(c["port"]),
                        "--user", c["user"], "--password-env", PASSWORD_ENV,
                        "--fingerprint", c["fingerprint"], "--undrained",
                        env={PASSWORD_ENV: c["password"]})
            backend_id = str(self._manage_json("backend-list")[0]["id"])
        networks = self._manage_json("network-list")
        if not any(n.get("public") in (True, "yes") for n in networks):
            subnet, gateway = REAL_PUBLIC_SUBNET if self.real else SIM_PUBLIC_SUBNET
            self.manage("network-create", "--name", "public", "--public", "--backend-id", backend_id,
                        "--subnet", subnet, "--gateway", gateway, "--type", "PUBLIC_ROUTED")
        self.manage("backend-update-status", "--older-than", "0")
        self.backend_id = backend_id

    def create_private_network_pools(self):
        """The bridge and MAC-prefix pools (once); on a real cluster, every
        bridge the pool and the settings name, on the node."""
        existing = {p.get("type") for p in self._manage_json("pool-list")}
        base, size = BRIDGE_POOL
        if self.real:
            base = self.cluster.get("bridge_pool_base") or base
            size = int(self.cluster.get("bridge_pool_size") or size)
        if "bridge" not in existing:
            self.manage("pool-create", "--type", "bridge", "--base", base, "--size", str(size))
        if "mac-prefix" not in existing:
            self.manage("pool-create", "--type", "mac-prefix", "--base", MAC_PREFIX_POOL[0],
                        "--size", str(MAC_PREFIX_POOL[1]))
        if self.real:
            self._make_node_links()

    def _make_node_links(self):
        from synnefo.settings.loader import load_settings

        conf = load_settings({}, self.settings_dir)
        wanted = {conf["PRIVATE_MAC_FILTERED_BRIDGE"]}
        if "CUSTOM_BRIDGED" in conf["ENABLED_NETWORKS"]:
            wanted.add(conf["CUSTOM_BRIDGED_BRIDGE"])
        for pool in self._manage_json("pool-list"):
            if pool.get("type") == "bridge":
                wanted.update("%s%d" % (pool["base"], i) for i in range(1, int(pool["size"]) + 1))
        missing = sorted(wanted - set(self.cluster.get("links") or ()))
        ns = self.cluster.get("ns")
        if missing and not ns:
            raise QuickstartError("the Ganeti state file names no namespace (SNF_GANETI_NS) to create "
                                  f"{' '.join(missing)} in: run `ci/real-ganeti.sh up` again")
        for name in missing:
            for cmd in (["ip", "netns", "exec", ns, "ip", "link", "add", name, "type", "bridge"],
                        ["ip", "netns", "exec", ns, "ip", "link", "set", name, "up"]):
                proc = subprocess.run(cmd, capture_output=True, text=True)
                if proc.returncode != 0 and "File exists" not in proc.stderr:
                    raise QuickstartError(f"cannot create bridge {name} on the Ganeti node "
                                          f"(namespace {ns}): {proc.stderr.strip()}")
        if missing:
            self.log(f"created on the Ganeti node: {' '.join(missing)}")

    def start_update_path(self):
        self.spawn("eventd", [os.path.join(self.bin, "snf-ganeti-eventd"), "--foreground",
                              "--queue-dir", self.cluster["queue_dir"],
                              "--cluster-name", self.cluster["cluster_name"],
                              "--state-file", self.path("eventd.state")])
        for i in range(1, self.dispatchers + 1):
            self.spawn(f"dispatcher-{i}", [os.path.join(self.bin, "snf-dispatcher"), "--foreground"])

    def start_api(self):
        self.spawn("api", [os.path.join(self.bin, "gunicorn"), "--bind", f"127.0.0.1:{self.api_port}",
                           "--workers", "2", "--threads", "4", "--access-logfile", "-",
                           "synnefo.webproject.wsgi:application"])
        url = f"http://127.0.0.1:{self.api_port}/api/v1.1/"

        def ready():
            self.check_alive()
            try:
                req = urllib.request.Request(url, headers={"X-Auth-Token": self.info["token"]})
                with urllib.request.urlopen(req, timeout=2) as resp:
                    return resp.status == 200
            except (urllib.error.URLError, OSError):
                return False
        _wait_for(ready, 60, f"the API at {url}")
        self.info["api"] = url
        self.info["ui"] = f"http://127.0.0.1:{self.api_port}/ui/"

    def wait_public_network(self, timeout=120):
        """Wait until the public network is ACTIVE. Its connect job runs
        through the update path just started; a server created before the
        network is connected to the node group fails in Ganeti, so "ready"
        means after it (seen: the first create of a browser test, made a
        second after start, ended ERROR)."""
        def active():
            self.check_alive()
            return any(n.get("public") in (True, "yes") and n.get("state") == "ACTIVE"
                       for n in self._manage_json("network-list"))
        _wait_for(active, timeout, "the public network to become ACTIVE")

    def start_reconciler(self):
        """The staggered reconciliation, as the systemd timer runs it: one
        ``reconcile-servers --fix-all`` every ``reconcile_every`` seconds."""
        minutes = self.reconcile_every / 60
        manage = shlex.quote(os.path.join(self.bin, "snf-manage"))
        # SIGTERM (stop) ends the whole loop, the sleep too.
        loop = (f"trap 'kill $! 2>/dev/null; exit 0' TERM; while :; do {manage} reconcile-servers --fix-all "
                f"--interval {minutes:g}; sleep {self.reconcile_every:g} & wait $!; done")
        self.spawn("reconciler", ["/bin/sh", "-c", loop])

    def start(self):
        self.write_settings()
        self.prepare_database()
        self.start_cluster()
        self.register_backend()
        self.create_private_network_pools()
        self.start_update_path()
        self.start_console_proxy()
        self.start_api()
        self.wait_public_network()
        if self.reconcile_every:
            self.start_reconciler()
        self.info["settings_dir"] = self.settings_dir
        write_private(self.path("quickstart.json"), json.dumps(
            {k: self.info[k] for k in ("ui", "api", "token", "settings_dir", "rapi", "rapi_user",
                                       "rapi_password")}, indent=2))
        return self.info

    def stop(self, timeout=15):
        """SIGTERM in reverse start order (API first, simulator last); kill leftovers."""
        for _name, proc in reversed(self.processes):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        statuses = {name: proc.returncode for name, proc in self.processes}
        self.processes = []
        if self.real:
            self.remove_hooks(self.cluster["hooks_dir"])
        return statuses


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="snf-quickstart",
        description="Run the whole Cyclades system on this machine: SQLite, the file-system broker, "
                    "the Ganeti simulator, eventd, two dispatchers and the API on 127.0.0.1. "
                    "A daemon that dies is restarted (after 1 s, doubling up to 30 s); "
                    "Ctrl-C stops everything.")
    parser.add_argument("--dir", default="var", help="directory of the deployment (default: ./var)")
    parser.add_argument("--port", type=int, default=8000, help="API port on 127.0.0.1 (default: 8000)")
    parser.add_argument("--conf", action="append", default=[],
                        help="extra settings file appended to the deployment's settings "
                             "(e.g. PostgreSQL DATABASES and RabbitMQ AMQP_HOSTS); repeatable")
    parser.add_argument("--sim-arg", action="append", default=[],
                        help="extra option for snf-ganeti-sim, e.g. --sim-arg=--job-duration=0.5")
    parser.add_argument("--ganeti", metavar="STATE_FILE", nargs="?", const=real_ganeti.DEFAULT_STATE_FILE,
                        help="use the real Ganeti cluster described by this state file (written by "
                             "`ci/real-ganeti.sh up`, default /run/snf-real-ganeti.env) instead of "
                             "starting the simulator")
    parser.add_argument("--reset", action="store_true",
                        help="delete the deployment directory first (database, broker, simulator state)")
    add_version_option(parser, "snf-quickstart", "snf-tools")
    return parser.parse_args(argv)


def supervision_report(deployment):
    """Show a supervision event on the terminal and append it to log/supervisor.log."""
    def report(line):
        stamped = "%s snf-quickstart: %s" % (time.strftime("%Y-%m-%d %H:%M:%S"), line)
        print(stamped, flush=True)
        with open(os.path.join(deployment.log_dir, "supervisor.log"), "a") as handle:
            handle.write(stamped + "\n")
    return report


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    extra = ""
    for path in args.conf:
        try:
            with open(path) as handle:
                extra += handle.read() + "\n"
        except OSError as exc:
            print(f"snf-quickstart: cannot read {path}: {exc.strerror}", file=sys.stderr)
            return 2
    try:
        ganeti = read_ganeti_state(args.ganeti) if args.ganeti else None
    except QuickstartError as exc:
        print(f"snf-quickstart: {exc}", file=sys.stderr)
        return 2
    if args.reset and os.path.isdir(args.dir):
        shutil.rmtree(args.dir)
    deployment = Deployment(args.dir, api_port=args.port, extra_conf=extra, sim_args=args.sim_arg,
                            ganeti=ganeti, reconcile_every=RECONCILE_EVERY)
    stopping = []

    def on_signal(signum, frame):
        stopping.append(signum)
        raise KeyboardInterrupt
    # SIGINT too, explicitly: a shell starting `make run &` hands it down ignored.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    try:
        info = deployment.start()
        print(f"""
Cyclades is running.
  Web UI:       {info['ui']}  (sign in with the token below)
  Admin web:    {info['ui'][:-3]}admin/  (staff only: snf-manage user-modify {DEMO_USER} --staff)
  API:          {info['api']}
  Token:        {info['token']}
  Ganeti RAPI:  {info['rapi']} ({'real Ganeti' if deployment.real else 'simulator'}, user {info['rapi_user']})
  Consoles:     snf-vncauthproxy, control channel {info['console_proxy']}
  snf-manage:   SYNNEFO_SETTINGS_DIR={info['settings_dir']} .venv/bin/snf-manage ...
  Logs:         {deployment.log_dir}/
  Details:      {deployment.path('quickstart.json')}

Try:  curl -s -H 'X-Auth-Token: {info['token']}' {info['api']}flavors/detail
A daemon that dies is restarted (logged in {deployment.log_dir}/supervisor.log).
Press Ctrl-C to stop.""", flush=True)
        supervisor = Supervisor(deployment, report=supervision_report(deployment))
        while True:
            supervisor.step()
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nstopping...", flush=True)
        deployment.stop()
        return 0
    except QuickstartError as exc:
        print(f"snf-quickstart: {exc}", file=sys.stderr)
        deployment.stop()
        return 1
    except BaseException:  # a bug: leave no daemon behind
        deployment.stop()
        raise


if __name__ == "__main__":
    sys.exit(main())
