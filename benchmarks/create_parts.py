"""Where one POST /servers spends its time: the parts, one request at a time.

Starts the deployment ``create_to_active.py`` uses (SQLite + the file-system
broker, the simulator with ``--job-duration 0.3``) and times, ``--count``
times each, one at a time (median and p90, ms):

1. ``GET /2/info`` to the simulator on a kept-alive RAPI client: the bare
   round trip;
2. a CreateInstance on that kept-alive client (what a create's submission
   costs: Cyclades keeps one client, one HTTPS session, per thread);
3. a CreateInstance on a fresh client each time (TLS handshake included);
4. in this process, with the deployment's settings (``synnefo.logic``
   directly, no HTTP): the create's transaction alone (server, address,
   limit, the encrypted job), then its submission alone
   (``create_submit.submit``: claim, RAPI create, record);
5. POST /servers through gunicorn, one at a time;

then prints the cProfile of the in-process creates of 4 (top functions by
cumulative time). Usage: ``python benchmarks/create_parts.py [--count N]``.
It asserts nothing; the figures are in ``docs/benchmarks.rst`` ("Creates").
"""

import argparse
import cProfile
import io
import logging
import os
import pstats
import secrets
import shutil
import statistics
import sys
import tempfile
import time

from create_to_active import LIMIT_PREFIX, api_client, clear_simulator, instance_body, pick
from synnefo.tools.loopback import free_port


def figures(label, values):
    values = sorted(values)
    p90 = values[min(len(values) - 1, int(len(values) * 0.9))]
    print("%-58s median %7.1f ms, p90 %7.1f ms" % (label, statistics.median(values) * 1000, p90 * 1000),
          flush=True)


def timed(call, count):
    values = []
    for i in range(count):
        started = time.perf_counter()
        call(i)
        values.append(time.perf_counter() - started)
    return values


def rapi_parts(deployment, body, count):
    with deployment.rapi_client() as client:
        client.get_info()  # the session is up
        figures("RAPI GET /2/info, kept-alive", timed(lambda i: client.get_info(), count))
        figures("RAPI create, kept-alive session",
                timed(lambda i: client.create_instance(**dict(body, name="%sk%d" % (LIMIT_PREFIX, i))),
                      count))

    def fresh(i):
        with deployment.rapi_client() as one:
            one.create_instance(**dict(body, name="%sf%d" % (LIMIT_PREFIX, i)))
    figures("RAPI create, new client (TLS handshake)", timed(fresh, count))
    clear_simulator(deployment, time.monotonic() + 120)


def logic_parts(deployment, flavor, image, count):
    """The transaction and the submission, in this process (profiled)."""
    os.environ["SYNNEFO_SETTINGS_DIR"] = deployment.settings_dir
    os.environ["DJANGO_SETTINGS_MODULE"] = "synnefo.settings"
    import django
    django.setup()
    logging.getLogger("synnefo").setLevel(logging.WARNING)  # one INFO line per create otherwise
    from synnefo.logic import create_submit, servers
    from synnefo.tools.quickstart import DEMO_USER
    pending = []
    original = create_submit.schedule
    create_submit.schedule = pending.append  # the transaction alone
    profile = cProfile.Profile()
    try:
        profile.enable()
        transaction = timed(lambda i: servers.create(DEMO_USER, "parts%d" % i, flavor["id"], image["id"],
                                                     queued=True), count)
        submission = timed(lambda i: create_submit.submit(pending[i]), count)
        profile.disable()
    finally:
        create_submit.schedule = original
    figures("create's transaction (server, address, limit, job row)", transaction)
    figures("create's submission (claim, RAPI create, record)", submission)
    return profile


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=30, help="requests per part (default 30)")
    args = parser.parse_args(argv)
    from synnefo.tools.quickstart import Deployment
    tmp = tempfile.mkdtemp(prefix="snf-bench-parts-")
    deployment = Deployment(tmp, api_port=free_port(), prefix_id="p%s-" % secrets.token_hex(3),
                            sim_args=["--job-duration", "0.3"], log=lambda *a: None)
    try:
        deployment.start()
        flavor, image, network = pick(deployment)
        rapi_parts(deployment, instance_body(flavor, image, network), args.count)
        profile = logic_parts(deployment, flavor, image, args.count)
        with api_client(deployment) as api:
            figures("POST /servers through gunicorn, one at a time",
                    timed(lambda i: api.create_server("post%d" % i, image["id"], flavor["id"]), args.count))
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(25)
        print(out.getvalue())
        return 0
    finally:
        deployment.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
