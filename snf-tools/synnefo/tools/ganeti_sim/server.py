"""``snf-ganeti-sim``: command line and start-up of the simulated Ganeti cluster.

Once the HTTPS socket listens, ``<state-dir>/sim.json`` =
``{"url", "port", "cert", "fingerprint", "cluster_name", ...}`` is written
(atomically) and the fingerprint is printed; on SIGTERM/SIGINT the server
stops, running jobs finish or end as error, and ``sim.json`` is removed.
"""

import argparse
import logging
import os
import signal
import socket
import sys
import threading
from http.server import ThreadingHTTPServer

from synnefo.tools.ganeti_sim.certificate import ensure_certificate, fingerprint, server_context
from synnefo.tools.ganeti_sim.cluster import Cluster
from synnefo.tools.ganeti_sim.failures import FailRule
from synnefo.tools.ganeti_sim.files import write_json
from synnefo.tools.ganeti_sim.jobs import WAIT_TIMEOUT, JobQueue
from synnefo.tools.ganeti_sim.rapi import RapiHandler
from synnefo.tools.ganeti_sim.runtime import RuntimeConfig, check_duration
from synnefo.tools.ganeti_sim.vnc import ConsoleServers
from synnefo.util.version import add_version_option

log = logging.getLogger("snf-ganeti-sim")

PROG = "snf-ganeti-sim"
SIM_JSON = "sim.json"


class SimError(Exception):
    """A start-up problem: one line on stderr, exit status 1."""


def parse_user(text):
    """``NAME:PASSWORD:write|read`` -> ``(name, password, can_write)``."""
    name, sep1, rest = text.partition(":")
    password, sep2, access = rest.rpartition(":")
    if not (sep1 and sep2 and name and password) or access not in ("write", "read"):
        raise argparse.ArgumentTypeError("--user must be NAME:PASSWORD:write|read, got %r" % text)
    return name, password, access == "write"


def read_users_file(path):
    """Users from a file in Ganeti's ``rapi/users`` format: one ``NAME PASSWORD [OPTIONS]``
    per line (``#`` comments), OPTIONS a comma-separated list where ``write`` grants
    writes; a password may carry Ganeti's ``{cleartext}`` prefix. Returns
    ``[(name, password, can_write)]``; raises ``SimError`` naming the line."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise SimError("cannot read the users file %s: %s" % (path, getattr(exc, "strerror", None) or exc))
    users = []
    for number, line in enumerate(lines, 1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        if len(fields) not in (2, 3):
            raise SimError("%s, line %d: expected NAME PASSWORD [write|read]" % (path, number))
        name, password = fields[:2]
        if password.upper().startswith("{HA1}"):
            raise SimError("%s, line %d: {HA1} password hashes are not supported by the simulator"
                           % (path, number))
        if password.lower().startswith("{cleartext}"):
            password = password[len("{cleartext}"):]
        options = fields[2].split(",") if len(fields) == 3 else []
        unknown = set(options) - {"write", "read"}
        if unknown or not password:
            raise SimError("%s, line %d: %s" % (path, number, "unknown option %s" % ", ".join(sorted(unknown))
                                                if unknown else "empty password"))
        users.append((name, password, "write" in options))
    if not users:
        raise SimError("the users file %s names no user" % path)
    return users


def parse_fail(text):
    try:
        return FailRule.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_duration(text):
    try:
        return check_duration(float(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive integer, got %r" % text)
    return value


def build_parser():
    parser = argparse.ArgumentParser(prog=PROG, description="A simulated one-node Ganeti cluster behind "
                                     "an HTTPS RAPI v2 (see docs/simulator.rst).")
    parser.add_argument("--state-dir", required=True,
                        help="state, certificate, sim.json (created if missing)")
    parser.add_argument("--queue-dir", help="where job files go (default: STATE_DIR/queue)")
    parser.add_argument("--listen", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5080, help="TCP port; 0 picks a free one (default 5080)")
    parser.add_argument("--cluster-name", default="sim.cyclades.local", help="the cluster's name")
    parser.add_argument("--node-name", default=None, help="the node's (and master's) name; default: this "
                        "host's FQDN")
    parser.add_argument("--users-file", metavar="FILE",
                        help="RAPI users, one 'NAME PASSWORD [write]' per line (Ganeti's rapi/users "
                             "format)")
    parser.add_argument("--user", action="append", type=parse_user, default=[],
                        metavar="NAME:PASSWORD:write|read",
                        help="a RAPI user (repeatable); the password is visible to every user in "
                             "ps, prefer --users-file")
    parser.add_argument("--hooks-dir", help="run DIR/<path>-post.d/* after matching ops succeed "
                                            "(a relative DIR is taken from the current directory)")
    parser.add_argument("--progress-monitor", metavar="CMD",
                        help="feed snf-image progress lines to 'CMD <instance>' during creates")
    parser.add_argument("--job-duration", type=parse_duration, default=1.0, metavar="SECONDS",
                        help="time a job takes from queued to its end (default 1.0)")
    parser.add_argument("--fail", action="append", type=parse_fail, default=[], metavar="OPCODE[:GLOB]",
                        help="make OPCODE fail (for instances/networks matching GLOB); repeatable")
    parser.add_argument("--os", action="append", dest="os_names", metavar="NAME",
                        help="an installed OS definition (repeatable; default: snf-image and noop)")
    parser.add_argument("--hypervisor", choices=("kvm", "fake"), default="kvm",
                        help="kvm gives instances a VNC console port; fake gives none (default kvm)")
    parser.add_argument("--vnc-address", default=None,
                        help="address the running kvm instances' VNC servers listen on, reported as the "
                             "console host (default: the --listen address); 'none' serves no VNC")
    parser.add_argument("--node-memory", type=positive_int, default=32768, help="node memory in MiB")
    parser.add_argument("--node-disk", type=positive_int, default=1048576, help="node disk in MiB")
    parser.add_argument("--node-cpus", type=positive_int, default=16, help="node CPUs")
    parser.add_argument("--default-bridge", default="br0", help="link of NICs given without one")
    parser.add_argument("--wait-timeout", type=parse_duration, default=WAIT_TIMEOUT,
                        help="how long /2/jobs/N/wait holds a request (default %s s)" % WAIT_TIMEOUT)
    parser.add_argument("--foreground", action="store_true",
                        help="stay in the foreground (default: detach once listening)")
    add_version_option(parser, PROG, "snf-tools")
    parser.add_argument("--log-file", help="log here (default: stderr, or STATE_DIR/sim.log when detached)")
    parser.add_argument("-d", "--debug", action="store_true", help="log every request")
    parser.add_argument("--seed-instances", type=parse_seed, metavar="PREFIX:FIRST:COUNT",
                        help="at start, add COUNT running instances PREFIX<FIRST>... that are not "
                             "there yet (diskless, one bridged NIC, no job, no hook; e.g. "
                             "snf-:1:10000 for benchmarks)")
    return parser


def parse_seed(text):
    """``PREFIX:FIRST:COUNT`` -> ``(prefix, first, count)``."""
    parts = str(text).rsplit(":", 2)
    try:
        if len(parts) != 3 or not parts[0]:
            raise ValueError
        first, count = int(parts[1]), int(parts[2])
    except ValueError:
        raise argparse.ArgumentTypeError(
            "--seed-instances must be PREFIX:FIRST:COUNT, got %r" % text) from None
    if first < 0 or count < 1:
        raise argparse.ArgumentTypeError("--seed-instances needs FIRST >= 0 and COUNT >= 1, got %r" % text)
    return parts[0], first, count


class RapiServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, context, cluster, queue, config, users, wait_timeout):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.ssl_context = context
        self.cluster, self.queue, self.config = cluster, queue, config
        self.users, self.wait_timeout = users, wait_timeout
        super().__init__(address, RapiHandler)

    def get_request(self):
        sock, addr = super().get_request()
        # An answer is written in two sends (head, then body): with Nagle's
        # algorithm the body waited for the client's delayed ACK of the head,
        # about 40 ms a request on a kept-alive connection.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def finish_request(self, request, client_address):
        try:
            request.do_handshake()
        except (OSError, ValueError) as exc:
            log.debug("TLS handshake with %s failed: %s", client_address, exc)
            return
        super().finish_request(request, client_address)


def url_for(host, port):
    return "https://%s:%d" % ("[%s]" % host if ":" in host else host, port)


class Simulator:
    def __init__(self, args):
        self.args = args
        self.state_dir = os.path.abspath(args.state_dir)
        self.sim_json = os.path.join(self.state_dir, SIM_JSON)
        self.server = None
        self.queue = None
        self.consoles = None

    def prepare(self):
        args = self.args
        try:
            os.makedirs(self.state_dir, mode=0o750, exist_ok=True)
        except OSError as exc:
            raise SimError("cannot create the state directory %s: %s" % (self.state_dir, exc)) from None
        if args.hooks_dir and not os.path.isdir(args.hooks_dir):
            raise SimError("--hooks-dir %s is not a directory" % args.hooks_dir)
        # Hooks run from "/" (as Ganeti runs them): a relative path would name another place.
        hooks_dir = os.path.abspath(args.hooks_dir) if args.hooks_dir else None
        users = list(args.user)
        if args.users_file:
            users += read_users_file(args.users_file)
        if not users:
            raise SimError("no RAPI user: give --users-file FILE")
        node_name = args.node_name or socket.getfqdn()
        self.cluster = Cluster(args.cluster_name, node_name, self.state_dir, node_memory=args.node_memory,
                               node_disk=args.node_disk, node_cpus=args.node_cpus, hypervisor=args.hypervisor,
                               default_bridge=args.default_bridge,
                               os_names=args.os_names or ("snf-image", "noop"))
        try:
            self.cluster.load()
        except (OSError, ValueError, KeyError) as exc:
            raise SimError("cannot load the simulator state: %s" % exc) from None
        vnc_address = args.vnc_address or args.listen
        if args.hypervisor == "kvm" and vnc_address != "none":
            self.consoles = ConsoleServers(self.cluster, vnc_address)
            self.cluster.console_host = vnc_address
            self.cluster.console_port_free = self.consoles.port_free
        if args.seed_instances:
            added = self.cluster.seed_instances(*args.seed_instances)
            self.cluster.save()
            log.info("seeded %d instance(s) %s%d..%d", added, args.seed_instances[0],
                     args.seed_instances[1], args.seed_instances[1] + args.seed_instances[2] - 1)
        config = RuntimeConfig(args.job_duration, args.fail)
        queue_dir = os.path.abspath(args.queue_dir or os.path.join(self.state_dir, "queue"))
        self.queue = JobQueue(self.cluster, queue_dir, config, hooks_dir=hooks_dir,
                              progress_monitor=args.progress_monitor)
        try:
            cert, key = ensure_certificate(self.state_dir, node_name, [args.listen])
            self.cert, self.fingerprint = cert, fingerprint(cert)
            context = server_context(cert, key)
        except (OSError, ValueError) as exc:
            raise SimError("cannot make or read the certificate in %s: %s" % (self.state_dir, exc)) from None
        users = {name: (password, write) for name, password, write in users}
        try:
            self.server = RapiServer((args.listen, args.port), context, self.cluster,
                                     self.queue, config, users, args.wait_timeout)
        except OSError as exc:
            raise SimError("cannot listen on %s port %s: %s" % (args.listen, args.port, exc)) from None
        self.port = self.server.server_address[1]
        try:
            self.unfinished = self.queue.load()
        except (OSError, ValueError) as exc:
            self.server.server_close()
            raise SimError("cannot load the job queue: %s" % exc) from None

    def resume_jobs(self):
        """Jobs that were queued/waiting at the last stop run again (threads
        start here, after a possible fork)."""
        if self.unfinished:
            log.info("resuming %d unfinished job(s): %s", len(self.unfinished),
                     ", ".join(str(job.id) for job in self.unfinished))
        self.queue.resume(self.unfinished)
        if self.consoles:
            self.consoles.start()

    def announce(self):
        info = {"url": url_for(self.args.listen, self.port), "port": self.port, "cert": self.cert,
                "fingerprint": self.fingerprint, "cluster_name": self.cluster.name,
                "node": self.cluster.node_name, "queue_dir": self.queue.queue_dir, "pid": os.getpid()}
        write_json(self.sim_json, info, mode=0o644)
        log.info("listening on %s (cluster %s, SHA-256 fingerprint %s)", info["url"], info["cluster_name"],
                 self.fingerprint)
        return info

    def serve(self):
        self.server.serve_forever(poll_interval=0.2)

    def stop(self):
        """From a signal: stop serving (in a thread: shutdown() waits for serve_forever)."""
        threading.Thread(target=self.server.shutdown, daemon=True).start()

    def close(self):
        self.queue.stop(timeout=max(10.0, 2 * self.queue.config.job_duration))
        self.server.server_close()
        if self.consoles:
            self.consoles.stop()
        with self.cluster.lock:
            self.cluster.save()
        if os.path.exists(self.sim_json):
            os.unlink(self.sim_json)
        log.info("stopped")


def setup_logging(args, detached):
    level = logging.DEBUG if args.debug else logging.INFO
    log_file = args.log_file or (os.path.join(args.state_dir, "sim.log") if detached else None)
    fmt = "%(asctime)s %(name)s %(levelname)s %(message)s"
    if log_file:
        logging.basicConfig(filename=log_file, level=level, format=fmt)
    else:
        logging.basicConfig(stream=sys.stderr, level=level, format=fmt)


def detach():
    """Fork into the background; the parent returns True (and should exit)."""
    if os.fork():
        return True
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    return False


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    sim = Simulator(args)
    try:
        os.makedirs(sim.state_dir, mode=0o750, exist_ok=True)
        setup_logging(args, detached=not args.foreground)
    except OSError as exc:
        print("%s: cannot set up the state directory or the log: %s" % (PROG, exc), file=sys.stderr)
        return 1
    try:
        sim.prepare()
    except SimError as exc:
        print("%s: %s" % (PROG, exc), file=sys.stderr)
        return 1
    url = url_for(args.listen, sim.port)
    print("%s: %s fingerprint sha256:%s" % (PROG, url, sim.fingerprint), flush=True)
    if not args.foreground and detach():
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sim.stop())
    signal.signal(signal.SIGINT, lambda *_: sim.stop())
    sim.resume_jobs()
    sim.announce()
    try:
        sim.serve()
    finally:
        sim.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
