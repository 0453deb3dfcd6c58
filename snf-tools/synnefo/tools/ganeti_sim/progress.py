"""Feed an OS-install progress monitor like snf-image does during the create job.

``CMD <instance_name>`` gets a stream of JSON objects on stdin: an
``image-info`` line, a few ``image-copy-progress`` lines, a final
``image-info``. Its exit status is logged; a failing monitor does not fail
the job (snf-image ignores it too).
"""

import json
import logging
import shlex
import subprocess
import tempfile
import time

log = logging.getLogger(__name__)

IMAGE_SIZE = 2 * 1024 ** 3
STEPS = (0.0, 25.0, 50.0, 75.0, 100.0)


def progress_lines(steps=STEPS, total=IMAGE_SIZE):
    yield {"type": "image-info", "messages": ["Starting image copy..."], "timestamp": time.time()}
    for percent in steps:
        yield {"type": "image-copy-progress", "position": int(total * percent / 100), "total": total,
               "progress": percent, "timestamp": time.time()}
    yield {"type": "image-info", "messages": ["Image copy finished"], "timestamp": time.time()}


class ProgressFeed:
    """Runs the monitor for the duration of one create job's running phase."""

    def __init__(self, command, instance_name):
        self.argv = shlex.split(command) + [instance_name]
        self.instance_name = instance_name
        self.proc = None

    def run(self, duration, should_stop):
        """Send the lines over ``duration`` seconds; stop early if ``should_stop()``."""
        with tempfile.TemporaryFile() as errors:
            try:
                self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                             stderr=errors)
            except OSError as exc:
                log.error("progress monitor %s could not start: %s", self.argv[0], exc)
                time.sleep(duration)
                return None
            lines = list(progress_lines())
            pause = duration / max(1, len(lines))
            try:
                for line in lines:
                    if should_stop():
                        break
                    self.proc.stdin.write((json.dumps(line) + "\n").encode())
                    self.proc.stdin.flush()
                    time.sleep(pause)
            except OSError as exc:
                log.warning("progress monitor for %s stopped reading: %s", self.instance_name, exc)
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                status = self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                status = self.proc.wait()
            errors.seek(0)
            tail = errors.read()[-300:].decode("utf-8", "replace").strip()
        if status:
            log.warning("progress monitor for %s: exit status %s: %s", self.instance_name, status, tail)
        else:
            log.info("progress monitor for %s: exit status 0", self.instance_name)
        return status
