"""Private PostgreSQL and RabbitMQ instances for the chaos suite, and a small
tmpfs for the file-system broker.

The chaos suite restarts its database and its broker on purpose, so it never
uses the machine's services (other work runs on them): each instance here has
its own data folder under the run's directory, its own free port, and is
stopped (and its folder left to the caller to delete) when the run ends.
Anything that cannot start raises :class:`ServiceError` with the reason and
the end of the service's log: the suite fails loudly, it never skips.
"""

import os
import pwd
import secrets
import shutil
import subprocess
import time

from synnefo.tools.loopback import answers, free_port

PG_BIN = os.environ.get("CHAOS_PG_BIN", "/usr/lib/postgresql/15/bin")
# The server script itself: /usr/sbin/rabbitmq-server is Debian's wrapper,
# which switches to the rabbitmq user and the system node's folders.
RABBITMQ_BIN = os.environ.get("CHAOS_RABBITMQ_BIN", "/usr/lib/rabbitmq/bin")


class ServiceError(Exception):
    pass


def _tail(path, lines=15):
    try:
        with open(path, errors="replace") as handle:
            return "".join(handle.readlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait_port(port, timeout, what, log_path, alive=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if answers(port, timeout=0.5):
            return
        if alive is not None and not alive():
            break
        time.sleep(0.2)
    raise ServiceError(f"{what} does not answer on 127.0.0.1:{port}; end of {log_path}:\n"
                       f"{_tail(log_path)}")


class PrivatePostgres:
    """A PostgreSQL cluster of its own: ``initdb`` into ``base/data``, ``pg_ctl``
    on a free port, unix socket in ``base``. As root it runs as the
    ``postgres`` user (``initdb`` refuses root)."""

    def __init__(self, base):
        self.base = os.path.abspath(base)
        self.data = os.path.join(self.base, "data")
        self.log_path = os.path.join(self.base, "postgres.log")
        self.port = free_port()
        self.user = "postgres" if os.geteuid() == 0 else None

    def _run(self, args, timeout=60):
        cmd = [os.path.join(PG_BIN, args[0]), *args[1:]]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd="/")
        if proc.returncode != 0:
            raise ServiceError(f"{' '.join(args[:2])} failed ({proc.returncode}): "
                               f"{(proc.stderr or proc.stdout).strip()[-800:]}\n{_tail(self.log_path)}")
        return proc

    def init(self):
        if not os.path.exists(os.path.join(PG_BIN, "initdb")):
            raise ServiceError(f"no PostgreSQL binaries in {PG_BIN} (set CHAOS_PG_BIN)")
        os.makedirs(self.base, exist_ok=True)
        if self.user:
            pw = pwd.getpwnam(self.user)
            os.chown(self.base, pw.pw_uid, pw.pw_gid)
        self._run(["initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "-E", "UTF8",
                   "--no-sync"])

    def start(self):
        # fsync off: the data is thrown away, and the machine is shared.
        options = (f"-p {self.port} -k {self.base} -h 127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run(["pg_ctl", "-D", self.data, "-l", self.log_path, "-w", "-t", "60",
                   "-o", options, "start"], timeout=90)
        _wait_port(self.port, 30, "the private PostgreSQL", self.log_path)

    def stop(self, mode="fast"):
        """``fast``: sessions are cut, as in a restart; ``immediate``: a crash."""
        self._run(["pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop"], timeout=90)

    def running(self):
        return os.path.exists(os.path.join(self.data, "postmaster.pid"))

    def create_database(self, name):
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")

    def conf(self, database):
        """The ``DATABASES`` setting of a deployment on ``database``."""
        return (f'DATABASES = {{"default": {{"ENGINE": "django.db.backends.postgresql",\n'
                f'    "NAME": {database!r}, "USER": "postgres", "HOST": "127.0.0.1", '
                f'"PORT": {self.port}}}}}\n')

    def close(self):
        if self.running():
            try:
                self.stop("immediate")
            except ServiceError:
                pass


class PrivateRabbitMQ:
    """A RabbitMQ node of its own (``chaos-<random>@localhost``): its own ports,
    mnesia and log folders, Erlang cookie and port mapper, no plugins and
    none of the system node's configuration. Stopped with ``rabbitmqctl -n
    NODE stop``."""

    def __init__(self, base):
        self.base = os.path.abspath(base)
        self.node = f"chaos-{secrets.token_hex(3)}@localhost"
        self.port = free_port()
        self.dist_port = free_port()
        self.epmd_port = free_port()
        self.log_path = os.path.join(self.base, "server.log")
        self.proc = None

    def env(self):
        env = dict(os.environ)
        home = os.path.join(self.base, "home")
        env.update({
            "HOME": home,  # the Erlang cookie of this node and of its rabbitmqctl
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_MNESIA_BASE": os.path.join(self.base, "mnesia"),
            "RABBITMQ_LOG_BASE": os.path.join(self.base, "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": os.path.join(self.base, "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": os.path.join(self.base, "rabbitmq"),  # none: the defaults
            "RABBITMQ_ADVANCED_CONFIG_FILE": os.path.join(self.base, "advanced.config"),
            "RABBITMQ_CONF_ENV_FILE": os.path.join(self.base, "rabbitmq-env.conf"),
            "RABBITMQ_PID_FILE": os.path.join(self.base, "rabbitmq.pid"),
        })
        return env

    def prepare(self):
        if not os.path.exists(os.path.join(RABBITMQ_BIN, "rabbitmq-server")):
            raise ServiceError(f"no rabbitmq-server in {RABBITMQ_BIN} (set CHAOS_RABBITMQ_BIN)")
        home = os.path.join(self.base, "home")
        for folder in (home, os.path.join(self.base, "mnesia"), os.path.join(self.base, "log")):
            os.makedirs(folder, exist_ok=True)
        os.chmod(home, 0o700)
        cookie = os.path.join(home, ".erlang.cookie")
        with open(cookie, "w") as handle:
            handle.write(secrets.token_hex(16))
        os.chmod(cookie, 0o400)
        for name in ("enabled_plugins", "rabbitmq-env.conf"):
            with open(os.path.join(self.base, name), "w") as handle:
                handle.write("[].\n" if name == "enabled_plugins" else "")

    def start(self, timeout=90):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([os.path.join(RABBITMQ_BIN, "rabbitmq-server")], env=self.env(),
                                     stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True, cwd=self.base)
        log.close()
        _wait_port(self.port, timeout, f"the private RabbitMQ {self.node}", self.log_path,
                   alive=lambda: self.proc.poll() is None)
        # The port opens before the node is fully booted.
        self.ctl("await_startup", timeout=timeout)

    def ctl(self, *args, timeout=60):
        proc = subprocess.run([os.path.join(RABBITMQ_BIN, "rabbitmqctl"), "-n", self.node, *args],
                              env=self.env(), capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise ServiceError(f"rabbitmqctl {' '.join(args)} failed ({proc.returncode}): "
                               f"{(proc.stderr or proc.stdout).strip()[-800:]}")
        return proc.stdout

    def stop(self):
        self.ctl("stop", timeout=90)
        if self.proc is not None:
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def url(self):
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.stop()
            except (ServiceError, subprocess.TimeoutExpired):
                os.killpg(self.proc.pid, 9)
                self.proc.wait()
        # The node's own port mapper (ERL_EPMD_PORT), started by the node, outlives it.
        epmd = shutil.which("epmd") or "/usr/lib/erlang/bin/epmd"
        for _ in range(20):  # it refuses while the stopped node is still registered
            proc = subprocess.run([epmd, "-port", str(self.epmd_port), "-kill"], capture_output=True,
                                  text=True, timeout=15)
            if proc.returncode != 0 or "living nodes" not in proc.stdout + proc.stderr:
                break
            time.sleep(0.5)


class SmallTmpfs:
    """A tmpfs of ``size`` mounted on ``path`` (root only): the file-system
    broker's folder, which the disk-full fault fills up."""

    def __init__(self, path, size="4m"):
        self.path = os.path.abspath(path)
        self.size = size
        self.mounted = False

    def mount(self):
        if os.geteuid() != 0:
            raise ServiceError("the disk-full fault mounts a small tmpfs: run as root")
        os.makedirs(self.path, exist_ok=True)
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.size},mode=0755", "tmpfs",
                               self.path], capture_output=True, text=True)
        if proc.returncode != 0:
            raise ServiceError(f"cannot mount a tmpfs on {self.path}: {proc.stderr.strip()}")
        self.mounted = True

    def close(self):
        if self.mounted:
            subprocess.run(["umount", "-l", self.path], capture_output=True)
            self.mounted = False
