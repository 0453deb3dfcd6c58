"""Byte channels over asyncio streams: plain TCP, or a WebSocket (RFC 6455,
server side) carrying the bytes in binary messages the way noVNC does.

Both offer ``read(n)`` (b"" at the end), ``readexactly(n)``, ``write(data)``,
``drain()`` and ``close()``.
"""

import asyncio
import base64
import hashlib
import struct

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_REQUEST_HEAD = 8192
MAX_MESSAGE = 16 * 1024 * 1024

OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10


class ChannelError(Exception):
    """The peer broke the protocol (one line for the log)."""


class TcpChannel:
    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer

    async def read(self, n):
        return await self.reader.read(n)

    async def readexactly(self, n):
        try:
            return await self.reader.readexactly(n)
        except asyncio.IncompleteReadError:
            raise ChannelError("connection closed by the peer") from None

    def write(self, data):
        self.writer.write(data)

    async def drain(self):
        await self.writer.drain()

    def close(self):
        if not self.writer.is_closing():
            self.writer.close()


def accept_key(key):
    return base64.b64encode(hashlib.sha1(key.encode("ascii") + WS_GUID).digest()).decode("ascii")


def parse_upgrade_request(head):
    """The HTTP request head of a WebSocket opening handshake -> (path, headers).

    Any path is accepted; the version must be 13."""
    try:
        text = head.decode("latin-1")
    except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes everything
        raise ChannelError("not an HTTP request") from None
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or parts[0] != "GET" or not parts[2].startswith("HTTP/1."):
        raise ChannelError("not an HTTP GET request: %r" % lines[0][:80])
    headers = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise ChannelError("malformed HTTP header line %r" % line[:80])
        headers[name.strip().lower()] = value.strip()
    if headers.get("upgrade", "").lower() != "websocket" or \
            "upgrade" not in [t.strip().lower() for t in headers.get("connection", "").split(",")]:
        raise ChannelError("not a WebSocket upgrade request")
    if headers.get("sec-websocket-version") != "13":
        raise ChannelError("unsupported WebSocket version %r" % headers.get("sec-websocket-version"))
    key = headers.get("sec-websocket-key", "")
    try:
        if len(base64.b64decode(key, validate=True)) != 16:
            raise ValueError
    except ValueError:
        raise ChannelError("bad Sec-WebSocket-Key") from None
    return parts[1], headers


def _http_error(status, text):
    body = (text + "\n").encode("utf-8")
    return (b"HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
            % (status.encode("ascii"), len(body))) + body


class WebSocketChannel:
    """Server side of one WebSocket connection, after :meth:`accept`."""

    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer
        self.buffer = bytearray()
        self.closed = False
        self.path = None
        self.subprotocol = None

    @classmethod
    async def accept(cls, reader, writer):
        """Read the opening handshake and answer it; the binary subprotocol is
        chosen when offered (base64 alone is refused)."""
        channel = cls(reader, writer)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            writer.write(_http_error("431 Request Header Fields Too Large", "request head too large"))
            raise ChannelError("HTTP request head too large") from None
        except asyncio.IncompleteReadError:
            raise ChannelError("connection closed during the WebSocket handshake") from None
        if len(head) > MAX_REQUEST_HEAD:
            writer.write(_http_error("431 Request Header Fields Too Large", "request head too large"))
            raise ChannelError("HTTP request head too large")
        try:
            channel.path, headers = parse_upgrade_request(head)
        except ChannelError as exc:
            writer.write(_http_error("400 Bad Request", str(exc)))
            raise
        offered = [p.strip() for p in headers.get("sec-websocket-protocol", "").split(",") if p.strip()]
        if offered and "binary" not in offered:
            writer.write(_http_error("400 Bad Request", "only the 'binary' WebSocket subprotocol is "
                                     "supported, offered: %s" % ", ".join(offered)))
            raise ChannelError("client offered only unsupported subprotocols %s" % offered)
        response = ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade",
                    "Sec-WebSocket-Accept: " + accept_key(headers["sec-websocket-key"])]
        if offered:
            channel.subprotocol = "binary"
            response.append("Sec-WebSocket-Protocol: binary")
        writer.write(("\r\n".join(response) + "\r\n\r\n").encode("ascii"))
        await writer.drain()
        return channel

    # -- frames ------------------------------------------------------------
    async def _frame(self):
        try:
            b1, b2 = await self.reader.readexactly(2)
            length = b2 & 0x7F
            if length == 126:
                (length,) = struct.unpack(">H", await self.reader.readexactly(2))
            elif length == 127:
                (length,) = struct.unpack(">Q", await self.reader.readexactly(8))
            if not b2 & 0x80:
                raise ChannelError("unmasked frame from a WebSocket client")
            if length > MAX_MESSAGE:
                raise ChannelError("WebSocket frame of %d bytes is too large" % length)
            mask = await self.reader.readexactly(4)
            payload = await self.reader.readexactly(length)
        except asyncio.IncompleteReadError:
            return None
        return b1 & 0x80, b1 & 0x0F, _unmask(payload, mask)

    def _send(self, opcode, payload):
        n = len(payload)
        if n < 126:
            header = struct.pack(">BB", 0x80 | opcode, n)
        elif n < 65536:
            header = struct.pack(">BBH", 0x80 | opcode, 126, n)
        else:
            header = struct.pack(">BBQ", 0x80 | opcode, 127, n)
        self.writer.write(header + payload)

    async def _fill(self):
        """Read frames until some data arrives; False at the end of the stream."""
        message = bytearray()
        while True:
            frame = await self._frame()
            if frame is None:
                return False
            fin, opcode, payload = frame
            if opcode == OP_CLOSE:
                if not self.closed:
                    self._send(OP_CLOSE, payload[:2])
                    self.closed = True
                return False
            if opcode == OP_PING:
                self._send(OP_PONG, payload[:125])
                continue
            if opcode == OP_PONG:
                continue
            if opcode == OP_TEXT:
                self.close(1003)
                raise ChannelError("text WebSocket message (only binary messages carry RFB)")
            if opcode not in (OP_BINARY, OP_CONTINUATION):
                raise ChannelError("unknown WebSocket opcode %d" % opcode)
            message += payload
            if len(message) > MAX_MESSAGE:
                raise ChannelError("WebSocket message too large")
            if fin:
                self.buffer += message
                if self.buffer:
                    return True
                message = bytearray()

    async def read(self, n):
        if not self.buffer and not await self._fill():
            return b""
        data = bytes(self.buffer[:n])
        del self.buffer[:n]
        return data

    async def readexactly(self, n):
        while len(self.buffer) < n:
            if not await self._fill():
                raise ChannelError("connection closed by the peer")
        data = bytes(self.buffer[:n])
        del self.buffer[:n]
        return data

    def write(self, data):
        if data and not self.closed:
            self._send(OP_BINARY, bytes(data))

    async def drain(self):
        await self.writer.drain()

    def close(self, code=1000):
        if not self.closed and not self.writer.is_closing():
            self._send(OP_CLOSE, struct.pack(">H", code))
            self.closed = True
        if not self.writer.is_closing():
            self.writer.close()


def _unmask(payload, mask):
    if not payload:
        return b""
    n = len(payload)
    key = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
    return (int.from_bytes(payload, "big") ^ key).to_bytes(n, "big")
