"""``snf-vncauthproxy``: command line of the VNC authentication proxy.

    snf-vncauthproxy [--foreground] [options]      run the daemon
    snf-vncauthproxy --add-user NAME [--auth-file FILE]
                                                   add a control user (password on stdin)
"""

import argparse
import asyncio
import getpass
import logging
import os
import socket
import ssl
import sys

from synnefo.util.service import run_service
from synnefo.util.version import add_version_option
from synnefo.vncauthproxy import users as users_mod
from synnefo.vncauthproxy.proxy import Config, VncAuthProxy

PROG = "snf-vncauthproxy"
DEFAULT_AUTH_FILE = "/var/lib/snf-vncauthproxy/users"
DEFAULT_PID_FILE = "/var/run/snf-vncauthproxy/snf-vncauthproxy.pid"
DEFAULT_LOG_FILE = "/var/log/snf-vncauthproxy/snf-vncauthproxy.log"
log = logging.getLogger(PROG)


def _port(text):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be a port number 0-65535, got %r" % text)
    return value


def _positive(kind):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            value = 0
        if value <= 0:
            raise argparse.ArgumentTypeError("must be a positive number, got %r" % text)
        return value
    return parse


def build_parser():
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="VNC authentication proxy for Cyclades API nodes: sets up one-time, password-protected "
                    "forwardings (plain VNC, or WebSocket for browsers) to instance consoles on request of "
                    "its control channel (the JSON protocol of GRNET snf-vncauthproxy 1.7). "
                    "See docs/console.rst.")
    g = parser.add_argument_group("control channel")
    g.add_argument("--listen-address", default="127.0.0.1",
                   help="address of the control channel (default 127.0.0.1)")
    g.add_argument("--listen-port", type=_port, default=24999,
                   help="port of the control channel (default 24999)")
    g.add_argument("--enable-ssl", action="store_true",
                   help="speak TLS on the control channel (needs --cert-file and --key-file)")
    g.add_argument("--auth-file", default=DEFAULT_AUTH_FILE,
                   help="control users, NAME:HASH lines (default %s); re-read when it changes"
                        % DEFAULT_AUTH_FILE)
    g.add_argument("--add-user", metavar="NAME",
                   help="add NAME to --auth-file (or change its password) with the password read from "
                        "stdin, then exit")
    g.add_argument("--max-auth-failures", type=_positive(int), default=10,
                   help="failed control authentications per client address per minute before it is "
                        "refused for the rest of the minute (default 10)")
    f = parser.add_argument_group("forwardings")
    f.add_argument("--proxy-listen-address", default=None,
                   help="address the forwardings listen on (default: every address, IPv4 and IPv6)")
    f.add_argument("--proxy-address", default=None,
                   help="address users are told to connect to (default: this host's FQDN)")
    f.add_argument("--min-port", type=_port, default=25000, help="first port of the pool (default 25000)")
    f.add_argument("--max-port", type=_port, default=30000, help="last port of the pool (default 30000)")
    f.add_argument("--connect-timeout", type=_positive(float), default=30.0,
                   help="seconds a forwarding waits for its one client (default 30)")
    f.add_argument("--server-timeout", type=_positive(float), default=5.0,
                   help="seconds to connect to and handshake with a VM's VNC server (default 5)")
    f.add_argument("--max-sessions", type=_positive(int), default=1000,
                   help="forwardings open at once, waiting or relaying (default 1000)")
    f.add_argument("--cert-file", help="TLS certificate (PEM) for vnc-wss forwardings and --enable-ssl")
    f.add_argument("--key-file", help="its private key (PEM; default: in --cert-file)")
    d = parser.add_argument_group("daemon")
    d.add_argument("-f", "--foreground", action="store_true",
                   help="do not detach; log to stderr unless --log-file is given")
    d.add_argument("-p", "--pid-file", default=None,
                   help="pid file (default %s when detached)" % DEFAULT_PID_FILE)
    d.add_argument("-l", "--log-file", default=None,
                   help="log file (default %s when detached)" % DEFAULT_LOG_FILE)
    d.add_argument("-d", "--debug", action="store_true", help="debug logging")
    add_version_option(parser, PROG, "snf-vncauthproxy")
    return parser


def read_password():
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Again: "):
            raise users_mod.UsersFileError("the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def add_user(args):
    try:
        users_mod.add_user(args.auth_file, args.add_user, read_password())
    except (users_mod.UsersFileError, OSError) as exc:
        print("%s: %s" % (PROG, exc), file=sys.stderr)
        return 1
    print("%s: user %s saved in %s" % (PROG, args.add_user, args.auth_file))
    return 0


def make_config(args):
    """-> Config; ValueError with a one-line message on bad options or files."""
    if args.min_port == 0 or args.min_port > args.max_port:
        raise ValueError("--min-port must be at least 1 and at most --max-port")
    tls = None
    if args.cert_file:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            tls.load_cert_chain(args.cert_file, args.key_file)
        except (OSError, ssl.SSLError) as exc:
            raise ValueError("cannot load the TLS certificate %s: %s" % (args.cert_file, exc)) from None
    elif args.key_file:
        raise ValueError("--key-file needs --cert-file")
    if args.enable_ssl and tls is None:
        raise ValueError("--enable-ssl needs --cert-file (and --key-file)")
    try:
        store = users_mod.UserStore(args.auth_file)
    except users_mod.UsersFileError as exc:
        raise ValueError("%s (create it with --add-user NAME)" % exc) from None
    if not len(store):
        raise ValueError("no users in %s: add one with --add-user NAME" % args.auth_file)
    return Config(listen_address=args.listen_address, listen_port=args.listen_port,
                  control_tls=tls if args.enable_ssl else None,
                  proxy_listen_address=args.proxy_listen_address,
                  proxy_address=args.proxy_address or socket.getfqdn(),
                  min_port=args.min_port, max_port=args.max_port, connect_timeout=args.connect_timeout,
                  vm_timeout=args.server_timeout, tls=tls, max_sessions=args.max_sessions,
                  max_auth_failures=args.max_auth_failures, users=store)


async def serve(config, stop_event):
    proxy = VncAuthProxy(config)
    await proxy.start()
    try:
        while not stop_event.is_set():
            await asyncio.sleep(0.2)
    finally:
        log.info("stopping: closing the control channel and %d forwarding(s) (%d requests served, "
                 "%d failed)", len(proxy.forwardings), proxy.stats["ok"], proxy.stats["failed"])
        await proxy.close()


def _run(config, stop_event):
    try:
        asyncio.run(serve(config, stop_event))
    except OSError as exc:
        log.error("cannot listen on %s port %d: %s", config.listen_address, config.listen_port,
                  exc.strerror or exc)
        return 1
    log.info("stopped")
    return 0


def main(argv=None):
    args = build_parser().parse_args(argv)
    for attr in ("auth_file", "cert_file", "key_file", "pid_file", "log_file"):
        if getattr(args, attr):
            setattr(args, attr, os.path.abspath(getattr(args, attr)))
    if args.add_user is not None:
        return add_user(args)
    try:
        config = make_config(args)
    except ValueError as exc:
        print("%s: %s" % (PROG, exc), file=sys.stderr)
        return 1
    return run_service(PROG, lambda stop_event: _run(config, stop_event), foreground=args.foreground,
                       debug=args.debug, pid_file=args.pid_file, log_file=args.log_file,
                       default_pid_file=DEFAULT_PID_FILE, default_log_file=DEFAULT_LOG_FILE)


if __name__ == "__main__":
    sys.exit(main())
