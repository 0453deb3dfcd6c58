"""snf-burnin: the acceptance test of a live deployment (``docs/burnin.rst``)."""

import datetime
import errno
import logging
import os
import signal
import sys
import time

from synnefo.tools.burnin import cleanup, report
from synnefo.tools.burnin import options as burnin_options
from synnefo.tools.burnin.catalog import AuthCase, FlavorsCase, ImagesCase, ServersCase
from synnefo.tools.burnin.guest import Guests
from synnefo.tools.burnin.lifecycle import SpawnServerCase, pick_flavor
from synnefo.tools.burnin.networking import NetworkCase
from synnefo.tools.burnin.results import CheckFailed, RunResult, check
from synnefo.tools.burnin.runner import Case, Context, run_cases
from synnefo.tools.client import ClientError

log = logging.getLogger("snf-burnin")

EXIT_PASSED, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class SetupCase(Case):
    """Before anything is created: the API answers, the token is good, the image and flavor exist."""

    name = "setup"
    title = "the API answers; the images and the flavor to test with"

    def steps(self):
        return [("001", "the API answers GET /api/v1.1/ with the token", self.version),
                ("002", "the image(s) to test (--image-id)", self.images),
                ("003", "the flavor to build with (--force-flavor)", self.flavor)]

    def version(self):
        version = self.api.version()
        self.note(version=version.get("id"), status=version.get("status"))

    def images(self):
        images = self.api.list_images(detail=True)
        wanted = self.options.image_id
        if wanted == "all":
            chosen = [i for i in images if i.get("status") == "ACTIVE"]
        elif wanted:
            chosen = [i for i in images if i["id"] == wanted]
            check(chosen, f"no image {wanted!r} (images: {', '.join(i['id'] for i in images) or 'none'})")
        else:
            chosen = [i for i in images if i.get("status") == "ACTIVE"][:1]
        check(chosen, "the deployment lists no ACTIVE image")
        self.ctx.images = chosen
        self.note(images=", ".join(i["id"] for i in chosen))

    def flavor(self):
        try:
            self.ctx.flavor = pick_flavor(self.api.list_flavors(detail=True), self.options.force_flavor)
        except LookupError as exc:
            raise CheckFailed(str(exc)) from None
        f = self.ctx.flavor
        self.note(flavor=f"{f['id']} {f['name']} {f.get('SNF:disk_template')}")


def make_cases(ctx):
    """The cases of ``--set-tests``, as ``(case, parallel)`` pairs."""
    o = ctx.options
    catalog = {"auth": AuthCase, "images": ImagesCase, "flavors": FlavorsCase, "servers": ServersCase}
    cases = [(catalog[name](ctx), False) for name in o.tests if name in catalog]
    for image in ctx.images:
        if "server_spawn" in o.tests:
            cases += [(SpawnServerCase(ctx, image, i), True) for i in range(1, o.fanout + 1)]
        if "network_spawn" in o.tests:
            cases.append((NetworkCase(ctx, image), True))
    return cases


def new_run(options):
    """A new run id and its folder ``<log folder>/<run id>``; two runs started
    in the same second get consecutive ids (names of resources must differ)."""
    for _ in range(5):
        run_id = new_run_id()
        path = os.path.join(options.log_folder, run_id)
        try:
            os.makedirs(path, exist_ok=False)
            return run_id, path
        except FileExistsError:
            time.sleep(1.0)
    raise FileExistsError(errno.EEXIST, "run folders of the last seconds exist already", path)


def setup_logging(path, verbose):
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(threadName)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    log.setLevel(logging.DEBUG)
    if verbose:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(logging.Formatter("%(asctime)s %(levelname)s: %(message)s"))
        log.addHandler(stream)
    return handler


def new_run_id():
    return datetime.datetime.now(datetime.UTC).strftime("%Y%m%d%H%M%S")


def stale_only(options, terminal):
    """``--show-stale`` / ``--delete-stale``: list (and delete) the leftovers of earlier runs."""
    api = Context(options, "", terminal).client()
    try:
        if options.delete_stale:
            left = cleanup.delete_stale(api, options.action_timeout, terminal.say)
            for line in left:
                terminal.say(f"still there: {line}")
            return EXIT_FAILED if left else EXIT_PASSED
        cleanup.show_stale(api, terminal.say)
        return EXIT_PASSED
    except ClientError as exc:
        print(f"snf-burnin: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        api.close()


def main(argv=None):
    options = burnin_options.parse(sys.argv[1:] if argv is None else argv)
    terminal = report.Terminal(quiet=options.quiet)
    if options.show_stale or options.delete_stale:
        return stale_only(options, terminal)

    try:
        run_id, folder = new_run(options)
    except OSError as exc:
        print(f"snf-burnin: cannot create the run's log folder under {options.log_folder}: "
              f"{exc.strerror} (choose another with --log-folder)", file=sys.stderr)
        return EXIT_USAGE
    handler = setup_logging(os.path.join(folder, "burnin.log"), options.verbose)

    def on_sigterm(signum, frame):
        raise KeyboardInterrupt
    previous = signal.signal(signal.SIGTERM, on_sigterm)
    ctx = Context(options, run_id, terminal)
    ctx.images, ctx.flavor = [], None
    ctx.image_of = lambda case: case.image
    ctx.guests = Guests(options.guest_checks, options.guest_probe, options.action_timeout)
    run = RunResult(run_id, options.api)
    run.options = burnin_options.shown(options)
    terminal.say(f"snf-burnin run {run_id} against {options.api}; log folder {folder}")
    log.info("run %s against %s, options %s", run_id, options.api, run.options)
    try:
        run_cases([(SetupCase(ctx), False)], run)
        if not ctx.stop.is_set() and run.cases[0].status == "passed":
            run_cases(make_cases(ctx), run, parallel=options.fanout)
    except KeyboardInterrupt:
        ctx.interrupt("stopped by Ctrl-C or SIGTERM")
    finally:
        if ctx.stop.is_set() and not (ctx.stop_reason or "").startswith("fail-fast"):
            run.interrupted = ctx.stop_reason
        run.leftovers = clean_up(ctx, terminal)
        run.finished = time.time()
        files = write_reports(run, folder, options)
        terminal.summary(run, files)
        signal.signal(signal.SIGTERM, previous)
        logging.getLogger().removeHandler(handler)
        handler.close()
    if run.passed:
        return EXIT_PASSED
    return EXIT_INTERRUPTED if run.interrupted else EXIT_FAILED


def clean_up(ctx, terminal):
    """Delete whatever the run created and still exists; what could not be deleted."""
    servers, networks = ctx.resources.snapshot()
    if not servers and not networks:
        return []
    terminal.say(f"cleanup: {len(servers)} server(s), {len(networks)} network(s) of this run")
    api = ctx.client()
    try:
        return cleanup.delete_all(api, servers, networks, ctx.options.action_timeout,
                                  lambda text: terminal.say(f"cleanup: {text}"))
    except KeyboardInterrupt:
        return [f"cleanup interrupted: servers {sorted(servers)}, networks {sorted(networks)} may be "
                "left; `snf-burnin --delete-stale` deletes them"]
    finally:
        api.close()


def write_reports(run, folder, options):
    files = []
    targets = [("JSON report", report.write_json, os.path.join(folder, "report.json"), options.json_report),
               ("JUnit XML", report.write_junit, os.path.join(folder, "junit.xml"), options.junit_xml)]
    for what, writer, default, extra in targets:
        for path in filter(None, (default, extra)):
            try:
                writer(run, path)
                files.append((what, path))
            except OSError as exc:
                print(f"snf-burnin: cannot write {path}: {exc.strerror}", file=sys.stderr)
    files.append(("Log", os.path.join(folder, "burnin.log")))
    return files


if __name__ == "__main__":
    sys.exit(main())
