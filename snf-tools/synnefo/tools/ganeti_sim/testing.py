"""Run the simulator as a child process (tests, scripts).

    with SimProcess(tmp_path, "--job-duration", "0.05") as sim:
        client = sim.client()

The process is started on port 0 with a write user ``writer:secret`` and a
read user ``reader:secret`` (from a users file in the state directory, mode
0600); ``sim.info`` is the ``sim.json`` it wrote.
Leaving the block stops it (SIGTERM, then SIGKILL).
"""

import json
import os
import signal
import subprocess
import sys
import time

WRITER = ("writer", "secret")
READER = ("reader", "secret")


class SimProcess:
    def __init__(self, state_dir, *extra_args, start_timeout=20, cwd=None):
        self.state_dir = os.path.abspath(str(state_dir))
        self.cwd = cwd
        self.extra_args = [str(a) for a in extra_args]
        self.start_timeout = start_timeout
        self.proc = None
        self.info = None
        self.log_path = os.path.join(self.state_dir, "sim-test.log")

    @property
    def sim_json(self):
        return os.path.join(self.state_dir, "sim.json")

    @property
    def users_file(self):
        return os.path.join(self.state_dir, "rapi-users")

    def argv(self):
        return [sys.executable, "-m", "synnefo.tools.ganeti_sim.server", "--state-dir", self.state_dir,
                "--listen", "127.0.0.1", "--port", "0", "--users-file", self.users_file,
                "--foreground", "--log-file", self.log_path, *self.extra_args]

    def write_users_file(self):
        fd = os.open(self.users_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write("%s %s write\n%s %s\n" % (WRITER + READER))

    def start(self):
        os.makedirs(self.state_dir, exist_ok=True)
        self.write_users_file()
        if os.path.exists(self.sim_json):
            os.unlink(self.sim_json)
        self.proc = subprocess.Popen(self.argv(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     cwd=self.cwd)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace")
                raise RuntimeError("snf-ganeti-sim exited with %s: %s" % (self.proc.returncode, err.strip()))
            if os.path.exists(self.sim_json):
                with open(self.sim_json) as handle:
                    self.info = json.load(handle)
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("snf-ganeti-sim did not write %s in %ss" % (self.sim_json, self.start_timeout))

    def stop(self, timeout=15):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stderr.close()
        return self.proc.returncode

    def kill(self):
        """SIGKILL: no clean shutdown (crash simulation)."""
        self.proc.kill()
        self.proc.wait()
        self.proc.stderr.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def client(self, user=WRITER, **kwargs):
        from synnefo.rapi import GanetiRapiClient

        return GanetiRapiClient("127.0.0.1", self.info["port"], user[0], user[1],
                                fingerprint=self.info["fingerprint"], **kwargs)

    @property
    def queue_dir(self):
        return self.info["queue_dir"]

    def job_file(self, job_id):
        with open(os.path.join(self.queue_dir, "job-%d" % job_id)) as handle:
            return json.load(handle)
