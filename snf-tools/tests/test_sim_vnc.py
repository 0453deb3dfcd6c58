"""The simulator's VNC consoles over real sockets: served while a kvm
instance runs, closed when it stops; any true-colour pixel format; ports
already taken are skipped; the bitmap font."""

import socket
import struct
import time

import pytest
from synnefo.tools.ganeti_sim import font, vnc
from synnefo.tools.ganeti_sim.testing import SimProcess
from synnefo.tools.loopback import free_port
from synnefo.tools.vnc_client import VncError, fetch_framebuffer
from synnefo.util import rfb

pytestmark = pytest.mark.slow
TIMEOUT = 15


def create(client, name):
    body = {"name": name, "os": "snf-image+default", "disk_template": "diskless", "disks": [{"size": 1024}],
            "nics": [], "beparams": {"memory": 128, "vcpus": 1}, "ip_check": False, "name_check": False}
    assert client.wait_for_job(client.create_instance(**body), TIMEOUT) == "success"


def wait_fetch(host, port, attempts=40):
    for _ in range(attempts):
        try:
            return fetch_framebuffer(host, port, None, timeout=5)
        except VncError:
            time.sleep(0.1)
    return fetch_framebuffer(host, port, None, timeout=5)


def test_console_follows_the_instance(tmp_path):
    # the first console port is taken (by us, or by another simulator): it is skipped
    blocker = socket.socket()
    try:
        blocker.bind(("127.0.0.1", 11000))
        blocker.listen(1)
        ours = True
    except OSError:
        ours = False   # another simulator holds it (and may let it go meanwhile)
    with blocker:
        with SimProcess(tmp_path, "--job-duration", "0.05") as sim, sim.client() as client:
            create(client, "snf-vnc1")
            console = client.get_instance_console("snf-vnc1")
            assert console["host"] == "127.0.0.1"
            fb = wait_fetch(console["host"], console["port"])
            assert (fb.width, fb.height, fb.name) == (vnc.WIDTH, vnc.HEIGHT, "snf-vnc1")
            assert fb.pixel(0, 0) == vnc.PALETTE[vnc.BACKGROUND]
            assert vnc.PALETTE[vnc.WHITE] in {fb.pixel(x, y) for x in range(12, 200) for y in range(50, 78)}
            # two clients at once (KVM's VNC is shared too)
            assert wait_fetch(console["host"], console["port"]).name == "snf-vnc1"
            assert client.wait_for_job(client.shutdown_instance("snf-vnc1"), TIMEOUT) == "success"
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                try:
                    fetch_framebuffer(console["host"], console["port"], None, timeout=2)
                except VncError as exc:
                    if "cannot connect" in str(exc):   # the port is closed
                        break
                time.sleep(0.1)
            else:
                pytest.fail("the console still answers after the instance stopped")
            assert client.wait_for_job(client.startup_instance("snf-vnc1"), TIMEOUT) == "success"
            assert wait_fetch(console["host"], console["port"]).name == "snf-vnc1"
            if ours:
                assert console["port"] != 11000


def test_no_vnc_with_the_fake_hypervisor(tmp_path):
    with SimProcess(tmp_path, "--job-duration", "0.05", "--hypervisor", "fake") as sim, \
            sim.client() as client:
        create(client, "snf-novnc")
        assert client.get_instance_console("snf-novnc")["kind"] == "message"


def _recv(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        assert chunk
        data += chunk
    return data


def test_rfb_3_3_client_and_a_16_bit_pixel_format():
    server = vnc.InstanceConsole("127.0.0.1", 0, "snf-fmt", "node")
    port = server.sock.getsockname()[1]
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            assert _recv(sock, 12) == rfb.VERSION_3_8
            sock.sendall(rfb.VERSION_3_3)
            assert struct.unpack(">I", _recv(sock, 4)) == (rfb.SECURITY_NONE,)
            sock.sendall(b"\x00")
            width, height, _fmt, length = rfb.SERVER_INIT.unpack(_recv(sock, rfb.SERVER_INIT.size))
            assert _recv(sock, length) == b"snf-fmt"
            # RGB565 big-endian
            sock.sendall(b"\x00\x00\x00\x00" + rfb.PIXEL_FORMAT.pack(16, 16, 1, 1, 31, 63, 31, 11, 5, 0))
            sock.sendall(struct.pack(">BBHHHH", 3, 0, 0, 0, width, height))
            assert _recv(sock, 4)[0] == 0
            x, y, w, h, encoding = struct.unpack(">HHHHi", _recv(sock, 12))
            assert (x, y, w, h, encoding) == (0, 0, width, height, 0)
            pixels = _recv(sock, w * h * 2)
            r, g, b = vnc.PALETTE[vnc.BACKGROUND]
            rgb565 = (r * 31 // 255) << 11 | (g * 63 // 255) << 5 | b * 31 // 255
            assert pixels[:2] == rgb565.to_bytes(2, "big")
            # colour maps are refused: the connection ends
            sock.sendall(b"\x00\x00\x00\x00" + rfb.PIXEL_FORMAT.pack(8, 8, 0, 0, 0, 0, 0, 0, 0, 0))
            assert sock.recv(1) == b""
    finally:
        server.close()


def test_font_glyphs():
    assert all(len(cells) == font.GLYPH_WIDTH * font.GLYPH_HEIGHT for cells in font.GLYPHS.values())
    assert font.glyph("a") == font.glyph("A") and font.glyph("~") == font.glyph("?")
    assert not any(font.glyph(" ")) and font.text_width("ab", 2) == 24


class _Cluster:
    """The part of a simulator cluster that ConsoleServers reads."""

    def __init__(self):
        import threading
        self.lock = threading.RLock()
        self.instances = {}
        self.node_name = "node1"


def test_a_port_given_out_stays_taken_for_a_second_simulator():
    first, second = vnc.ConsoleServers(_Cluster(), "127.0.0.1"), vnc.ConsoleServers(_Cluster(), "127.0.0.1")
    port = free_port()
    try:
        assert first.port_free(port)
        # the first simulator's instance is not running yet: the port is still its own
        assert not second.port_free(port)
        first.cluster.instances["a"] = {"network_port": port, "oper_state": True}
        first.reconcile()
        assert first.consoles["a"].port == port
        assert not second.port_free(port)
        # the instance is removed: its port is free again (once the console's
        # accept thread has let go of the listening socket)
        del first.cluster.instances["a"]
        first.reconcile()
        deadline = time.monotonic() + 5
        while not second.port_free(port) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert port in second.reserved
    finally:
        first.stop()
        second.stop()


def test_a_reservation_without_an_instance_is_let_go():
    servers = vnc.ConsoleServers(_Cluster(), "127.0.0.1")
    port = free_port()
    try:
        assert servers.port_free(port)
        servers.reconcile()          # no instance holds the port
        assert servers.reserved == {}
    finally:
        servers.stop()


def test_a_stopped_instance_keeps_its_port_from_a_second_simulator():
    first, second = vnc.ConsoleServers(_Cluster(), "127.0.0.1"), vnc.ConsoleServers(_Cluster(), "127.0.0.1")
    port = free_port()
    try:
        assert first.port_free(port)
        first.cluster.instances["a"] = {"network_port": port, "oper_state": True}
        first.reconcile()
        first.cluster.instances["a"]["oper_state"] = False     # stopped: the console closes
        deadline = time.monotonic() + 5
        while port not in first.reserved and time.monotonic() < deadline:
            first.reconcile()
            time.sleep(0.05)
        assert "a" not in first.consoles and port in first.reserved
        assert not second.port_free(port)
        first.cluster.instances["a"]["oper_state"] = True       # started again, on the same port
        first.reconcile()
        assert first.consoles["a"].port == port
    finally:
        first.stop()
        second.stop()
