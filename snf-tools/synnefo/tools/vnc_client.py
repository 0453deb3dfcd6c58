"""A small RFB (VNC) client: connect, authenticate, fetch one framebuffer.

Used by the tests and by burnin to check a console end to end (no Django)::

    fb = fetch_framebuffer(host, port, password)            # plain RFB
    fb = fetch_framebuffer(host, port, password, websocket=True)          # ws://host:port/
    fb = fetch_framebuffer(host, port, password, websocket=True, tls=True)  # wss://

It speaks RFB 3.8 (or 3.3/3.7 when the server does), VNC Authentication
(or None when that is all the server offers), asks for 32-bit pixels
(:data:`synnefo.util.rfb.BGRX32`: little-endian, blue in the low byte) and
the Raw encoding, and returns the first full FramebufferUpdate.
"""

import base64
import hashlib
import os
import socket
import ssl
import struct
import time
from dataclasses import dataclass

from synnefo.util import rfb

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
BYTES_PER_PIXEL = 4


class VncError(Exception):
    """The console could not be fetched; the message says why."""


@dataclass(frozen=True)
class Framebuffer:
    width: int
    height: int
    name: str
    pixels: bytes   # width*height*4 bytes, BGRX (blue, green, red, unused) per pixel, row by row

    def pixel(self, x, y):
        """(red, green, blue) at (x, y)."""
        i = (y * self.width + x) * BYTES_PER_PIXEL
        return self.pixels[i + 2], self.pixels[i + 1], self.pixels[i]

    def to_ppm(self):
        """The picture as a binary PPM (P6) file, viewable with any image viewer."""
        rgb = bytearray()
        for i in range(0, len(self.pixels), BYTES_PER_PIXEL):
            rgb += bytes((self.pixels[i + 2], self.pixels[i + 1], self.pixels[i]))
        return b"P6\n%d %d\n255\n" % (self.width, self.height) + bytes(rgb)


class _Plain:
    def __init__(self, sock):
        self.sock = sock

    def recv_exactly(self, n):
        data = bytearray()
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise VncError("the server closed the connection")
            data += chunk
        return bytes(data)

    def send(self, data):
        self.sock.sendall(data)


class _WebSocket(_Plain):
    """Client side of RFC 6455: masked binary frames out, unmasked frames in."""

    def __init__(self, sock, host, port, path):
        super().__init__(sock)
        self.buffer = bytearray()
        key = base64.b64encode(os.urandom(16)).decode("ascii")
        request = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                   "Sec-WebSocket-Protocol: binary\r\n\r\n" % (path or "/", host, port, key))
        sock.sendall(request.encode("ascii"))
        head = bytearray()
        while not head.endswith(b"\r\n\r\n"):
            chunk = sock.recv(1)
            if not chunk:
                raise VncError("the server closed the connection during the WebSocket handshake")
            head += chunk
            if len(head) > 8192:
                raise VncError("WebSocket handshake answer too large")
        lines = head.decode("latin-1").split("\r\n")
        if not lines[0].startswith("HTTP/1.1 101"):
            raise VncError("WebSocket handshake refused: %s" % lines[0])
        pairs = (line.partition(":") for line in lines[1:] if line)
        headers = {k.strip().lower(): v.strip() for k, _, v in pairs}
        expected = base64.b64encode(hashlib.sha1(key.encode("ascii") + WS_GUID).digest()).decode("ascii")
        if headers.get("sec-websocket-accept") != expected:
            raise VncError("WebSocket handshake: wrong Sec-WebSocket-Accept")

    def _raw(self, n):
        return _Plain.recv_exactly(self, n)

    def recv_exactly(self, n):
        while len(self.buffer) < n:
            b1, b2 = self._raw(2)
            length = b2 & 0x7F
            if length == 126:
                (length,) = struct.unpack(">H", self._raw(2))
            elif length == 127:
                (length,) = struct.unpack(">Q", self._raw(8))
            mask = self._raw(4) if b2 & 0x80 else None
            payload = self._raw(length) if length else b""
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            opcode = b1 & 0x0F
            if opcode == 8:
                raise VncError("the server closed the WebSocket")
            if opcode == 9:
                self._frame(10, payload)
            elif opcode in (0, 2):
                self.buffer += payload
        data = bytes(self.buffer[:n])
        del self.buffer[:n]
        return data

    def _frame(self, opcode, payload):
        mask = os.urandom(4)
        n = len(payload)
        header = struct.pack(">BB", 0x80 | opcode, 0x80 | n) if n < 126 else \
            struct.pack(">BBH", 0x80 | opcode, 0x80 | 126, n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def send(self, data):
        self._frame(2, data)


def _security(conn, version, password):
    if version == (3, 3):
        (sectype,) = struct.unpack(">I", conn.recv_exactly(4))
        if sectype == rfb.SECURITY_INVALID:
            raise VncError("connection refused by the server: %s" % _reason(conn))
    else:
        (count,) = conn.recv_exactly(1)
        if count == 0:
            raise VncError("connection refused by the server: %s" % _reason(conn))
        offered = conn.recv_exactly(count)
        if rfb.SECURITY_VNC_AUTH in offered:
            sectype = rfb.SECURITY_VNC_AUTH
        elif rfb.SECURITY_NONE in offered:
            sectype = rfb.SECURITY_NONE
        else:
            raise VncError("the server offers no security type this client knows: %s" % list(offered))
        conn.send(bytes([sectype]))
    if sectype == rfb.SECURITY_VNC_AUTH:
        challenge = conn.recv_exactly(rfb.CHALLENGE_LENGTH)
        conn.send(rfb.vnc_auth_response(challenge, password or ""))
    elif sectype != rfb.SECURITY_NONE:
        raise VncError("the server asks for security type %d, which this client does not know" % sectype)
    if sectype == rfb.SECURITY_VNC_AUTH or version == (3, 8):
        result = conn.recv_exactly(4)
        if result != rfb.RESULT_OK:
            reason = _reason(conn) if version == (3, 8) else "(no reason given)"
            raise VncError("authentication failed: %s" % reason)


def _reason(conn):
    try:
        (length,) = struct.unpack(">I", conn.recv_exactly(4))
        return conn.recv_exactly(min(length, 4096)).decode("utf-8", "replace")
    except (VncError, OSError):
        return "(no reason given)"


def _read_update(conn, width, height):
    pixels = bytearray(width * height * BYTES_PER_PIXEL)
    while True:
        (msg_type,) = conn.recv_exactly(1)
        if msg_type == 0:   # FramebufferUpdate
            _, count = struct.unpack(">BH", conn.recv_exactly(3))
            for _ in range(count):
                x, y, w, h, encoding = struct.unpack(">HHHHi", conn.recv_exactly(12))
                if encoding != 0:
                    raise VncError("the server sent encoding %d; only Raw was asked for" % encoding)
                if x + w > width or y + h > height:
                    raise VncError("rectangle %dx%d at %d,%d outside the %dx%d framebuffer"
                                   % (w, h, x, y, width, height))
                data = conn.recv_exactly(w * h * BYTES_PER_PIXEL)
                row = w * BYTES_PER_PIXEL
                for r in range(h):
                    start = ((y + r) * width + x) * BYTES_PER_PIXEL
                    pixels[start:start + row] = data[r * row:(r + 1) * row]
            return bytes(pixels)
        if msg_type == 1:   # SetColourMapEntries
            _, _, count = struct.unpack(">BHH", conn.recv_exactly(5))
            conn.recv_exactly(6 * count)
        elif msg_type == 2:  # Bell
            continue
        elif msg_type == 3:  # ServerCutText
            (length,) = struct.unpack(">3xI", conn.recv_exactly(7))
            conn.recv_exactly(length)
        else:
            raise VncError("unknown server message type %d" % msg_type)


def fetch_framebuffer(host, port, password, *, timeout=10.0, websocket=False, tls=False, path="/"):
    """Connect to a VNC server (or a WebSocket carrying RFB), authenticate and
    return the first full :class:`Framebuffer`; :class:`VncError` otherwise.

    ``tls`` wraps the connection in TLS without checking the certificate
    (a console proxy's certificate is often self-signed)."""
    deadline = time.monotonic() + timeout
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except TimeoutError:
        raise VncError("timed out connecting to %s:%s" % (host, port)) from None
    except OSError as exc:
        raise VncError("cannot connect to %s:%s: %s" % (host, port, exc.strerror or exc)) from None
    try:
        if tls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            sock = context.wrap_socket(sock, server_hostname=host)
        conn = _WebSocket(sock, host, port, path) if websocket else _Plain(sock)
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        version = rfb.parse_version(conn.recv_exactly(rfb.VERSION_LENGTH))
        conn.send({(3, 8): rfb.VERSION_3_8, (3, 7): rfb.VERSION_3_7}.get(version, rfb.VERSION_3_3))
        _security(conn, version, password)
        conn.send(b"\x01")   # ClientInit: shared
        width, height, _fmt, name_length = rfb.SERVER_INIT.unpack(conn.recv_exactly(rfb.SERVER_INIT.size))
        name = conn.recv_exactly(name_length).decode("utf-8", "replace")
        conn.send(b"\x00\x00\x00\x00" + rfb.BGRX32)                 # SetPixelFormat
        conn.send(struct.pack(">BxHi", 2, 1, 0))                      # SetEncodings: Raw
        conn.send(struct.pack(">BBHHHH", 3, 0, 0, 0, width, height))  # FramebufferUpdateRequest
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        pixels = _read_update(conn, width, height)
        return Framebuffer(width, height, name, pixels)
    except TimeoutError:
        raise VncError("timed out talking to %s:%s" % (host, port)) from None
    except rfb.RfbProtocolError as exc:
        raise VncError("%s:%s does not speak RFB: %s" % (host, port, exc)) from None
    except ssl.SSLError as exc:
        raise VncError("TLS with %s:%s failed: %s" % (host, port, exc)) from None
    except OSError as exc:
        raise VncError("connection to %s:%s failed: %s" % (host, port, exc.strerror or exc)) from None
    finally:
        sock.close()
