"""snf-burnin-cron: run snf-burnin from cron, keep the last runs, tell someone when it fails.

::

    snf-burnin-cron --log-folder /var/log/burnin --mail-to ops@example.org -- \\
        --api https://cyclades.example.org/api/v1.1 --token TOKEN --action-timeout 120

One run: ``snf-burnin <options> --log-folder DIR`` under a hard time limit
(``--timeout``, default 25 minutes: SIGTERM, which makes burnin clean up,
then SIGKILL a minute later), then ``snf-burnin --delete-stale`` with the
same API and token, then the run folders beyond the newest ``--keep`` are
removed. Each run's terminal output is kept as ``DIR/<run id>.out``. When
the run did not pass: a mail to ``--mail-to`` through ``sendmail`` (where
installed), else (or too) a line in ``DIR/failures.log`` and on standard
error (which cron mails to the crontab's owner). Exit status: burnin's.
"""

import argparse
import datetime
import email.message
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

RUN_FOLDER = re.compile(r"^\d{14}$")
SENDMAIL_PATHS = ("/usr/sbin/sendmail", "/usr/lib/sendmail")


def parse(argv):
    p = argparse.ArgumentParser(
        prog="snf-burnin-cron",
        description="Run snf-burnin (the options after --) under a time limit, delete stale test "
                    "resources, keep the last runs' logs, and mail or log a failure.")
    p.add_argument("--log-folder", default="/var/log/burnin", metavar="DIR",
                   help="where the runs are kept (default: /var/log/burnin)")
    p.add_argument("--keep", type=int, default=30, metavar="N",
                   help="how many runs to keep (default: 30)")
    p.add_argument("--timeout", type=float, default=1500, metavar="SECONDS",
                   help="hard time limit of one run (default: 1500)")
    p.add_argument("--mail-to", action="append", default=[], metavar="ADDRESS",
                   help="mail the summary of a failed run to ADDRESS (repeatable; needs sendmail)")
    p.add_argument("--burnin", default=None, metavar="PATH",
                   help="the snf-burnin to run (default: the one next to this command)")
    p.add_argument("burnin_args", nargs=argparse.REMAINDER,
                   help="options for snf-burnin, after --")
    args = p.parse_args(argv)
    if args.burnin_args and args.burnin_args[0] == "--":
        args.burnin_args = args.burnin_args[1:]
    if not args.burnin_args:
        p.error("give snf-burnin's options after --, at least --api URL --token TOKEN")
    if args.keep < 1:
        p.error("--keep must be at least 1")
    if "--log-folder" in args.burnin_args:
        p.error("--log-folder belongs to snf-burnin-cron (before --), not to snf-burnin")
    return args


def burnin_path(explicit):
    if explicit:
        return explicit
    beside = os.path.join(os.path.dirname(os.path.abspath(sys.argv[0])), "snf-burnin")
    return beside if os.access(beside, os.X_OK) else (shutil.which("snf-burnin") or "snf-burnin")


def run_limited(cmd, timeout, out_path):
    """Run ``cmd`` with its output into ``out_path``; SIGTERM after ``timeout``
    seconds, SIGKILL 60 s later. ``(exit status, timed out)``."""
    with open(out_path, "ab") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            return proc.wait(timeout=timeout), False
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            return proc.returncode, True


def stale_args(burnin_args):
    """The options of ``--delete-stale``: the same API, token, TLS and timeouts."""
    keep = {"--api": 1, "--token": 1, "--insecure": 0, "--action-timeout": 1, "--query-interval": 1,
            "--request-timeout": 1}
    out, i = [], 0
    while i < len(burnin_args):
        arg = burnin_args[i]
        name = arg.split("=", 1)[0]
        if name in keep:
            takes = keep[name] if "=" not in arg else 0
            out.extend(burnin_args[i:i + 1 + takes])
            i += 1 + takes
        else:
            i += 1
    return out


def prune(folder, keep):
    """Remove the run folders (``YYYYMMDDHHMMSS``) and outputs beyond the newest ``keep``."""
    runs = sorted(name for name in os.listdir(folder) if RUN_FOLDER.match(name))
    removed = []
    for name in runs[:-keep]:
        shutil.rmtree(os.path.join(folder, name), ignore_errors=True)
        removed.append(name)
    outs = sorted(name for name in os.listdir(folder) if name.endswith(".out"))
    for name in outs[:-keep]:
        os.unlink(os.path.join(folder, name))
    return removed


def summary_of(out_path, limit=20000):
    with open(out_path, errors="replace") as handle:
        text = handle.read()
    start = text.rfind("\nsnf-burnin run ")
    return (text[start + 1:] if start >= 0 else text)[-limit:]


def send_mail(addresses, subject, body):
    """Mail through sendmail; False when there is none or it failed."""
    sendmail = next((p for p in SENDMAIL_PATHS if os.access(p, os.X_OK)), shutil.which("sendmail"))
    if not sendmail or not addresses:
        return False
    message = email.message.EmailMessage()
    message["To"] = ", ".join(addresses)
    message["Subject"] = subject
    message.set_content(body)
    try:
        proc = subprocess.run([sendmail, "-t", "-oi"], input=message.as_bytes(), timeout=60,
                              capture_output=True)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def main(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    try:
        os.makedirs(args.log_folder, exist_ok=True)
    except OSError as exc:
        print(f"snf-burnin-cron: cannot create {args.log_folder}: {exc.strerror}", file=sys.stderr)
        return 2
    burnin = burnin_path(args.burnin)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d%H%M%S")
    out_path = os.path.join(args.log_folder, f"{stamp}.out")
    started = time.monotonic()
    status, timed_out = run_limited([burnin, *args.burnin_args, "--log-folder", args.log_folder],
                                    args.timeout, out_path)
    with open(out_path, "a") as out:
        out.write(f"\n== snf-burnin exit status {status}"
                  f"{' (stopped by the --timeout of snf-burnin-cron)' if timed_out else ''}"
                  f" after {time.monotonic() - started:.0f} s\n== stale resources\n")
    stale_status, _ = run_limited([burnin, *stale_args(args.burnin_args), "--delete-stale"],
                                  max(600.0, args.timeout / 2), out_path)
    prune(args.log_folder, args.keep)
    if status == 0 and stale_status == 0:
        return 0
    host = socket.getfqdn()
    what = "timed out" if timed_out else (f"failed (exit {status})" if status else
                                          f"left stale resources (exit {stale_status})")
    subject = f"snf-burnin on {host} {what}"
    body = f"{subject}.\nOutput: {out_path}\n\n{summary_of(out_path)}"
    mailed = send_mail(args.mail_to, subject, body)
    line = (f"{datetime.datetime.now(datetime.UTC).isoformat()} {subject}; output {out_path}; "
            f"{'mailed to ' + ', '.join(args.mail_to) if mailed else 'not mailed'}\n")
    with open(os.path.join(args.log_folder, "failures.log"), "a") as handle:
        handle.write(line)
    print(line.rstrip(), file=sys.stderr)
    return status or stale_status or 1


if __name__ == "__main__":
    sys.exit(main())
