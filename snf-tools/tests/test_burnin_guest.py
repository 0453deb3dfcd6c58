"""The guest checks on loopback: reachability (an SSH banner, not a bare TCP
accept), and SSH and SFTP against a paramiko SSH server: password login, a
command's output, a file's contents, a refused password."""

import io
import socket
import threading
import time

import pytest
from synnefo.tools.burnin import guest
from synnefo.tools.burnin.guest import Guests
from synnefo.tools.burnin.results import CheckFailed, Skip

try:
    import paramiko  # snf-tools[burnin]; in requirements-dev.txt
except ImportError:
    paramiko = None
needs_paramiko = pytest.mark.skipif(paramiko is None, reason="paramiko is not installed")


def loopback_server(handle):
    """A TCP server on 127.0.0.1 calling ``handle(connection)`` for each client (a thread)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)

    def serve():
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            handle(conn)
    threading.Thread(target=serve, daemon=True).start()
    return sock


def banner(text):
    def handle(conn):
        if text:
            conn.sendall(text)
        time.sleep(0.5)
        conn.close()
    return handle


def test_guest_reachability_needs_an_ssh_banner(monkeypatch):
    monkeypatch.setattr(guest.shutil, "which", lambda name: None)   # no ping: the SSH banner probe
    ssh = loopback_server(banner(b"SSH-2.0-OpenSSH_9.2\r\n"))
    silent = loopback_server(banner(b""))   # a transparent proxy accepts any connection, says nothing
    try:
        Guests("auto", 2, 5, ssh_port=ssh.getsockname()[1]).require_reachable("127.0.0.1")
        auto = Guests("auto", 1, 5, ssh_port=silent.getsockname()[1])
        with pytest.raises(Skip, match="127.0.0.1 does not answer an SSH banner on port .* within 1 s"):
            auto.require_reachable("127.0.0.1")
        with pytest.raises(Skip, match="does not answer"):       # remembered: no second wait
            auto.require_reachable("127.0.0.2")
        strict = Guests("yes", 1, 1, ssh_port=silent.getsockname()[1])
        with pytest.raises(CheckFailed, match="does not answer .* within 1 s"):
            strict.require_reachable("127.0.0.1")
        with pytest.raises(Skip, match="--guest-checks=no"):
            Guests("no", 1, 1).require_reachable("127.0.0.1")
    finally:
        ssh.close()
        silent.close()


@pytest.mark.parametrize("meta, user", [
    ({"users": "root ubuntu"}, "root"), ({"users": "ubuntu"}, "ubuntu"), ({"OS": "ubuntu"}, "user"),
    ({"os": "windows"}, "Administrator"), ({"OS": "debian"}, "root")])
def test_login_user(meta, user):
    assert guest.login_user(meta) == user

USER, PASSWORD, HOSTNAME = "root", "s3cretPW", "snf-42"
FILES = {"/root/test_inj_file": b"injected by burnin\n"}


class Server(paramiko.ServerInterface if paramiko else object):
    def check_auth_password(self, username, password):
        ok = (username, password) == (USER, PASSWORD)
        return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

    def get_allowed_auths(self, username):
        return "password"

    def check_channel_request(self, kind, chanid):
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_exec_request(self, channel, command):
        output = HOSTNAME + "\n" if command == b"hostname" else ""

        # Output, exit status and EOF, but no close: a close could overtake
        # the reply to this request, and the client then sees no command.
        channel.sendall(output.encode())
        channel.send_exit_status(0)
        channel.shutdown_write()
        return True


class Handle(paramiko.SFTPHandle if paramiko else object):
    def __init__(self, data):
        super().__init__()
        self.readfile = io.BytesIO(data)

    def stat(self):
        attrs = paramiko.SFTPAttributes()
        attrs.st_size = len(self.readfile.getvalue())
        return attrs


class Files(paramiko.SFTPServerInterface if paramiko else object):
    def open(self, path, flags, attr):
        if path not in FILES:
            return paramiko.SFTP_NO_SUCH_FILE
        return Handle(FILES[path])

    def stat(self, path):
        attrs = paramiko.SFTPAttributes()
        attrs.st_size = len(FILES.get(path, b""))
        return attrs

    lstat = stat


@pytest.fixture
def ssh_port():
    key = paramiko.RSAKey.generate(2048)
    transports = []

    def handle(conn):
        transport = paramiko.Transport(conn)
        transport.add_server_key(key)
        transport.set_subsystem_handler("sftp", paramiko.SFTPServer, Files)
        transports.append(transport)
        try:
            transport.start_server(server=Server())
        except paramiko.SSHException:
            pass
    sock = loopback_server(handle)
    yield sock.getsockname()[1]
    sock.close()
    for transport in transports:
        transport.close()


@needs_paramiko
def test_ssh_hostname_and_sftp(ssh_port):
    guests = Guests("yes", 5, 10, ssh_port=ssh_port)
    assert guests.ssh_run("127.0.0.1", USER, PASSWORD, "hostname").strip() == HOSTNAME
    path = "/root/test_inj_file"
    assert guests.sftp_read("127.0.0.1", USER, PASSWORD, path) == FILES[path]
    with pytest.raises(CheckFailed, match=r"SFTP of /nope as root@127.0.0.1"):
        guests.sftp_read("127.0.0.1", USER, PASSWORD, "/nope")


@needs_paramiko
def test_wrong_password_is_a_failure(ssh_port):
    guests = Guests("yes", 5, 10, ssh_port=ssh_port)
    with pytest.raises(CheckFailed, match=r"^SSH as root@127.0.0.1: Authentication failed"):
        guests.ssh_run("127.0.0.1", USER, "wrong", "hostname")
