"""Checks inside the guests: reachability (ping or TCP), SSH ``hostname``,
RDP port, injected file. They need the VMs to be reachable from where
burnin runs; where they are not (the simulator, Ganeti's fake hypervisor, a
filtered network) they are skipped with the reason, unless
``--guest-checks=yes`` makes that a failure."""

import contextlib
import ipaddress
import shutil
import socket
import subprocess
import threading
import time

from synnefo.tools.burnin.results import CheckFailed, Skip


def valid_ip(text, version):
    try:
        return ipaddress.ip_address(text).version == version
    except (TypeError, ValueError):
        return False


def answers_once(ip, timeout=2.0, ssh_port=22):
    """One probe: an ICMP echo (``ping``, where installed), else an SSH banner
    on TCP port 22. A bare TCP connection proves nothing: a transparent proxy
    on the way may accept any."""
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    ping = shutil.which("ping")
    if ping:
        cmd = [ping, "-6" if family == socket.AF_INET6 else "-4", "-c", "1", "-W",
               str(max(1, int(timeout))), ip]
        try:
            if subprocess.run(cmd, capture_output=True, timeout=timeout + 2).returncode == 0:
                return True
        except (OSError, subprocess.TimeoutExpired):
            pass
    try:
        with socket.create_connection((ip, ssh_port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            return sock.recv(64).startswith(b"SSH-")
    except OSError:
        return False


def probe_name(ssh_port=22):
    return "ping" if shutil.which("ping") else f"an SSH banner on port {ssh_port} (no ping command here)"


class Guests:
    """The guest-check policy of a run: ``mode`` is ``auto``, ``yes`` or ``no``.

    ``auto``: an address that does not answer within ``probe`` seconds makes
    the checks on it skipped (and the next checks of the run skip at once);
    ``yes``: it must answer within ``timeout`` seconds, or the check fails."""

    def __init__(self, mode, probe, timeout, ssh_port=22):
        self.mode, self.probe, self.timeout, self.ssh_port = mode, probe, timeout, ssh_port
        self._lock = threading.Lock()
        self.unreachable = None  # the reason, once an address did not answer in auto mode

    def require_reachable(self, ip, stop=None):
        if self.mode == "no":
            raise Skip("guest checks disabled (--guest-checks=no)")
        if not ip:
            raise Skip("no address to reach the guest on")
        with self._lock:
            known = self.unreachable
        if self.mode == "auto" and known:
            raise Skip(known)
        limit = self.timeout if self.mode == "yes" else self.probe
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if stop is not None:
                stop()
            if answers_once(ip, ssh_port=self.ssh_port):
                return
            time.sleep(1)
        how = probe_name(self.ssh_port)
        if self.mode == "yes":
            raise CheckFailed(f"{ip} does not answer {how} within {limit:g} s")
        reason = (f"guest {ip} does not answer {how} within {limit:g} s: VMs are not reachable "
                  "from this host (a simulator, a fake hypervisor or a filtered network); "
                  "--guest-checks=yes makes this a failure")
        with self._lock:
            self.unreachable = reason
        raise Skip(reason)

    @contextlib.contextmanager
    def ssh(self, ip, user, password, what):
        """A logged-in paramiko client; any SSH or network error fails the
        check as ``what``; without paramiko the check is skipped."""
        try:
            import paramiko
        except ImportError:
            raise Skip(f"{what} needs paramiko (pip install 'snf-tools[burnin]')") from None
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        try:
            client.connect(ip, port=self.ssh_port, username=user, password=password, timeout=self.timeout,
                           allow_agent=False, look_for_keys=False)
            yield client
        except (paramiko.SSHException, OSError) as exc:
            raise CheckFailed(f"{what} as {user}@{ip}: {exc}") from None
        finally:
            client.close()

    def ssh_run(self, ip, user, password, command):
        """Run ``command`` over SSH with a password; its standard output."""
        with self.ssh(ip, user, password, "SSH") as client:
            _, stdout, _ = client.exec_command(command, timeout=self.timeout)
            return stdout.read().decode("utf-8", "replace")

    def sftp_read(self, ip, user, password, path):
        """The contents of ``path`` in the guest, over SFTP."""
        with self.ssh(ip, user, password, f"SFTP of {path}") as client, \
                client.open_sftp() as sftp, sftp.open(path) as handle:
            return handle.read()

    def tcp_port(self, ip, port):
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((ip, port), timeout=3):
                    return
            except OSError:
                time.sleep(1)
        raise CheckFailed(f"nothing accepts TCP connections on {ip}:{port} after {self.timeout:g} s")


def login_user(image_metadata):
    """The user to log in as (spec 07 §2.5 002c): ``root`` if the image lists
    it in ``users``, else its first listed user, else by OS."""
    meta = {k.lower(): v for k, v in image_metadata.items()}
    users = (meta.get("users") or "").split()
    if "root" in users:
        return "root"
    if users:
        return users[0]
    os_name = (meta.get("os") or "").lower()
    if os_name in ("ubuntu", "kubuntu", "fedora"):
        return "user"
    if os_name.startswith("windows"):
        return "Administrator"
    return "root"
