"""Helpers of the proxy tests: the daemon as a child process, a VM's VNC
server (the simulator's), control requests over a real socket."""

import json
import os
import socket
import subprocess
import sys
import time

from synnefo.tools.ganeti_sim.vnc import InstanceConsole
from synnefo.tools.loopback import free_port

USER, PASSWORD = "cyclades", "control-secret"
# A pool of our own (docs: tests use 25000-25099).
POOL = (25000, 25099)


def proxy_command(*args):
    return [sys.executable, "-m", "synnefo.vncauthproxy.cli", *args]


def add_user(auth_file, name=USER, password=PASSWORD):
    return subprocess.run(proxy_command("--auth-file", str(auth_file), "--add-user", name),
                          input=password + "\n", capture_output=True, text=True, timeout=60)


class ProxyProcess:
    """``snf-vncauthproxy --foreground`` on 127.0.0.1 with a fresh users file."""

    def __init__(self, directory, *extra):
        self.directory = str(directory)
        self.auth_file = os.path.join(self.directory, "users")
        self.log_file = os.path.join(self.directory, "proxy.log")
        self.port = free_port()
        self.extra = [str(e) for e in extra]
        self.proc = None

    def start(self):
        if not os.path.exists(self.auth_file):
            assert add_user(self.auth_file).returncode == 0
        self.proc = subprocess.Popen(proxy_command(
            "--foreground", "--log-file", self.log_file, "--auth-file", self.auth_file,
            "--listen-address", "127.0.0.1", "--listen-port", str(self.port),
            "--proxy-listen-address", "127.0.0.1", "--proxy-address", "127.0.0.1",
            "--min-port", str(POOL[0]), "--max-port", str(POOL[1]), *self.extra),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("snf-vncauthproxy exited: %s" % self.proc.stderr.read().decode())
            if self.log_contains("control channel on", wait=0):
                return self
            time.sleep(0.05)
        raise RuntimeError("snf-vncauthproxy did not start: %s" % self.log())

    def log(self):
        try:
            with open(self.log_file) as handle:
                return handle.read()
        except OSError:
            return ""

    def log_contains(self, text, wait=5.0):
        """Whether ``text`` is in the log, waiting up to ``wait`` seconds for it."""
        deadline = time.monotonic() + wait
        while text not in self.log():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def raw(self, data, tls=None, timeout=15):
        """Send ``data`` on the control channel, half-close, return what comes back."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as raw:
            sock = tls.wrap_socket(raw, server_hostname="127.0.0.1") if tls else raw
            sock.sendall(data)
            if not tls:
                sock.shutdown(socket.SHUT_WR)
            answer = b""
            while not answer.endswith(b"\n"):
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
            return answer

    def request(self, tls=None, **fields):
        body = {"source_port": 0, "destination_address": "127.0.0.1", "password": "one-time",
                "auth_user": USER, "auth_password": PASSWORD, "type": "vnc"}
        body.update(fields)
        body = {k: v for k, v in body.items() if v is not None}
        return json.loads(self.raw(json.dumps(body).encode(), tls=tls))


def vm_console(name="snf-test-vm"):
    """An unauthenticated RFB server like a KVM instance's (the simulator's)."""
    return InstanceConsole("127.0.0.1", free_port(), name, "node1.test")
