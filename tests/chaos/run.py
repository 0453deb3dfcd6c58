"""The chaos suite (``make test-chaos``): faults injected one at a time into a
whole deployment under load; the end state is checked after each. See
docs/chaos.rst.

Each stack runs in a child process of its own (Django is set up once per
process, with that deployment's settings):

* ``rabbitmq``: a private PostgreSQL and a private RabbitMQ, and the
  deployment of ``snf-quickstart`` on them (simulator, eventd, two
  dispatchers, the API, the reconciler); the baseline, then kill -9 of an
  API worker, a dispatcher, eventd and the simulator, a stalled RAPI, a
  RabbitMQ restart and a PostgreSQL restart;
* ``filesystem``: a private PostgreSQL and the file-system broker in a 4 MiB
  tmpfs (root only), whose disk fills up.

Prints the table (fault, requests in the fault window, client errors by
code, recovery time, repairs by reconciliation, new ERROR servers,
violations), writes it as reStructuredText to ``--table-file`` (and, with
``--update-docs``, into docs/chaos.rst). Exit status: 0 no violation, 1
violations, 2 the suite could not run (a private service or the deployment
did not start, a fault could not be injected): never a silent skip.
"""

import argparse
import contextlib
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
STACKS = ("rabbitmq", "filesystem")
SIM_ARGS = ("--job-duration", "0.3")
# A create that never reached Ganeti (its API worker died between the commit
# and the submit) is resolved by reconciliation after this many seconds
# (default 60: longer than a phase).
EXTRA_SETTINGS = "RECONCILIATION_BUILD_GRACE = 10\n"


class SetupError(Exception):
    pass


def make_log(started):
    def log(*parts):
        print(f"[{time.monotonic() - started:6.1f}] " + " ".join(str(p) for p in parts), flush=True)
    return log


def faults_of(stack, only):
    import chaos_faults

    faults = chaos_faults.rabbitmq_faults() if stack == "rabbitmq" else chaos_faults.filesystem_faults()
    if only:
        faults = [f for f in faults if any(word.lower() in f.name.lower() for word in only)]
    return faults


# -- one stack (child process) ---------------------------------------------------
def start_services(stack, workdir, stack_exit, log):
    from chaos_services import PrivatePostgres, PrivateRabbitMQ, SmallTmpfs

    pg = PrivatePostgres(os.path.join(workdir, "postgres"))
    rmq = tmpfs = None
    errors = []
    if stack == "rabbitmq":
        rmq = PrivateRabbitMQ(os.path.join(workdir, "rabbitmq"))
        rmq.prepare()
        stack_exit.callback(rmq.close)

        def boot():
            try:
                rmq.start()
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
        booting = threading.Thread(target=boot)
        booting.start()
    stack_exit.callback(pg.close)
    pg.init()
    pg.start()
    pg.create_database(f"chaos_{stack}")
    conf = pg.conf(f"chaos_{stack}") + EXTRA_SETTINGS
    if rmq:
        booting.join()
        if errors:
            raise errors[0]
        conf += f"AMQP_HOSTS = [{rmq.url()!r}]\n"
        log(f"private PostgreSQL on 127.0.0.1:{pg.port}, RabbitMQ {rmq.node} on 127.0.0.1:{rmq.port}")
    else:
        tmpfs = SmallTmpfs(os.path.join(workdir, "broker"))
        stack_exit.callback(tmpfs.close)
        tmpfs.mount()
        conf += f'AMQP_HOSTS = ["filesystem://"]\nAMQP_FILESYSTEM_DIR = {tmpfs.path!r}\n'
        log(f"private PostgreSQL on 127.0.0.1:{pg.port}, file-system broker on a "
            f"{tmpfs.size} tmpfs at {tmpfs.path}")
    return pg, rmq, tmpfs, conf


def start_deployment(workdir, conf, stack_exit, log):
    from synnefo.tools.loopback import free_port
    from synnefo.tools.quickstart import Deployment

    # A fixed simulator port: a restarted simulator must answer where the backend points.
    sim_args = [*SIM_ARGS, "--port", str(free_port())]
    dep = Deployment(os.path.join(workdir, "deployment"), api_port=free_port(), extra_conf=conf,
                     sim_args=sim_args, log=log, reconcile_every=60)
    stack_exit.callback(dep.stop)
    try:
        dep.start()
    except Exception:
        dump_logs(dep, log)
        raise
    log(f"deployment up: API {dep.info['api']}, logs in {dep.log_dir}")
    return dep


def dump_logs(dep, log, lines=25):
    if not os.path.isdir(dep.log_dir):
        return
    for name in sorted(os.listdir(dep.log_dir)):
        with open(os.path.join(dep.log_dir, name), errors="replace") as handle:
            tail = handle.readlines()[-lines:]
        log(f"--- end of {name}\n" + "".join(tail))


def run_stack(stack, workdir, only, threads, log):
    import chaos_faults
    import chaos_phase
    import chaos_state
    from chaos_faults import Context
    from chaos_load import Load
    from synnefo.tools.client import ComputeClient

    faults = faults_of(stack, only)
    rows = []
    with contextlib.ExitStack() as stack_exit:
        try:
            pg, rmq, tmpfs, conf = start_services(stack, workdir, stack_exit, log)
            dep = start_deployment(workdir, conf, stack_exit, log)
        except Exception as exc:
            raise SetupError(f"{stack}: cannot start: {type(exc).__name__}: {exc}") from exc
        chaos_state.setup_django(dep.settings_dir)
        with ComputeClient(dep.info["api"], dep.info["token"]) as api:
            image, flavor = api.list_images()[0]["id"], api.list_flavors()[0]["id"]
        load = Load(dep.info["api"], dep.info["token"], image, flavor, threads=threads)
        stack_exit.callback(load.close)
        ctx = Context(deployment=dep, postgres=pg, rabbitmq=rmq, tmpfs=tmpfs, log=log)
        supervising = threading.Event()
        stack_exit.callback(supervising.set)  # before dep.stop: no restart while stopping
        chaos_faults.start_supervision(dep, supervising, log)
        reported = set()
        try:
            for number, fault in enumerate(faults, 1):
                rows.append(chaos_phase.run_phase(ctx, load, fault, stack, f"p{number}",
                                                  dep.prefix_id, reported))
        finally:
            if any(r.violations for r in rows):
                dump_logs(dep, log, lines=15)
    return rows


def interrupt(signum, frame):
    raise KeyboardInterrupt  # the stack's cleanups run (``finally``)


def child(args):
    log = make_log(time.monotonic())
    signal.signal(signal.SIGTERM, interrupt)
    try:
        rows = run_stack(args.stack, args.workdir, args.only, args.threads, log)
    except SetupError as exc:
        print(f"chaos: {exc}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:
        print(f"chaos: {args.stack}: interrupted (everything it started is stopped)", file=sys.stderr,
              flush=True)
        return 2
    with open(args.results, "w") as handle:
        json.dump([r.to_json() for r in rows], handle)
    return 0


# -- the whole suite (parent process) ---------------------------------------------
def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="test-chaos", description="The chaos suite: faults injected one at a time into a whole "
        "Cyclades deployment under load, with the end state checked after each (docs/chaos.rst).")
    parser.add_argument("--only", action="append", default=[], metavar="WORD",
                        help="run only the faults whose name contains WORD (repeatable), e.g. "
                             "--only postgresql")
    parser.add_argument("--threads", type=int, default=4, help="client threads of the load (default 4)")
    parser.add_argument("--table-file", default=os.path.join(ROOT, "var", "chaos-table.rst"),
                        help="where to write the table as reStructuredText (default var/chaos-table.rst)")
    parser.add_argument("--update-docs", action="store_true",
                        help="also write the table into docs/chaos.rst")
    parser.add_argument("--keep", action="store_true",
                        help="keep the run's folder (databases, logs) even when it passes")
    parser.add_argument("--stack", choices=STACKS, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--results", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    return args


def write_outputs(args, rows, duration):
    from chaos_report import machine, replace_block, rst_table

    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = rst_table(rows, when, machine(), duration, os.getloadavg()[0])
    os.makedirs(os.path.dirname(os.path.abspath(args.table_file)), exist_ok=True)
    with open(args.table_file, "w") as handle:
        handle.write(block)
    print(f"table written to {args.table_file}")
    if args.update_docs:
        path = os.path.join(ROOT, "docs", "chaos.rst")
        with open(path) as handle:
            text = handle.read()
        with open(path, "w") as handle:
            handle.write(replace_block(text, block))
        print(f"table written into {path}")


def run_child(cmd):
    """Run one stack; when interrupted, let it stop its services and processes first."""
    proc = subprocess.Popen(cmd, cwd=ROOT)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=180)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        raise


def parent(args):
    from chaos_report import Row, text_table, violations_text

    signal.signal(signal.SIGTERM, interrupt)
    started = time.monotonic()
    workdir = tempfile.mkdtemp(prefix="snf-chaos-")
    os.chmod(workdir, 0o755)  # the private PostgreSQL runs as the postgres user
    rows, status = [], 0
    passthrough = [f"--only={w}" for w in args.only] + [f"--threads={args.threads}"]
    try:
        for stack in STACKS:
            if not faults_of(stack, args.only):
                continue
            results = os.path.join(workdir, f"{stack}.json")
            returncode = run_child([sys.executable, os.path.abspath(__file__), "--stack", stack,
                                    "--workdir", os.path.join(workdir, stack), "--results", results,
                                    *passthrough])
            if returncode != 0 or not os.path.exists(results):
                print(f"chaos: the {stack} stack did not run to its end (exit status "
                      f"{returncode})", file=sys.stderr)
                status = 2
                continue
            with open(results) as handle:
                rows += [Row.from_json(r) for r in json.load(handle)]
    except KeyboardInterrupt:
        status = 2
    duration = time.monotonic() - started
    print("\n" + text_table(rows))
    listed = violations_text(rows)
    print("\nViolations:\n" + listed if listed else "\nNo violations.")
    print(f"\n{len(rows)} fault(s) in {duration:.0f} s")
    if rows:
        write_outputs(args, rows, duration)
    if listed and status == 0:
        status = 1
    if status == 2:
        print("chaos: FAILED: the suite did not run to its end (see above); the table is partial",
              file=sys.stderr)
    if status or args.keep:
        print(f"run folder kept: {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return status


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.stack:
        return child(args)
    return parent(args)


if __name__ == "__main__":
    sys.exit(main())
