"""Running a long-lived Synnefo program: logging, signals, pid file, detaching.

Shared by ``snf-dispatcher`` and ``snf-ganeti-eventd`` (no Django here).
"""

import logging
import os
import signal
import sys
import threading

LOG_FORMAT = "%(asctime)s %(name)s[%(process)d] %(levelname)s: %(message)s"


def setup_logging(debug=False, log_file=None, stream=None):
    """Log to ``log_file`` (append) or to ``stream`` (stderr); return the handler."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    if log_file:
        os.makedirs(os.path.dirname(os.path.abspath(log_file)), exist_ok=True)
        handler = logging.FileHandler(log_file)
    else:
        handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    # the broker libraries are chatty at DEBUG
    for noisy in ("kombu", "amqp"):
        logging.getLogger(noisy).setLevel(logging.INFO if debug else logging.WARNING)
    return handler


def pid_alive(pid):
    """Whether a process with this pid exists (on this machine)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_service(prog, run, *, foreground, debug=False, pid_file=None, log_file=None,
                default_pid_file, default_log_file, before_detach=None):
    """Run ``run(stop_event)`` until SIGTERM/SIGINT sets ``stop_event``; return its exit status.

    In the foreground it logs to stderr (or ``log_file``) and writes a pid file
    only when ``pid_file`` is given. Otherwise it detaches (python-daemon) with
    ``pid_file``/``log_file`` or the defaults, and refuses to start when the
    pid file names a live process. ``before_detach()`` runs just before the
    fork (e.g. to close database connections that must not be shared).
    """
    log = logging.getLogger(prog)
    log_file = log_file or (None if foreground else default_log_file)
    pid_file = pid_file or (None if foreground else default_pid_file)
    try:
        handler = setup_logging(debug, log_file)
    except OSError as exc:
        print(f"{prog}: cannot open log file: {exc}", file=sys.stderr)
        return 1
    stop_event = threading.Event()

    def on_signal(signum, frame):
        log.info("signal %d received: finishing the current message", signum)
        stop_event.set()

    if foreground:
        if pid_file:
            with open(pid_file, "w") as handle:
                handle.write(f"{os.getpid()}\n")
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        try:
            return run(stop_event)
        finally:
            if pid_file:
                try:
                    os.unlink(pid_file)
                except OSError:
                    pass

    import daemon
    import daemon.pidfile
    try:
        os.makedirs(os.path.dirname(os.path.abspath(pid_file)), exist_ok=True)
    except OSError as exc:
        print(f"{prog}: cannot create the pid file's directory: {exc}", file=sys.stderr)
        return 1
    pidlock = daemon.pidfile.TimeoutPIDLockFile(pid_file, acquire_timeout=1)
    if pidlock.is_locked():
        pid = pidlock.read_pid()
        if pid and pid_alive(pid):
            print(f"{prog}: already running (pid {pid}, {pid_file})", file=sys.stderr)
            return 1
        pidlock.break_lock()
    if before_detach is not None:
        before_detach()
    context = daemon.DaemonContext(
        pidfile=pidlock, files_preserve=[handler.stream],
        signal_map={signal.SIGTERM: on_signal, signal.SIGINT: on_signal},
        working_directory="/", umask=0o027)
    with context:
        return run(stop_event)
