"""``snf-manage reconcile-servers --all`` over many servers, against a bare loop.

Stack: the Ganeti simulator holding ``--servers`` (10,000) running instances
(``snf-ganeti-sim --seed-instances``), one backend, and a temporary SQLite
database (migrated with ``snf-manage migrate``) with the same servers, all in
sync.

* limit: one bulk RAPI instance list (``GET /2/instances?bulk=1``) plus one DB
  query of the servers, compared in a bare Python loop;
* reconcile: the command's own work (``call_command("reconcile-servers",
  "--all")``), in process.

Each run is measured in a child process of its own (after ``django.setup()``),
limit and reconcile alternated, best of ``--repeat`` (3) each; the child's peak
RSS is reported too. Prints the ratio
reconcile/limit; asserts nothing and exits 0 when it could measure (non-zero
when reconciliation did not find the servers in sync). Usage:
``python benchmarks/reconcile_servers.py [--servers N] [--repeat R]``.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

BIN = os.path.dirname(sys.executable)

SETUP = r"""
import json, sys
import django
django.setup()
from synnefo.db.models import Backend, Flavor, VirtualMachine
sim, count = json.loads(sys.argv[1]), int(sys.argv[2])
backend = Backend(clustername="127.0.0.1", port=sim["port"], username="writer", index=0,
                  ssl_fingerprint=sim["fingerprint"])
backend.password = "secret"
backend.save()
flavor = Flavor.objects.create(cpu=1, ram=128, disk=1, disk_template="diskless")
for start in range(1, count + 1, 2000):
    VirtualMachine.objects.bulk_create([
        VirtualMachine(id=i, name="vm%d" % i, userid="bench", backend=backend, flavor=flavor,
                       imageid="img", operstate="STARTED")
        for i in range(start, min(count, start + 1999) + 1)])
"""

MEASURE = r"""
import io, json, resource, sys, time
import django
django.setup()
from django.core.management import call_command
from synnefo.db.models import Backend, VirtualMachine
from synnefo.logic.backends import get_rapi_client
from synnefo.logic.utils import vm_id_of
what, repeat = sys.argv[1], int(sys.argv[2])
backend = Backend.objects.get()

def limit():
    instances = get_rapi_client(backend).get_instances(bulk=True)
    db = dict(VirtualMachine.objects.filter(deleted=False, backend=backend)
              .values_list("id", "operstate"))
    differ = 0
    for inst in instances:
        vm_id = vm_id_of(inst["name"])
        state = db.pop(vm_id, None)
        if state is None or (state == "STARTED") != bool(inst["oper_state"]):
            differ += 1
    return differ + len(db), ""

def reconcile():
    out = io.StringIO()
    try:
        call_command("reconcile-servers", "--all", stdout=out)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue().strip().splitlines()[-1]

best, detail = None, ""
for _ in range(repeat):
    start = time.perf_counter()
    result, detail = (limit if what == "limit" else reconcile)()
    elapsed = time.perf_counter() - start
    if result:
        sys.exit("%s: not in sync (%s) %s" % (what, result, detail))
    best = elapsed if best is None else min(best, elapsed)
print(json.dumps({"seconds": best, "rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "detail": detail}))
"""


def run(args, env, **kwargs):
    proc = subprocess.run(args, env=env, capture_output=True, text=True, **kwargs)
    if proc.returncode != 0:
        sys.exit("%s failed: %s" % (" ".join(args[:3]), (proc.stderr or proc.stdout)[-2000:]))
    return proc.stdout


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--servers", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    from synnefo.tools.ganeti_sim.testing import SimProcess

    base = tempfile.mkdtemp(prefix="bench-reconcile-")
    try:
        settings_dir = os.path.join(base, "settings")
        os.makedirs(settings_dir)
        with open(os.path.join(settings_dir, "50-bench.conf"), "w") as handle:
            handle.write(f"DATABASES['default']['NAME'] = {os.path.join(base, 'db.sqlite3')!r}\n"
                         f"AMQP_HOSTS = ['filesystem://']\nAMQP_FILESYSTEM_DIR = {base + '/broker'!r}\n"
                         "BACKEND_PREFIX_ID = 'snf-'\nSECRET_ENCRYPTION_KEY = 'bench-key'\n")
        env = dict(os.environ, SYNNEFO_SETTINGS_DIR=settings_dir, DJANGO_SETTINGS_MODULE="synnefo.settings")
        run([os.path.join(BIN, "snf-manage"), "migrate", "--noinput"], env)
        started = time.perf_counter()
        with SimProcess(os.path.join(base, "sim"), "--cluster-name", "127.0.0.1", "--seed-instances",
                        "snf-:1:%d" % args.servers, start_timeout=120) as sim:
            seeded = time.perf_counter() - started
            run([sys.executable, "-c", SETUP, json.dumps(sim.info), str(args.servers)], env)
            results = {}
            for _ in range(args.repeat):  # alternated, so that load from elsewhere hits both alike
                for what in ("limit", "reconcile"):
                    out = run([sys.executable, "-c", MEASURE, what, "1"], env)
                    result = json.loads(out.strip().splitlines()[-1])
                    best = results.get(what)
                    if best is None or result["seconds"] < best["seconds"]:
                        results[what] = result
    finally:
        shutil.rmtree(base, ignore_errors=True)
    limit, rec = results["limit"], results["reconcile"]
    print(f"reconcile-servers --all over {args.servers} servers on one simulated backend "
          f"(simulator seeded and started in {seeded:.1f} s)")
    print(f"  limit (1 bulk RAPI list + 1 DB query, compared): {limit['seconds']:.3f} s, "
          f"peak RSS {limit['rss_kib'] / 1024:.0f} MiB")
    print(f"  reconcile-servers --all:                         {rec['seconds']:.3f} s, "
          f"peak RSS {rec['rss_kib'] / 1024:.0f} MiB  ({rec['detail']})")
    print(f"  ratio reconcile/limit: time {rec['seconds'] / limit['seconds']:.2f}x, "
          f"peak RSS {rec['rss_kib'] / limit['rss_kib']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
