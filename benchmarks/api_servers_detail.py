"""GET /api/v1.1/servers/detail: SQL queries and requests/s, against a bare view.

Stack: a temporary SQLite database (migrated with ``snf-manage migrate``) holding
three users with 10, 100 and 1000 servers (each server with a NIC on a public
network and two metadata items).

1. SQL queries per request for each user, counted in-process with Django's
   test client (``CaptureQueriesContext``). The count must not grow with the
   number of servers (no N+1 queries); the run says so or flags it.
2. Requests/s at concurrency ``--concurrency`` (16) through gunicorn on
   loopback for each user, against the limit: a bare Django view (no auth, no
   database) answering a JSON body of the same size, served by the same
   gunicorn setup. Printed as view/limit ratios.

The benchmark asserts nothing and exits 0 when it could measure. Usage:
``python benchmarks/api_servers_detail.py [--seconds S] [--concurrency N] [--workers W]``.
"""

import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

BIN = os.path.dirname(sys.executable)
SIZES = (10, 100, 1000)

SETUP = r"""
import json, sys
import django
django.setup()
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.db import connection
from synnefo.db.models import (Backend, Flavor, Network, NetworkInterface, User, VirtualMachine,
                               VirtualMachineMetadata)
from synnefo.logic.users import issue_token

sizes = json.loads(sys.argv[1])
backend = Backend(clustername="bench.example.org", index=0, username="u")
backend.password = "secret"
backend.save()
flavor = Flavor.objects.create(cpu=1, ram=1024, disk=20, disk_template="drbd")
public = Network.objects.create(name="public", subnet="10.0.0.0/16", public=True, type="PUBLIC_ROUTED",
                                mac_prefix="aa:00:0", state="ACTIVE", link="snf_public")
result = {}
mac = 0
for size in sizes:
    user = User.objects.create(uniq="bench-%d" % size)
    token = issue_token(user, 0)
    vms = VirtualMachine.objects.bulk_create([
        VirtualMachine(name="vm%d" % i, userid=user.uniq, backend=backend, flavor=flavor,
                       imageid="debian", operstate="STARTED") for i in range(size)])
    nics, meta = [], []
    for vm in vms:
        mac += 1
        address = "10.0.%d.%d" % divmod(mac, 256)
        hw = "aa:00:00:%02x:%02x:%02x" % (mac >> 16, (mac >> 8) & 255, mac & 255)
        nics.append(NetworkInterface(machine=vm, network=public, index=0, ipv4=address, mac=hw))
        meta += [VirtualMachineMetadata(vm=vm, meta_key="OS", meta_value="debian"),
                 VirtualMachineMetadata(vm=vm, meta_key="owner", meta_value="bench")]
    NetworkInterface.objects.bulk_create(nics)
    VirtualMachineMetadata.objects.bulk_create(meta)
    client = Client()
    client.get("/api/v1.1/servers/detail", HTTP_X_AUTH_TOKEN=token)  # warm caches
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1.1/servers/detail", HTTP_X_AUTH_TOKEN=token)
    if response.status_code != 200:
        sys.exit("GET /servers/detail answered %d: %s" % (response.status_code, response.content[:300]))
    count = len(json.loads(response.content)["servers"]["values"])
    if count != size:
        sys.exit("GET /servers/detail listed %d servers, expected %d" % (count, size))
    result[size] = {"token": token, "queries": len(queries.captured_queries),
                    "body_bytes": len(response.content)}
print(json.dumps(result))
"""

BARE_URLS = r"""
import os
from django.http import HttpResponse
from django.urls import re_path

BODY = b'{"servers": {"values": [' + b" " * max(0, int(os.environ["BENCH_BODY_BYTES"]) - 29) + b"]}}"


def bare(request):
    return HttpResponse(BODY, content_type="application/json; charset=UTF-8")


urlpatterns = [re_path(r"^", bare)]
"""


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port, proc, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("gunicorn exited with %s" % proc.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not listen on %d within %ds" % (port, timeout))


class Gunicorn:
    """A gunicorn serving the project's WSGI app on a free loopback port."""

    def __init__(self, env, workers):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [os.path.join(BIN, "gunicorn"), "--workers", str(workers), "--bind", "127.0.0.1:%d" % self.port,
             "--log-level", "warning", "synnefo.webproject.wsgi:application"], env=env)
        try:
            wait_port(self.port, self.proc)
        except Exception:
            self.stop()
            raise

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def load(port, path, headers, seconds, concurrency):
    """Requests/s of ``concurrency`` keep-alive clients for ``seconds``."""
    stop_at = time.monotonic() + seconds
    done = [0] * concurrency
    errors = []

    def client(slot):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            while time.monotonic() < stop_at:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    errors.append(response.status)
                    return
                done[slot] += 1
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
        except (OSError, http.client.HTTPException) as exc:
            errors.append(repr(exc))
        finally:
            conn.close()

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError("%s: %s" % (path, errors[0]))
    return sum(done) / (time.monotonic() - started)


def write_settings(directory, db_path, extra=""):
    os.makedirs(directory)
    with open(os.path.join(directory, "00-bench.conf"), "w") as handle:
        handle.write("DATABASES['default']['NAME'] = %r\nAMQP_HOSTS = ['filesystem://']\n"
                     "AMQP_FILESYSTEM_DIR = %r\nSECRET_KEY = 'bench'\n"
                     "SECRET_ENCRYPTION_KEY = 'bench encryption key'\nALLOWED_HOSTS = ['*']\n"
                     "DEBUG = False\n%s" % (db_path, os.path.join(os.path.dirname(directory), "broker"),
                                            extra))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="load duration per measurement")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    args = parser.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="snf-bench-api-")
    try:
        return run(tmp, args)
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        print("api_servers_detail: %s" % exc, file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(tmp, args):
    db_path = os.path.join(tmp, "bench.sqlite3")
    api_settings = os.path.join(tmp, "settings-api")
    bare_settings = os.path.join(tmp, "settings-bare")
    write_settings(api_settings, db_path)
    write_settings(bare_settings, db_path, "ROOT_URLCONF = 'bench_bare_urls'\n")
    with open(os.path.join(tmp, "bench_bare_urls.py"), "w") as handle:
        handle.write(BARE_URLS)
    env = dict(os.environ, SYNNEFO_SETTINGS_DIR=api_settings, DJANGO_SETTINGS_MODULE="synnefo.settings")
    subprocess.run([os.path.join(BIN, "snf-manage"), "migrate", "-v", "0"], env=env, check=True)
    setup = subprocess.run([sys.executable, "-c", SETUP, json.dumps(SIZES)], env=env, check=True,
                           stdout=subprocess.PIPE, text=True)
    users = {int(size): data for size, data in json.loads(setup.stdout.splitlines()[-1]).items()}

    print("SQL queries per GET /servers/detail (SQLite):")
    for size in SIZES:
        print("  %5d servers: %3d queries, %8d bytes" % (size, users[size]["queries"],
                                                         users[size]["body_bytes"]))
    counts = {users[size]["queries"] for size in SIZES}
    print("  query count %s with the number of servers" % ("constant" if len(counts) == 1 else "GROWS"))

    print("requests/s at concurrency %d, gunicorn --workers %d, %.0fs each:"
          % (args.concurrency, args.workers, args.seconds))
    api = Gunicorn(env, args.workers)
    try:
        api_rps = {size: load(api.port, "/api/v1.1/servers/detail",
                              {"X-Auth-Token": users[size]["token"]}, args.seconds, args.concurrency)
                   for size in SIZES}
    finally:
        api.stop()
    bare_rps = {}
    for size in SIZES:
        bare_env = dict(env, SYNNEFO_SETTINGS_DIR=bare_settings,
                        BENCH_BODY_BYTES=str(users[size]["body_bytes"]),
                        PYTHONPATH=os.pathsep.join(filter(None, [tmp, os.environ.get("PYTHONPATH")])))
        bare = Gunicorn(bare_env, args.workers)
        try:
            bare_rps[size] = load(bare.port, "/", {}, args.seconds, args.concurrency)
        finally:
            bare.stop()
    for size in SIZES:
        print("  %5d servers: view %8.1f req/s, bare view %8.1f req/s, ratio %.3f"
              % (size, api_rps[size], bare_rps[size], api_rps[size] / bare_rps[size]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
