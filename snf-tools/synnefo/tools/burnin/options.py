"""The command line of snf-burnin. The option names of spec 07 (the
reference's) keep working, so operators' cron lines do."""

import argparse
import os

DEFAULT_TESTS = ("auth", "images", "flavors", "servers", "server_spawn", "network_spawn")
DEFAULT_LOG_FOLDER = "/var/log/burnin"


def _positive(kind):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
        return value
    return parse


def parser():
    p = argparse.ArgumentParser(
        prog="snf-burnin",
        description="Acceptance test of a live Cyclades deployment through its public API: images, "
                    "flavors, a server's whole life (build, metadata, rename, console, shutdown, start, "
                    "reboots, firewall, delete), private networks, and checks inside the guests where "
                    "they are reachable. Everything it creates is named 'snf-test-<run id> ...' and "
                    "deleted at the end, even on failure or Ctrl-C. Exit status 0 only when "
                    "everything passed.",
        epilog="Example: snf-burnin --api http://127.0.0.1:8000/api/v1.1 --token=TOKEN "
               "--log-folder /tmp/burnin (docs/burnin.rst)")
    a = p.add_argument
    a("--api", default=os.environ.get("SNF_BURNIN_API"), metavar="URL",
      help="compute API URL, e.g. https://cyclades.example.org/api/v1.1 (default: $SNF_BURNIN_API)")
    a("--token", default=os.environ.get("SNF_BURNIN_TOKEN"),
      help="API token of the user to test as; write --token=TOKEN when it starts with '-' "
           "(default: $SNF_BURNIN_TOKEN)")
    a("--image-id", default=None, metavar="ID",
      help="image to test servers with, or 'all' for every ACTIVE image "
           "(default: the first listed ACTIVE image)")
    a("--force-flavor", default=None, metavar="ID",
      help="flavor id (or name) to build servers with (default: a random flavor with disk >= 20 GiB)")
    a("--set-tests", default="all", metavar="LIST",
      help=f"comma-separated scenarios to run: {', '.join(DEFAULT_TESTS)} (default: all)")
    a("--action-timeout", type=_positive(float), default=100.0, metavar="SECONDS",
      help="how long an action (shutdown, start, reboot, firewall, network change, delete) may take "
           "(default: 100)")
    a("--build-warning", type=_positive(float), default=600.0, metavar="SECONDS",
      help="warn when a build takes longer (default: 600)")
    a("--build-fail", type=_positive(float), default=900.0, metavar="SECONDS",
      help="a build taking longer fails (default: 900)")
    a("--query-interval", type=_positive(float), default=3.0, metavar="SECONDS",
      help="polling period while waiting (default: 3)")
    a("--request-timeout", type=_positive(float), default=60.0, metavar="SECONDS",
      help="timeout of each API request (default: 60)")
    a("--fanout", type=_positive(int), default=1, metavar="N",
      help="servers run through their whole life in parallel, per image (default: 1)")
    a("--nofailfast", dest="failfast", action="store_false",
      help="go on with the other scenarios after a failure (default: stop at the first failure)")
    a("--force-personality", metavar="FILE",
      help="inject FILE into the servers at /root/test_inj_file and check it over SFTP")
    a("--no-ipv6", action="store_true", help="skip the IPv6 checks")
    a("--guest-checks", choices=("auto", "yes", "no"), default="auto",
      help="checks inside the guests (ping, SSH hostname, RDP, injected file): 'auto' skips them, "
           "with the reason, when a guest does not answer within --guest-probe seconds; 'yes' makes "
           "that a failure; 'no' skips them (default: auto)")
    a("--guest-probe", type=_positive(float), default=10.0, metavar="SECONDS",
      help="how long 'auto' waits for a guest to answer (default: 10)")
    a("--console-check", choices=("auto", "yes", "no"), default="auto",
      help="the console check: 'auto' skips it, with the reason, when the deployment offers no "
           "console (503) or its host does not resolve here; 'yes' makes those failures "
           "(default: auto)")
    a("--network-cidr", default="192.168.222.0/28", metavar="CIDR",
      help="subnet of the private network of network_spawn (default: 192.168.222.0/28)")
    a("--show-stale", action="store_true",
      help="list the servers and networks of earlier runs (named snf-test-*), then exit")
    a("--delete-stale", action="store_true",
      help="delete the servers and networks of earlier runs, waiting until they are gone, then exit")
    a("--log-folder", default=DEFAULT_LOG_FOLDER, metavar="DIR",
      help="where each run writes DIR/<run id>/ (burnin.log, report.json, junit.xml) "
           f"(default: {DEFAULT_LOG_FOLDER})")
    a("--json-report", metavar="FILE", help="also write the JSON report to FILE")
    a("--junit-xml", metavar="FILE", help="also write the JUnit XML report to FILE")
    a("--insecure", action="store_true", help="do not verify the API's TLS certificate")
    a("-q", "--quiet", action="store_true", help="print only failures, warnings and the summary")
    a("-V", "--verbose", action="store_true", help="also log every wait's status changes to the terminal")
    a("--plankton", metavar="URL", help="accepted for compatibility; images are read from the compute API")
    a("--plankton-user", metavar="USER", help="accepted for compatibility; unused")
    return p


def parse(argv):
    """The options, checked: a usage error exits with status 2 and one line."""
    p = parser()
    options = p.parse_args(argv)
    if not options.api:
        p.error("--api is required (or $SNF_BURNIN_API)")
    if not options.token:
        p.error("--token is required (or $SNF_BURNIN_TOKEN)")
    if not options.api.startswith(("http://", "https://")):
        p.error(f"--api must be an http:// or https:// URL, not {options.api!r}")
    if options.build_warning > options.build_fail:
        p.error("--build-warning must not exceed --build-fail")
    tests = [t.strip() for t in options.set_tests.split(",") if t.strip()]
    if tests == ["all"]:
        tests = list(DEFAULT_TESTS)
    unknown = [t for t in tests if t not in DEFAULT_TESTS]
    if unknown or not tests:
        p.error(f"--set-tests: unknown scenario {', '.join(unknown) or '(none)'}; "
                f"choose among {', '.join(DEFAULT_TESTS)} or all")
    options.tests = tests
    if options.force_personality and not os.path.isfile(options.force_personality):
        p.error(f"--force-personality: {options.force_personality} is not a readable file")
    return options


def shown(options):
    """The options as recorded in the reports (no token)."""
    return {k: v for k, v in vars(options).items() if k != "token"}
