"""VNC consoles of the simulated KVM instances.

Like KVM's, each running instance with a ``network_port`` gets an RFB server
without authentication on that port (at the simulator's VNC address). Its
small screen shows the instance's name and state. :class:`ConsoleServers`
follows the cluster state: servers open when instances start and close (with
their clients) when instances stop or go away.
"""

import logging
import socket
import struct
import threading

from synnefo.tools.ganeti_sim import font
from synnefo.util import rfb

log = logging.getLogger("snf-ganeti-sim.vnc")

WIDTH, HEIGHT = 480, 160
POLL_INTERVAL = 0.25
HANDSHAKE_TIMEOUT = 30.0
# palette: background, title, text, accent (RGB)
PALETTE = [(16, 32, 64), (160, 176, 208), (255, 255, 255), (96, 224, 128)]
BACKGROUND, DIM, WHITE, GREEN = range(4)


def render(name, state, node):
    """The screen of an instance: one palette index per pixel, row by row."""
    pixels = bytearray([BACKGROUND]) * (WIDTH * HEIGHT)

    def text(x, y, string, scale, colour):
        for ch in string:
            if x + font.GLYPH_WIDTH * scale > WIDTH:
                return
            cells = font.glyph(ch)
            for row in range(font.GLYPH_HEIGHT):
                for col in range(font.GLYPH_WIDTH):
                    if cells[row * font.GLYPH_WIDTH + col]:
                        for dy in range(scale):
                            start = (y + row * scale + dy) * WIDTH + x + col * scale
                            pixels[start:start + scale] = bytes([colour]) * scale
            x += (font.GLYPH_WIDTH + 1) * scale

    text(12, 12, "CYCLADES SIMULATOR - VNC CONSOLE", 2, DIM)
    text(12, 50, name, 4, WHITE)
    text(12, 100, "STATE: " + state, 2, GREEN)
    text(12, 130, "NODE: " + node, 2, DIM)
    return bytes(pixels)


def pack_palette(pixel_format):
    """The bytes of each palette colour in a true-colour RFB pixel format."""
    bpp, _depth, big_endian, true_colour, rmax, gmax, bmax, rshift, gshift, bshift = \
        rfb.PIXEL_FORMAT.unpack(pixel_format)
    if not true_colour or bpp not in (8, 16, 32):
        raise ValueError("unsupported pixel format (%d bits, true colour %d)" % (bpp, true_colour))
    packed = []
    for r, g, b in PALETTE:
        value = (r * rmax // 255) << rshift | (g * gmax // 255) << gshift | (b * bmax // 255) << bshift
        packed.append(value.to_bytes(bpp // 8, "big" if big_endian else "little"))
    return packed


def bound_socket(address, port, reuse_address):
    """A TCP socket bound to ``address``:``port`` (not listening); OSError
    when the port is taken. ``reuse_address``: SO_REUSEADDR (Linux then also
    lets another socket with it bind the port while neither listens)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if reuse_address:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
    except OSError:
        sock.close()
        raise
    return sock


class InstanceConsole:
    """The listening RFB server of one instance and its client threads."""

    def __init__(self, address, port, name, node, sock=None):
        """``sock``: the socket already bound to ``port`` when the port was
        given to the instance (see :meth:`ConsoleServers.port_free`)."""
        self.port, self.name, self.node = port, name, node
        self.sock = sock or bound_socket(address, port, reuse_address=True)
        try:
            self.sock.listen(16)
        except OSError:
            self.sock.close()
            raise
        self.stopped = threading.Event()
        self.clients = set()
        self.lock = threading.Lock()
        self.screen = render(name, "RUNNING", node)
        threading.Thread(target=self._accept, name="vnc-%s" % name, daemon=True).start()

    def close(self):
        self.stopped.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        with self.lock:
            for client in list(self.clients):
                try:
                    client.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _accept(self):
        while not self.stopped.is_set():
            try:
                client, addr = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.clients.add(client)
            threading.Thread(target=self._serve, args=(client, addr), daemon=True).start()

    def _serve(self, client, addr):
        try:
            self._session(client)
        except (OSError, EOFError, ValueError, rfb.RfbProtocolError) as exc:
            if not self.stopped.is_set():
                log.debug("%s: VNC client %s: %s", self.name, addr[0], exc or type(exc).__name__)
        finally:
            with self.lock:
                self.clients.discard(client)
            client.close()

    def _session(self, client):
        def recv(n):
            data = bytearray()
            while len(data) < n:
                chunk = client.recv(n - len(data))
                if not chunk:
                    raise EOFError("client closed the connection")
                data += chunk
            return bytes(data)

        client.settimeout(HANDSHAKE_TIMEOUT)
        client.sendall(rfb.VERSION_3_8)
        version = rfb.parse_version(recv(rfb.VERSION_LENGTH))
        if version == (3, 3):
            client.sendall(struct.pack(">I", rfb.SECURITY_NONE))
        else:
            client.sendall(bytes([1, rfb.SECURITY_NONE]))
            if recv(1)[0] != rfb.SECURITY_NONE:
                if version == (3, 8):
                    client.sendall(rfb.RESULT_FAILED + rfb.failure_reason("only security type None"))
                return
            if version == (3, 8):
                client.sendall(rfb.RESULT_OK)
        recv(1)   # ClientInit (shared or not: all clients share)
        title = self.name.encode("utf-8")
        client.sendall(rfb.SERVER_INIT.pack(WIDTH, HEIGHT, rfb.BGRX32, len(title)) + title)
        client.settimeout(None)
        palette = pack_palette(rfb.BGRX32)
        sent_once = False
        while not self.stopped.is_set():
            msg = recv(1)[0]
            if msg == 0:      # SetPixelFormat
                palette = pack_palette(recv(19)[3:])
            elif msg == 2:    # SetEncodings (Raw is always allowed)
                (count,) = struct.unpack(">xH", recv(3))
                recv(4 * count)
            elif msg == 3:    # FramebufferUpdateRequest
                incremental = recv(9)[0]
                if incremental and sent_once:
                    continue   # nothing changed: the screen only changes when the instance stops
                table = [palette[i] for i in range(len(PALETTE))]
                body = b"".join(table[i] for i in self.screen)
                client.sendall(struct.pack(">BxHHHHHi", 0, 1, 0, 0, WIDTH, HEIGHT, 0) + body)
                sent_once = True
            elif msg == 4:    # KeyEvent
                recv(7)
            elif msg == 5:    # PointerEvent
                recv(5)
            elif msg == 6:    # ClientCutText
                (length,) = struct.unpack(">3xI", recv(7))
                recv(length)
            else:
                raise ValueError("unknown client message type %d" % msg)


class ConsoleServers:
    """Keeps one :class:`InstanceConsole` per running instance with a port."""

    def __init__(self, cluster, address):
        self.cluster, self.address = cluster, address
        self.consoles = {}     # instance name -> InstanceConsole
        self.reserved = {}     # port -> socket bound to it since the port was given out
        self.reserved_lock = threading.Lock()
        self.warned = set()
        self.stopped = threading.Event()
        self.thread = None

    def port_free(self, port):
        """Whether ``port`` can be listened on at the VNC address; if so it
        stays bound from now on, so that another simulator on this machine
        cannot give the same port to one of its instances before this
        instance's console listens on it."""
        try:
            # no SO_REUSEADDR: with it, a second simulator's reservation of the
            # same port would succeed, and this one would hold nothing
            sock = bound_socket(self.address, port, reuse_address=False)
        except OSError:
            return False
        with self.reserved_lock:
            old = self.reserved.pop(port, None)
            self.reserved[port] = sock
        if old is not None:
            old.close()
        return True

    def _take_reserved(self, port):
        with self.reserved_lock:
            return self.reserved.pop(port, None)

    def _hold_stopped(self):
        """Keep the ports of stopped instances bound too (KVM gives an
        instance its port for life), so that another simulator cannot take
        one before the instance starts again; a port still held by a closing
        console is tried again on the next round."""
        with self.cluster.lock:
            held = {inst["network_port"] for name, inst in self.cluster.instances.items()
                    if inst.get("network_port") and name not in self.consoles}
        with self.reserved_lock:
            wanted = held - set(self.reserved)
        for port in sorted(wanted):
            try:
                # SO_REUSEADDR: the console's closed connections may linger in
                # TIME_WAIT; another simulator's probe (without it) still fails
                sock = bound_socket(self.address, port, reuse_address=True)
            except OSError:
                continue
            with self.reserved_lock:
                if port in self.reserved:
                    sock.close()
                else:
                    self.reserved[port] = sock

    def _release_unused(self):
        """Close the reservations of ports that no instance holds any more."""
        # cluster.lock throughout: a port is given out and its instance added under it
        with self.cluster.lock, self.reserved_lock:
            held = {inst.get("network_port") for inst in self.cluster.instances.values()}
            gone = [port for port in self.reserved if port not in held]
            socks = [self.reserved.pop(port) for port in gone]
        for sock in socks:
            sock.close()

    def wanted(self):
        with self.cluster.lock:
            return {name: inst["network_port"] for name, inst in self.cluster.instances.items()
                    if inst.get("oper_state") and inst.get("network_port")}

    def reconcile(self):
        wanted = self.wanted()
        for name, console in list(self.consoles.items()):
            if wanted.get(name) != console.port:
                console.close()
                del self.consoles[name]
                log.info("%s: VNC console on port %d closed", name, console.port)
        for name, port in wanted.items():
            if name in self.consoles:
                continue
            try:
                self.consoles[name] = InstanceConsole(self.address, port, name, self.cluster.node_name,
                                                      sock=self._take_reserved(port))
            except OSError as exc:
                if (name, port) not in self.warned:
                    self.warned.add((name, port))
                    log.warning("%s: cannot serve its VNC console on %s port %d: %s",
                                name, self.address, port, exc.strerror or exc)
                continue
            self.warned.discard((name, port))
            log.info("%s: VNC console on %s port %d", name, self.address, port)
        self._release_unused()
        self._hold_stopped()

    def start(self):
        self.reconcile()
        self.thread = threading.Thread(target=self._loop, name="vnc-consoles", daemon=True)
        self.thread.start()

    def _loop(self):
        while not self.stopped.wait(POLL_INTERVAL):
            try:
                self.reconcile()
            except Exception:
                log.exception("VNC consoles: cannot follow the cluster state")

    def stop(self):
        self.stopped.set()
        if self.thread:
            self.thread.join(timeout=5)
        for console in self.consoles.values():
            console.close()
        self.consoles = {}
        with self.reserved_lock:
            socks, self.reserved = list(self.reserved.values()), {}
        for sock in socks:
            sock.close()
