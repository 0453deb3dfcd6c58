"""snf-vncauthproxy: set-up latency and throughput of 200 concurrent console
sessions, against a bare TCP relay on the same ports (the limit).

A VNC "VM" (an RFB server without authentication that echoes every byte
after the security phase) runs in a subprocess. Then, each in a subprocess
of its own and one after the other on the same ports:

* snf-vncauthproxy: each session asks the control channel for a forwarding
  (JSON, user check, connection and RFB handshake to the VM, a listening
  port), connects, passes VNC authentication, then pushes data;
* the limit, a bare asyncio relay listening on the ports the proxy used:
  each session connects, the relay connects to the VM, the client does the
  VM's own RFB handshake through it (security None), then pushes data.

Set-up latency: from the session's start to its SecurityResult OK, for
20 sessions one after the other (idle) and for the 200 started at once
(median and p95). Throughput: every session pushes ``--kib`` KiB at once and reads
the echo back; bytes through the relay per second. Ratios proxy/limit are
printed; nothing is asserted.

Usage: ``python benchmarks/console_proxy.py [--sessions 200] [--kib 512]``.
Ports 25000-25299 (the proxy pool) and a few free ones on 127.0.0.1.
"""

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from synnefo.tools.loopback import free_port
from synnefo.util import rfb

POOL = (25000, 25299)
IDLE_SESSIONS = 20
USER, SECRET = "bench", "bench-secret"
CHUNK = 32768


# -- the VM and the bare relay (run as subprocesses: this file with a mode) ----
async def pump(reader, writer):
    """Copy reader to writer until the end (the same stream's writer: an echo)."""
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


async def vm_session(reader, writer):
    try:
        writer.write(rfb.VERSION_3_8)
        await reader.readexactly(12)
        writer.write(bytes([1, rfb.SECURITY_NONE]))
        await reader.readexactly(1)
        writer.write(rfb.RESULT_OK)
    except (OSError, asyncio.IncompleteReadError):
        writer.close()
        return
    await pump(reader, writer)


async def run_vm(port):
    server = await asyncio.start_server(vm_session, "127.0.0.1", port, backlog=1024)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


async def run_relay(vm_port, ports):
    async def relay(reader, writer):
        try:
            vm_reader, vm_writer = await asyncio.open_connection("127.0.0.1", vm_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(pump(reader, vm_writer), pump(vm_reader, writer))
    servers = [await asyncio.start_server(relay, "127.0.0.1", p) for p in ports]
    print("ready", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


# -- the clients ------------------------------------------------------------------
async def control_request(port, vm_port):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    body = {"source_port": 0, "destination_address": "127.0.0.1", "destination_port": vm_port,
            "password": "bench-pw", "auth_user": USER, "auth_password": SECRET, "type": "vnc"}
    writer.write(json.dumps(body).encode() + b"\n")
    answer = json.loads(await reader.readline())
    writer.close()
    if answer.get("status") != "OK":
        raise RuntimeError("proxy answered %s" % answer)
    return answer["source_port"]


async def handshake(reader, writer, password):
    await reader.readexactly(12)
    writer.write(rfb.VERSION_3_8)
    count = (await reader.readexactly(1))[0]
    types = await reader.readexactly(count)
    if password is not None:
        assert rfb.SECURITY_VNC_AUTH in types
        writer.write(bytes([rfb.SECURITY_VNC_AUTH]))
        challenge = await reader.readexactly(16)
        writer.write(rfb.vnc_auth_response(challenge, password))
    else:
        writer.write(bytes([rfb.SECURITY_NONE]))
    if await reader.readexactly(4) != rfb.RESULT_OK:
        raise RuntimeError("security result not OK")


async def push(reader, writer, total):
    async def send():
        block = os.urandom(CHUNK)
        sent = 0
        while sent < total:
            n = min(CHUNK, total - sent)
            writer.write(block[:n])
            await writer.drain()
            sent += n

    async def receive():
        got = 0
        while got < total:
            data = await reader.read(65536)
            if not data:
                raise RuntimeError("connection closed after %d of %d bytes" % (got, total))
            got += len(data)
    await asyncio.gather(send(), receive())


async def sessions(n, total, connect, start_barrier):
    """Run n sessions: set up all (concurrently), then push all at once."""
    latencies = []
    ready = asyncio.Event()
    pushed = []

    async def one(i):
        t0 = time.perf_counter()
        reader, writer = await connect(i)
        latencies.append(time.perf_counter() - t0)
        if len(latencies) == n:
            ready.set()
        await ready.wait()
        await start_barrier.wait()
        await push(reader, writer, total)
        pushed.append(total)
        writer.close()

    tasks = [asyncio.ensure_future(one(i)) for i in range(n)]
    while not ready.is_set():
        done = [t for t in tasks if t.done() and t.exception()]
        if done:
            raise done[0].exception()
        await asyncio.sleep(0.01)
    t0 = time.perf_counter()
    start_barrier.set()
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - t0
    return latencies, 2 * sum(pushed) / elapsed


async def sequential(n, connect):
    """Set-up latencies of n sessions one after the other (an idle proxy)."""
    latencies = []
    for i in range(n):
        t0 = time.perf_counter()
        reader, writer = await connect(i)
        latencies.append(time.perf_counter() - t0)
        writer.close()
    return latencies


def spawn(args):
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc


def wait_ready(proc, what):
    line = proc.stdout.readline()
    if line.strip() != "ready":
        raise RuntimeError("%s did not start: %s" % (what, proc.stderr.read()[-2000:]))


def wait_port(port, proc, what, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("%s exited: %s" % (what, proc.stderr.read()[-2000:]))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("%s does not listen on %d" % (what, port))


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def summary(latencies):
    ordered = sorted(latencies)
    return statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--kib", type=int, default=512, help="KiB each session pushes (echoed back)")
    parser.add_argument("--mode", choices=("vm", "relay"), help=argparse.SUPPRESS)
    parser.add_argument("--vm-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--ports", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.mode == "vm":
        asyncio.run(run_vm(args.vm_port))
        return 0
    if args.mode == "relay":
        asyncio.run(run_relay(args.vm_port, [int(p) for p in args.ports.split(",")]))
        return 0
    if args.sessions > POOL[1] - POOL[0] + 1:
        parser.error("at most %d sessions (the pool)" % (POOL[1] - POOL[0] + 1))

    total = args.kib * 1024
    work = tempfile.mkdtemp(prefix="bench-console-")
    vm_port, control_port = free_port(), free_port()
    me = os.path.abspath(__file__)
    vm = spawn([sys.executable, me, "--mode", "vm", "--vm-port", str(vm_port)])
    processes = [vm]
    try:
        wait_ready(vm, "the VM")
        users = os.path.join(work, "users")
        subprocess.run([sys.executable, "-m", "synnefo.vncauthproxy.cli", "--auth-file", users, "--add-user",
                        USER], input=SECRET + "\n", text=True, check=True, capture_output=True)
        proxy = spawn([sys.executable, "-m", "synnefo.vncauthproxy.cli", "--foreground", "--auth-file", users,
                       "--listen-address", "127.0.0.1", "--listen-port", str(control_port),
                       "--proxy-listen-address", "127.0.0.1", "--proxy-address", "127.0.0.1",
                       "--min-port", str(POOL[0]), "--max-port", str(POOL[1]),
                       "--log-file", os.path.join(work, "proxy.log")])
        processes.append(proxy)
        wait_port(control_port, proxy, "snf-vncauthproxy")
        used_ports = []

        async def through_proxy(i):
            port = await control_request(control_port, vm_port)
            used_ports.append(port)
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            await handshake(reader, writer, "bench-pw")
            return reader, writer

        async def proxy_run():
            await control_request(control_port, vm_port)   # warm: the user check's slow hash
            idle = await sequential(IDLE_SESSIONS, through_proxy)
            await asyncio.sleep(0.5)   # the idle sessions' ports return to the pool
            used_ports.clear()
            return idle, *await sessions(args.sessions, total, through_proxy, asyncio.Event())
        proxy_idle, proxy_lat, proxy_tput = asyncio.run(proxy_run())
        stop(proxy)
        ports = sorted(used_ports)

        relay = spawn([sys.executable, me, "--mode", "relay", "--vm-port", str(vm_port),
                       "--ports", ",".join(map(str, ports))])
        processes.append(relay)
        wait_ready(relay, "the bare relay")

        async def through_relay(i):
            reader, writer = await asyncio.open_connection("127.0.0.1", ports[i])
            await handshake(reader, writer, None)
            return reader, writer
        async def relay_run():
            idle = await sequential(IDLE_SESSIONS, through_relay)
            return idle, *await sessions(args.sessions, total, through_relay, asyncio.Event())
        bare_idle, bare_lat, bare_tput = asyncio.run(relay_run())
    finally:
        for proc in processes:
            stop(proc)

    i_med, b_i_med = statistics.median(proxy_idle), statistics.median(bare_idle)
    p_med, p_95 = summary(proxy_lat)
    b_med, b_95 = summary(bare_lat)
    mib = 1024 * 1024
    print(f"{args.sessions} concurrent sessions, {args.kib} KiB pushed and echoed each")
    print(f"idle set-up     proxy: median {i_med * 1000:.1f} ms   bare relay: median {b_i_med * 1000:.1f} ms "
          f"({IDLE_SESSIONS} sessions one after the other)")
    print(f"set-up latency  proxy: median {p_med * 1000:.1f} ms, p95 {p_95 * 1000:.1f} ms   "
          f"bare relay: median {b_med * 1000:.1f} ms, p95 {b_95 * 1000:.1f} ms")
    print(f"throughput      proxy: {proxy_tput / mib:.1f} MiB/s   bare relay: {bare_tput / mib:.1f} MiB/s")
    print(f"ratio idle set-up latency (proxy / limit): median {i_med / b_i_med:.2f}")
    print(f"ratio set-up latency under load (proxy / limit): median {p_med / b_med:.2f}, "
          f"p95 {p_95 / b_95:.2f}")
    print(f"ratio throughput (proxy / limit): {proxy_tput / bare_tput:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
