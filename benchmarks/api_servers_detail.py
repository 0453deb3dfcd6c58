"""GET /api/v1.1/servers/detail and /servers: SQL queries and requests/s, against two limits.

Stack: a temporary SQLite database (migrated with ``snf-manage migrate``) holding
three users with 10, 100 and 1000 servers (each server with a NIC on a public
network and two metadata items).

1. SQL queries per request for each user, counted in-process with Django's
   test client (``CaptureQueriesContext``), once with the rendered servers
   not kept yet (cold) and once kept (warm). The count must not grow with the
   number of servers (no N+1 queries); the run says so or flags it.
2. Requests/s at concurrency ``--concurrency`` (16) through gunicorn on
   loopback, for GET /servers/detail in JSON at each size, in XML
   (``Accept: application/xml``) at 1000 servers, and for the compact GET
   /servers at 1000 servers; the API also once with its server cache off
   (``API_SERVER_CACHE_ENTRIES = 0``, no goal: what rendering costs). Two limits,
   served by the same gunicorn setup, each answering a body of the same size
   as the API's answer:

   * the bare view: a Django view with no auth and no database;
   * the query view: the bare view that first runs the SQL the API runs for
     that request with its cache off (token lookup included), with the same
     parameters, through a plain cursor (``fetchall``), so the ratio against
     it separates rendering cost from query cost.

   The four gunicorns (the API, the API with its cache off, the two limits)
   run at once. Each case is first asked of each for half a second, not
   counted (see ``WARM_UP_SECONDS``), then of each in turn, ``--rounds`` (3)
   rounds of ``--seconds`` / ``--rounds`` seconds, so that a change of load
   on the machine falls on the view and its limits alike; the best round of
   each counts. Printed as view/limit ratios, with the CPU time a
   request cost the gunicorn workers and the load generator (this process:
   on a small machine it competes with the workers for the same cores); the
   goals (0.5 of each limit at 1000 servers, JSON and XML) are reported with
   ``_summary.report``.

``--profile`` instead profiles ten in-process requests at 1000 servers, JSON
then XML, with pyinstrument (requirements-dev.txt) and prints where the time
goes (docs/benchmarks.rst keeps the findings)::

    .venv/bin/python benchmarks/api_servers_detail.py --profile

The benchmark asserts nothing and exits 0 when it could measure. Usage:
``python benchmarks/api_servers_detail.py [--seconds S] [--rounds R] [--concurrency N] [--workers W]
[--profile]``.
"""

import argparse
import http.client
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

from _summary import report
from synnefo.tools.loopback import free_port
from synnefo.tools.processes import child_pids, cpu_seconds

BIN = os.path.dirname(sys.executable)
# Each case is asked this long before it is measured: every worker has then
# served its first requests (Django's lazy imports, the database connection)
# and the API's per-process cache holds the list (a cold list is what the
# "cache off" line measures).
WARM_UP_SECONDS = 0.5
SIZES = (10, 100, 1000)

SETUP = r"""
import base64, json, pickle, sys
import django
django.setup()
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.db import connection
from synnefo.db.models import (Backend, Flavor, Network, NetworkInterface, User, VirtualMachine,
                               VirtualMachineMetadata)
from synnefo.logic.users import issue_token

try:
    from synnefo.api.server_cache import clear as clear_cache
except ImportError:  # code from before the cache (issue 12)
    def clear_cache():
        pass

sizes, cases = json.loads(sys.argv[1]), json.loads(sys.argv[2])
backend = Backend(clustername="bench.example.org", index=0, username="u")
backend.password = "secret"
backend.save()
flavor = Flavor.objects.create(cpu=1, ram=1024, disk=20, disk_template="drbd")
public = Network.objects.create(name="public", subnet="10.0.0.0/16", public=True, type="PUBLIC_ROUTED",
                                mac_prefix="aa:00:0", state="ACTIVE", link="snf_public")
tokens = {}
mac = 0
for size in sizes:
    user = User.objects.create(uniq="bench-%d" % size)
    tokens[size] = issue_token(user, 0)
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


def ask(client, case):
    response = client.get(case["path"], HTTP_X_AUTH_TOKEN=tokens[case["size"]], **case["headers"])
    if response.status_code != 200:
        sys.exit("GET %s answered %d: %s" % (case["path"], response.status_code, response.content[:300]))
    return response


def count_queries(client, case):
    # Every request empties the query log the context indexes into (Django's
    # request_started signal): start from an empty log, count at once.
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as queries:
        response = ask(client, case)
        return len(queries), response


result = {}
for name, case in cases.items():
    client = Client()
    ask(client, case)  # warm Django's own caches
    clear_cache()
    cold, response = count_queries(client, case)
    warm, _ = count_queries(client, case)
    if case["path"].endswith("/detail") and not case["headers"]:
        count = len(json.loads(response.content)["servers"]["values"])
        if count != case["size"]:
            sys.exit("GET /servers/detail listed %d servers, expected %d" % (count, case["size"]))
    executed = []

    def record(execute, sql, params, many, context):
        executed.append((sql, params))
        return execute(sql, params, many, context)

    with override_settings(API_SERVER_CACHE_ENTRIES=0), connection.execute_wrapper(record):
        ask(client, case)
    result[name] = {"token": tokens[case["size"]], "cold_queries": cold, "warm_queries": warm,
                    "body_bytes": len(response.content),
                    "sql": base64.b64encode(pickle.dumps(executed)).decode()}
print(json.dumps(result))
"""

LIMIT_URLS = r"""
import base64, json, os, pickle
from django.db import connection
from django.http import HttpResponse
from django.urls import re_path

with open(os.environ["BENCH_CASES"]) as handle:
    CASES = json.load(handle)
BODIES, TYPES, SQL = {}, {}, {}
for name, case in CASES.items():
    if case["xml"]:
        head, tail = b'<?xml version="1.0" encoding="UTF-8"?>\n<servers>', b"</servers>"
        TYPES[name] = "application/xml; charset=UTF-8"
    else:
        head, tail = b'{"servers": {"values": [', b"]}}"
        TYPES[name] = "application/json; charset=UTF-8"
    BODIES[name] = head + b" " * max(0, case["body_bytes"] - len(head) - len(tail)) + tail
    SQL[name] = pickle.loads(base64.b64decode(case["sql"]))


def bare(request, case):
    return HttpResponse(BODIES[case], content_type=TYPES[case])


def query(request, case):
    with connection.cursor() as cursor:
        for sql, params in SQL[case]:
            cursor.execute(sql, params)
            cursor.fetchall()
    return HttpResponse(BODIES[case], content_type=TYPES[case])


urlpatterns = [re_path(r"^bare/(?P<case>[\w-]+)$", bare), re_path(r"^query/(?P<case>[\w-]+)$", query)]
"""

PROFILE = r"""
import json, sys
import django
django.setup()
from django.test import Client
from pyinstrument import Profiler

token, detail = json.loads(sys.argv[1]), "/api/v1.1/servers/detail"
for label, headers in (("JSON", {}), ("XML", {"HTTP_ACCEPT": "application/xml"})):
    for state in ("cold (cache off)", "warm"):
        client = Client()
        extra = dict(headers, HTTP_X_AUTH_TOKEN=token)
        from django.test import override_settings
        entries = 0 if state.startswith("cold") else 20000
        with override_settings(API_SERVER_CACHE_ENTRIES=entries):
            client.get(detail, **extra)
            profiler = Profiler(interval=0.0005)
            profiler.start()
            for _ in range(10):
                client.get(detail, **extra)
            profiler.stop()
        print("=== GET /servers/detail, 1000 servers, %s, %s: 10 requests" % (label, state))
        print(profiler.output_text(unicode=False, color=False))
"""


def cases():
    """name -> {path, headers, size, xml}: what the load asks for."""
    detail, compact = "/api/v1.1/servers/detail", "/api/v1.1/servers"
    result = {"detail-json-%d" % size: {"path": detail, "headers": {}, "size": size, "xml": False}
              for size in SIZES}
    result["detail-xml-1000"] = {"path": detail, "headers": {"HTTP_ACCEPT": "application/xml"},
                                 "size": 1000, "xml": True}
    result["list-json-1000"] = {"path": compact, "headers": {}, "size": 1000, "xml": False}
    return result


LABELS = {"detail-json-%d" % size: "GET /servers/detail, %d servers, JSON" % size for size in SIZES}
LABELS.update({"detail-xml-1000": "GET /servers/detail, 1000 servers, XML",
               "list-json-1000": "GET /servers, 1000 servers, JSON"})


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

    def cpu_seconds(self):
        """User + system CPU seconds of the workers so far."""
        return sum(cpu_seconds(worker) for worker in child_pids(self.proc.pid))

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
    parser.add_argument("--seconds", type=float, default=3.0, help="load duration per case and server")
    parser.add_argument("--rounds", type=int, default=3,
                        help="the seconds of each case are split in this many rounds; the best counts")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--profile", action="store_true",
                        help="profile in-process requests at 1000 servers (pyinstrument) instead of the load")
    args = parser.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="snf-bench-api-")
    try:
        return run(tmp, args)
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        print("api_servers_detail: %s" % exc, file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def own_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def request_of(prefix, name, case, users):
    """``(path, headers)`` of case ``name`` for a server with URL ``prefix``
    (the limits) or for the API (``prefix`` None)."""
    if prefix:
        return prefix + name, {}
    return case["path"], dict({"X-Auth-Token": users[name]["token"]},
                              **{k[5:].replace("_", "-").title(): v for k, v in case["headers"].items()})


def measure(servers, asked, users, args):
    """``which -> name -> (requests/s, server CPU ms a request, load generator
    CPU ms a request)``. ``servers``: ``which -> (gunicorn, URL prefix, names
    of the cases it serves)``, all running at once. Each case is asked of
    every server in turn, ``--rounds`` times ``--seconds / --rounds``
    seconds, so that a change of load on the machine falls on all of them
    alike; the best round of each counts (as timeit takes the best of its
    repeats), the CPU figures are over all rounds."""
    results = {which: {} for which in servers}
    share = args.seconds / args.rounds
    for name, case in asked.items():
        targets = {which: (gunicorn, request_of(prefix, name, case, users))
                   for which, (gunicorn, prefix, names) in servers.items() if name in names}
        for gunicorn, (path, headers) in targets.values():
            load(gunicorn.port, path, headers, WARM_UP_SECONDS, args.concurrency)  # not counted
        rates = {which: [] for which in targets}
        spent = {which: [0.0, 0.0, 0.0] for which in targets}  # server CPU s, client CPU s, requests
        for _ in range(args.rounds):
            for which, (gunicorn, (path, headers)) in targets.items():
                server, client, started = gunicorn.cpu_seconds(), own_cpu_seconds(), time.monotonic()
                rate = load(gunicorn.port, path, headers, share, args.concurrency)
                rates[which].append(rate)
                spent[which][0] += gunicorn.cpu_seconds() - server
                spent[which][1] += own_cpu_seconds() - client
                spent[which][2] += rate * (time.monotonic() - started)
        for which, (server_cpu, client_cpu, count) in spent.items():
            results[which][name] = (max(rates[which]), server_cpu * 1000 / count, client_cpu * 1000 / count)
    return results


def run(tmp, args):
    db_path = os.path.join(tmp, "bench.sqlite3")
    settings = {name: os.path.join(tmp, "settings-" + name) for name in ("api", "nocache", "limits")}
    write_settings(settings["api"], db_path)
    write_settings(settings["nocache"], db_path, "API_SERVER_CACHE_ENTRIES = 0\n")
    write_settings(settings["limits"], db_path, "ROOT_URLCONF = 'bench_limit_urls'\n")
    with open(os.path.join(tmp, "bench_limit_urls.py"), "w") as handle:
        handle.write(LIMIT_URLS)
    env = dict(os.environ, SYNNEFO_SETTINGS_DIR=settings["api"], DJANGO_SETTINGS_MODULE="synnefo.settings",
               PYTHONWARNINGS="ignore::UserWarning")
    subprocess.run([os.path.join(BIN, "snf-manage"), "migrate", "-v", "0"], env=env, check=True)
    asked = cases()
    if args.profile:
        asked = {"detail-json-1000": asked["detail-json-1000"]}
    setup = subprocess.run([sys.executable, "-c", SETUP, json.dumps(SIZES), json.dumps(asked)], env=env,
                           check=True, stdout=subprocess.PIPE, text=True)
    users = json.loads(setup.stdout.splitlines()[-1])
    if args.profile:
        subprocess.run([sys.executable, "-c", PROFILE, json.dumps(users["detail-json-1000"]["token"])],
                       env=env, check=True)
        return 0

    print("SQL queries per request (SQLite), servers not kept yet (cold) / kept (warm):")
    for name in asked:
        print("  %-40s %2d / %2d queries, %8d bytes" % (LABELS[name], users[name]["cold_queries"],
                                                      users[name]["warm_queries"], users[name]["body_bytes"]))
    detail = [name for name in asked if name.startswith("detail-json")]
    counts = {(users[n]["cold_queries"], users[n]["warm_queries"]) for n in detail}
    print("  query count %s with the number of servers" % ("constant" if len(counts) == 1 else "GROWS"))

    cases_file = os.path.join(tmp, "cases.json")
    with open(cases_file, "w") as handle:
        json.dump({name: dict(case, **users[name]) for name, case in asked.items()}, handle)
    limit_env = dict(env, SYNNEFO_SETTINGS_DIR=settings["limits"], BENCH_CASES=cases_file,
                     PYTHONPATH=os.pathsep.join(filter(None, [tmp, os.environ.get("PYTHONPATH")])))
    nocache_env = dict(env, SYNNEFO_SETTINGS_DIR=settings["nocache"])
    uncached = {name: asked[name] for name in ("detail-json-1000", "detail-xml-1000")}

    print("requests/s at concurrency %d, gunicorn --workers %d, the best of %d rounds of %.1f s each:"
          % (args.concurrency, args.workers, args.rounds, args.seconds / args.rounds))
    every = set(asked)
    plan = {"api": (env, None, every), "nocache": (nocache_env, None, set(uncached)),
            "bare": (limit_env, "/bare/", every), "query": (limit_env, "/query/", every)}
    running = {}
    try:
        for which, (server_env, prefix, names) in plan.items():
            running[which] = (Gunicorn(server_env, args.workers), prefix, names)
        measured = measure(running, asked, users, args)
    finally:
        for gunicorn, _, _ in running.values():
            gunicorn.stop()
    api, nocache, bare, query = ({name: figures[0] for name, figures in measured[which].items()}
                                 for which in ("api", "nocache", "bare", "query"))
    for name in asked:
        print("  %-40s view %7.1f req/s | bare view %7.1f, ratio %.3f | query view %7.1f, ratio %.3f"
              % (LABELS[name], api[name], bare[name], api[name] / bare[name], query[name],
                 api[name] / query[name]))
    for name in uncached:
        print("  %-40s cache off: view %7.1f req/s, ratio %.3f to the bare view, %.3f to the query view"
              % (LABELS[name], nocache[name], nocache[name] / bare[name], nocache[name] / query[name]))
    print("CPU ms a request, gunicorn's workers / the load generator (this process):")
    for name in asked:
        print("  %-40s view %s | bare view %s | query view %s"
              % ((LABELS[name],) + tuple("%.3f / %.3f" % measured[which][name][1:]
                                         for which in ("api", "bare", "query"))))

    for name in ("detail-json-1000", "detail-xml-1000"):
        report(LABELS[name], "%.0f req/s" % api[name], "%.0f req/s bare view" % bare[name],
               api[name] / bare[name], 0.5)
        report(LABELS[name] + " vs query", "%.0f req/s" % api[name], "%.0f req/s query view" % query[name],
               api[name] / query[name], 0.5)
    report(LABELS["list-json-1000"], "%.0f req/s" % api["list-json-1000"],
           "%.0f req/s bare view" % bare["list-json-1000"],
           api["list-json-1000"] / bare["list-json-1000"], 0.5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
