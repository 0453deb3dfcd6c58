"""snf-progress-monitor <instance_name>: forward snf-image progress to the broker.

snf-image writes a stream of JSON objects (back to back, any whitespace in
between) to our stdin. For each object we add ``instance`` and
``event_time``, echo ``[MONITOR] <json>`` to stderr and publish it to
``ganeti.<prefix>.event.progress``. Malformed input is logged and skipped;
the stream goes on. A broker that stays unreachable loses that message (the
retries are bounded so the installation never hangs) and the monitor goes on.
"""

import codecs
import json
import logging
import os
import sys

from synnefo.ganeti import daemon as daemon_util
from synnefo.util.version import print_version_if_asked

log = logging.getLogger("snf-progress-monitor")

PROG = "snf-progress-monitor"


def split_objects(chunks):
    """Yield ``(text, None)`` for each top-level JSON object in the stream of
    text ``chunks``, and ``(None, error)`` for garbage between objects or a
    truncated object at the end."""
    buf = []
    depth = 0
    in_string = escape = False
    junk = []
    for chunk in chunks:
        for char in chunk:
            if depth == 0:
                if char == "{":
                    if "".join(junk).strip():
                        yield None, "unexpected text %r" % "".join(junk).strip()[:80]
                    junk = []
                    depth = 1
                    buf = [char]
                else:
                    junk.append(char)
                continue
            buf.append(char)
            if in_string:
                if escape:
                    escape = False
                elif char == "\\":
                    escape = True
                elif char == '"':
                    in_string = False
            elif char == '"':
                in_string = True
            elif char in "{[":
                depth += 1
            elif char in "}]":
                depth -= 1
                if depth == 0:
                    yield "".join(buf), None
                    buf = []
    if "".join(junk).strip():
        yield None, "unexpected text %r" % "".join(junk).strip()[:80]
    if depth:
        yield None, "truncated object at end of input: %r" % "".join(buf)[:80]


def read_chunks(stream):
    """Text chunks of ``stream`` (a binary file) as soon as they arrive."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    fd = stream.fileno()
    while True:
        data = os.read(fd, 65536)
        if not data:
            tail = decoder.decode(b"", final=True)
            if tail:
                yield tail
            return
        yield decoder.decode(data)


def build_message(instance, text):
    """The message for one object of the stream; raises ``ValueError``."""
    from synnefo.messaging import messages
    payload = json.loads(text)
    if not isinstance(payload, dict):
        raise ValueError("not a JSON object")
    if not isinstance(payload.get("type"), str):
        raise ValueError("no message type")
    return messages.progress(instance, payload, messages.event_time_now())


def monitor(instance, chunks, publish, err=None):
    """Process the stream; ``publish(message)`` sends one message. Returns counts."""
    err = err or sys.stderr
    sent = bad = 0
    for text, error in split_objects(chunks):
        if error:
            log.error("%s: malformed progress input: %s", instance, error)
            bad += 1
            continue
        try:
            message = build_message(instance, text)
        except Exception as exc:
            log.error("%s: malformed progress message %r: %s", instance, text[:80], exc)
            bad += 1
            continue
        err.write("[MONITOR] %s\n" % json.dumps(message))
        err.flush()
        if publish(message):
            sent += 1
    return sent, bad


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    print_version_if_asked(argv, PROG, "snf-cyclades-gtools")
    if len(argv) != 1 or argv[0].startswith("-"):
        print(f"usage: {PROG} <instance_name>", file=sys.stderr)
        return 1
    instance = argv[0]
    daemon_util.setup_logging(debug=bool(os.environ.get("SNF_PROGRESS_MONITOR_DEBUG")))
    settings = daemon_util.load_settings(PROG)
    from synnefo.messaging import names
    from synnefo.messaging.errors import BrokerUnavailable
    from synnefo.messaging.oneshot import OneShotPublisher

    ours = names.vm_id_of(settings.BACKEND_PREFIX_ID, instance) is not None
    if not ours:
        log.warning("%s is not a Cyclades instance: progress is not published", instance)
    retries = getattr(settings, "PROGRESS_MONITOR_PUBLISH_RETRIES", None) or 2 * max(
        1, len(settings.AMQP_HOSTS))
    publisher = OneShotPublisher(settings, log) if ours else None

    def publish(message):
        if publisher is None:
            return False
        try:
            publisher.publish(message, retry=retries)
            return True
        except BrokerUnavailable as exc:
            log.error("%s: broker unavailable, progress message lost: %s", instance, exc)
        except Exception as exc:
            log.error("%s: cannot publish progress: %s", instance, exc)
        return False

    try:
        sent, bad = monitor(instance, read_chunks(sys.stdin.buffer), publish)
    finally:
        if publisher is not None:
            try:
                publisher.close()
            except Exception as exc:
                log.debug("broker close: %s", exc)
    log.info("%s: %d progress messages published, %d malformed inputs", instance, sent, bad)
    return 0


if __name__ == "__main__":
    sys.exit(main())
