"""The proxy: a control server that sets up one-time forwardings.

Control protocol (that of GRNET snf-vncauthproxy 1.7): a client connects
(TCP, optionally TLS), sends one JSON object::

    {"source_port": 0, "destination_address": "node1", "destination_port": 11000,
     "password": "one-time", "auth_user": "cyclades", "auth_password": "...",
     "type": "vnc"}

and reads one JSON object back: ``{"status": "OK", "source_port": P,
"proxy_address": A}`` or ``{"status": "FAILED", "source_port": 0, "reason":
"..."}``. ``type`` is ``vnc`` (plain RFB), ``vnc-ws`` (RFB in WebSocket
binary messages) or ``vnc-wss`` (the same over TLS).
"""

import asyncio
import collections
import json
import logging
import random
import ssl
import time
from dataclasses import dataclass, field

from synnefo.util import rfb
from synnefo.vncauthproxy.channels import ChannelError, TcpChannel, WebSocketChannel
from synnefo.vncauthproxy.handshake import HandshakeError, client_handshake, vm_handshake

log = logging.getLogger("snf-vncauthproxy")

MAX_REQUEST = 4096
CONTROL_TIMEOUT = 10.0
TYPES = ("vnc", "vnc-ws", "vnc-wss")
RELAY_CHUNK = 65536


class RequestError(Exception):
    """A request that gets FAILED; the message is the reason."""


class NoRequest(Exception):
    """The peer closed without sending anything (a port probe): no answer."""


@dataclass
class Config:
    listen_address: str = "127.0.0.1"
    listen_port: int = 24999
    control_tls: ssl.SSLContext | None = None
    proxy_listen_address: str | None = None    # None: every address, IPv4 and IPv6
    proxy_address: str = "localhost"           # what clients are told to connect to
    min_port: int = 25000
    max_port: int = 30000
    connect_timeout: float = 30.0               # wait for the one client
    handshake_timeout: float = 15.0             # a client's RFB/WebSocket handshake
    vm_timeout: float = 5.0                     # connect + handshake with the VM
    vm_retries: int = 2
    tls: ssl.SSLContext | None = None           # vnc-wss listeners
    max_sessions: int = 1000
    max_auth_failures: int = 10                 # per control peer and window
    failure_window: float = 60.0
    users: object = None                        # UserStore


@dataclass
class Forwarding:
    port: int
    kind: str
    destination: tuple
    password: str = field(repr=False)
    created: float = field(default_factory=time.monotonic)


def decode_request(data):
    """Bytes received so far -> the request dict, None if more may come."""
    text = data.decode("utf-8", "strict").strip()
    if not text:
        return None
    if not text.startswith("{"):
        raise RequestError("malformed request: not a JSON object")
    try:
        value, end = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text) or exc.msg.startswith("Unterminated string"):
            return None
        raise RequestError("malformed request: %s" % exc) from None
    if text[end:].strip():
        raise RequestError("malformed request: data after the JSON object")
    return value


def validate_request(req, config):
    """-> (user, dest_host, dest_port, source_port, password, kind); RequestError otherwise."""
    if not isinstance(req, dict):
        raise RequestError("malformed request: not a JSON object")
    user, secret = req.get("auth_user"), req.get("auth_password")
    if not isinstance(user, str) or not isinstance(secret, str):
        raise RequestError("authentication failed: auth_user and auth_password are required")
    host = req.get("destination_address")
    if not isinstance(host, str) or not host or len(host) > 255 or any(c.isspace() for c in host):
        raise RequestError("destination_address must be a host name or address")
    port = req.get("destination_port")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise RequestError("destination_port must be an integer in 1-65535")
    source = req.get("source_port", 0)
    if isinstance(source, bool) or not isinstance(source, int) or \
            not (source == 0 or config.min_port <= source <= config.max_port):
        raise RequestError("source_port must be 0 or in the proxy's pool %d-%d"
                           % (config.min_port, config.max_port))
    password = req.get("password")
    if not isinstance(password, str) or not password or len(password) > 256:
        raise RequestError("password must be a non-empty string")
    kind = req.get("type", "vnc")
    if kind not in TYPES:
        raise RequestError("type must be one of %s" % ", ".join(TYPES))
    return user, secret, host, port, source, password, kind


class VncAuthProxy:
    def __init__(self, config):
        self.config = config
        self.forwardings = {}      # port -> Forwarding (waiting or relaying)
        self.failures = collections.defaultdict(collections.deque)   # peer host -> times
        self.control = None
        self.tasks = set()
        self.setting_up = 0        # requests between the limit check and their forwarding
        self.stats = collections.Counter()

    # -- control channel -----------------------------------------------------
    async def start(self):
        c = self.config
        self.control = await asyncio.start_server(self.handle_control, c.listen_address, c.listen_port,
                                                  ssl=c.control_tls, limit=MAX_REQUEST, backlog=1024)
        addr = self.control.sockets[0].getsockname()
        log.info("control channel on %s port %d (%s); forwardings on %s, ports %d-%d, public address %s",
                 addr[0], addr[1], "TLS" if c.control_tls else "plain TCP",
                 c.proxy_listen_address or "all addresses", c.min_port, c.max_port, c.proxy_address)
        return addr[1]

    async def close(self):
        if self.control:
            self.control.close()
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)

    def _spawn(self, coro):
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def _throttled(self, peer):
        window = self.failures[peer]
        now = time.monotonic()
        while window and now - window[0] > self.config.failure_window:
            window.popleft()
        if not window:
            del self.failures[peer]
        return len(window) >= self.config.max_auth_failures

    async def handle_control(self, reader, writer):
        peer = (writer.get_extra_info("peername") or ("?", 0))[0]
        try:
            try:
                answer = await self._serve_request(reader, peer)
            except RequestError as exc:
                self.stats["failed"] += 1
                log.warning("control request from %s: FAILED: %s", peer, exc)
                answer = {"status": "FAILED", "source_port": 0, "reason": str(exc)}
            except NoRequest:
                log.debug("control connection from %s closed without a request", peer)
                return
            writer.write(json.dumps(answer).encode("utf-8") + b"\n")
            await writer.drain()
        except (TimeoutError, OSError, ssl.SSLError) as exc:
            log.info("control connection from %s: %s", peer, exc or type(exc).__name__)
        except Exception:
            log.exception("control connection from %s: unexpected error", peer)
        finally:
            writer.close()

    async def _read_request(self, reader):
        data = b""
        deadline = time.monotonic() + CONTROL_TIMEOUT
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RequestError("timed out waiting for a complete request")
            try:
                chunk = await asyncio.wait_for(reader.read(MAX_REQUEST), remaining)
            except TimeoutError:
                raise RequestError("timed out waiting for a complete request") from None
            data += chunk
            if len(data) > MAX_REQUEST:
                raise RequestError("request larger than %d bytes" % MAX_REQUEST)
            try:
                request = decode_request(data)
            except UnicodeDecodeError:
                if not chunk:
                    raise RequestError("malformed request: not UTF-8") from None
                continue   # maybe a character cut in two
            if request is not None:
                return request
            if not chunk:
                if not data.strip():
                    raise NoRequest()
                raise RequestError("malformed request: incomplete JSON")

    async def _serve_request(self, reader, peer):
        c = self.config
        request = await self._read_request(reader)
        if self._throttled(peer):
            raise RequestError("too many failed authentications from %s; try again later" % peer)
        user, secret, host, port, source, password, kind = validate_request(request, c)
        allowed = c.users.check_cached(user, secret)
        if allowed is None:
            allowed = await asyncio.to_thread(c.users.check, user, secret)
        if not allowed:
            self.failures[peer].append(time.monotonic())
            raise RequestError("authentication failed for user %r" % user)
        if kind == "vnc-wss" and c.tls is None:
            raise RequestError("vnc-wss is not available: this proxy has no TLS certificate "
                               "(--cert-file/--key-file)")
        if len(self.forwardings) + self.setting_up >= c.max_sessions:
            raise RequestError("too many console sessions (limit %d)" % c.max_sessions)
        self.setting_up += 1
        try:
            vm = await self._connect_vm(host, port)
            try:
                server, bound, arrival = await self._listen(source, kind)
            except BaseException:
                vm.close()
                raise
            fwd = Forwarding(bound, kind, (host, port), password)
            self.forwardings[bound] = fwd
        finally:
            self.setting_up -= 1
        self._spawn(self._run_forwarding(fwd, server, arrival, vm))
        self.stats["ok"] += 1
        log.info("user %s from %s: %s forwarding on port %d to %s:%d (waits %.0f s for its client)",
                 user, peer, kind, bound, host, port, c.connect_timeout)
        return {"status": "OK", "source_port": bound, "proxy_address": c.proxy_address}

    async def _connect_vm(self, host, port):
        c = self.config
        last = None
        for attempt in range(max(1, c.vm_retries + 1)):
            if attempt:
                await asyncio.sleep(0.1 * attempt)
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), c.vm_timeout)
            except (TimeoutError, OSError) as exc:
                last = getattr(exc, "strerror", None) or str(exc) or "timed out"
                continue
            channel = TcpChannel(reader, writer)
            try:
                await asyncio.wait_for(vm_handshake(channel), c.vm_timeout)
                return channel
            except (TimeoutError, HandshakeError, ChannelError, rfb.RfbProtocolError, OSError) as exc:
                channel.close()
                raise RequestError("the VNC server at %s:%d does not answer as an unauthenticated "
                                   "RFB server: %s" % (host, port, exc or "timed out")) from None
        raise RequestError("cannot connect to the VNC server at %s:%d: %s" % (host, port, last))

    async def _listen(self, source, kind):
        """Listen on ``source`` or a random free port of the pool -> (server, port, arrival).

        ``arrival`` is a future that the first client's (reader, writer) completes."""
        c = self.config
        tls = c.tls if kind == "vnc-wss" else None
        if source:
            candidates = [source]
        else:
            free = [p for p in range(c.min_port, c.max_port + 1) if p not in self.forwardings]
            candidates = random.sample(free, min(len(free), 50))
        loop = asyncio.get_running_loop()
        for port in candidates:
            if port in self.forwardings:
                continue
            arrival = loop.create_future()
            try:
                server = await asyncio.start_server(
                    lambda r, w, p=port, a=arrival: self._on_client(p, a, r, w),
                    c.proxy_listen_address, port,
                    ssl=tls, ssl_handshake_timeout=c.handshake_timeout if tls else None)
            except OSError:
                continue
            return server, port, arrival
        raise RequestError("source port %d is in use" % source if source else
                           "no free port in the proxy's pool %d-%d" % (c.min_port, c.max_port))

    # -- forwardings -----------------------------------------------------------
    @staticmethod
    def _on_client(port, arrival, reader, writer):
        if arrival.done():
            peer = writer.get_extra_info("peername")
            log.info("port %d: refused a connection from %s (the forwarding is already taken)",
                     port, peer and peer[0])
            writer.close()
            return
        arrival.set_result((reader, writer))

    async def _run_forwarding(self, fwd, server, arrival, vm):
        c = self.config
        started = time.monotonic()
        try:
            try:
                await asyncio.wait_for(asyncio.shield(arrival), c.connect_timeout)
            except TimeoutError:
                pass
            finally:
                server.close()   # one client only: later connections are refused
                if not arrival.done():
                    arrival.cancel()
            if arrival.cancelled():
                log.info("port %d: no client within %.0f s; forwarding to %s:%d closed",
                         fwd.port, c.connect_timeout, *fwd.destination)
                return
            reader, writer = arrival.result()
            peer = (writer.get_extra_info("peername") or ("?",))[0]
            try:
                await self._serve_client(fwd, vm, reader, writer, peer, started)
            except Exception:
                log.exception("port %d: session of %s ended by an unexpected error", fwd.port, peer)
                writer.close()
        finally:
            vm.close()
            self.forwardings.pop(fwd.port, None)

    async def _serve_client(self, fwd, vm, reader, writer, peer, started):
        c = self.config
        try:
            if fwd.kind == "vnc":
                client = TcpChannel(reader, writer)
            else:
                client = await asyncio.wait_for(WebSocketChannel.accept(reader, writer), c.handshake_timeout)
            version = await asyncio.wait_for(client_handshake(client, fwd.password), c.handshake_timeout)
        except (TimeoutError, HandshakeError, ChannelError, OSError, ssl.SSLError) as exc:
            log.warning("port %d: client %s refused: %s", fwd.port, peer,
                        exc or "timed out during the handshake")
            try:
                await writer.drain()
            except Exception:
                pass
            writer.close()
            return
        log.info("port %d: client %s authenticated (RFB %d.%d%s); relaying to %s:%d",
                 fwd.port, peer, version[0], version[1], "" if fwd.kind == "vnc" else " over WebSocket",
                 *fwd.destination)
        sent, received = await relay(client, vm)
        log.info("port %d: session of %s ended after %.1f s (%d bytes to the VM, %d bytes from it)",
                 fwd.port, peer, time.monotonic() - started, sent, received)



async def _pump(source, target, counter, index):
    try:
        while True:
            data = await source.read(RELAY_CHUNK)
            if not data:
                break
            counter[index] += len(data)
            target.write(data)
            await target.drain()
    except (OSError, ChannelError, ssl.SSLError):
        pass


async def relay(client, vm):
    """Copy bytes both ways until either side closes; -> (to the VM, from the VM)."""
    counter = [0, 0]
    up = asyncio.ensure_future(_pump(client, vm, counter, 0))
    down = asyncio.ensure_future(_pump(vm, client, counter, 1))
    try:
        await asyncio.wait([up, down], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (up, down):
            task.cancel()
        await asyncio.gather(up, down, return_exceptions=True)
        client.close()
        vm.close()
    return counter[0], counter[1]
