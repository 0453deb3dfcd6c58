"""The guest checks' SSH and SFTP against a paramiko SSH server on loopback:
password login, a command's output, a file's contents, a refused password."""

import io
import socket
import threading

import pytest
from synnefo.tools.burnin.guest import Guests
from synnefo.tools.burnin.results import CheckFailed

paramiko = pytest.importorskip("paramiko")   # snf-tools[burnin]; in requirements-dev.txt

USER, PASSWORD, HOSTNAME = "root", "s3cretPW", "snf-42"
FILES = {"/root/test_inj_file": b"injected by burnin\n"}


class Server(paramiko.ServerInterface):
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


class Handle(paramiko.SFTPHandle):
    def __init__(self, data):
        super().__init__()
        self.readfile = io.BytesIO(data)

    def stat(self):
        attrs = paramiko.SFTPAttributes()
        attrs.st_size = len(self.readfile.getvalue())
        return attrs


class Files(paramiko.SFTPServerInterface):
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
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(4)
    transports = []

    def serve():
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            transport = paramiko.Transport(conn)
            transport.add_server_key(key)
            transport.set_subsystem_handler("sftp", paramiko.SFTPServer, Files)
            transports.append(transport)
            try:
                transport.start_server(server=Server())
            except paramiko.SSHException:
                continue
    threading.Thread(target=serve, daemon=True).start()
    yield sock.getsockname()[1]
    sock.close()
    for transport in transports:
        transport.close()


def test_ssh_hostname_and_sftp(ssh_port):
    guests = Guests("yes", 5, 10, ssh_port=ssh_port)
    assert guests.ssh_run("127.0.0.1", USER, PASSWORD, "hostname").strip() == HOSTNAME
    path = "/root/test_inj_file"
    assert guests.sftp_read("127.0.0.1", USER, PASSWORD, path) == FILES[path]
    with pytest.raises(CheckFailed, match=r"SFTP of /nope as root@127.0.0.1"):
        guests.sftp_read("127.0.0.1", USER, PASSWORD, "/nope")


def test_wrong_password_is_a_failure(ssh_port):
    guests = Guests("yes", 5, 10, ssh_port=ssh_port)
    with pytest.raises(CheckFailed, match=r"^SSH as root@127.0.0.1: Authentication failed"):
        guests.ssh_run("127.0.0.1", USER, "wrong", "hostname")
