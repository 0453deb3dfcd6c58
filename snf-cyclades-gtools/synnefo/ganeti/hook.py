"""snf-ganeti-hook: publish an instance's NICs from a Ganeti post hook.

Installed (as a symlink whose name has no dot) in
``/etc/ganeti/hooks/instance-{add,modify,reboot,start,stop}-post.d/``. For the
post phase of instance-add, -start, -reboot and -modify it publishes a
``ganeti-net-status`` message with the NICs found in the environment; for
instance-stop and everything else it does nothing. It acts only on the Ganeti
master and only for Cyclades' instances.

Exit status: 0 published or nothing to do; 1 malformed environment or
settings; 3 broker unreachable after the bounded retries (Ganeti logs a
failing post hook but the job still succeeds).
"""

import logging
import os
import re
import socket
import sys

from synnefo.ganeti import daemon as daemon_util
from synnefo.util import nics as nic_util
from synnefo.util.version import print_version_if_asked

log = logging.getLogger("snf-ganeti-hook")

PROG = "snf-ganeti-hook"
PUBLISHING_PATHS = {"instance-add", "instance-start", "instance-reboot", "instance-modify"}
EXIT_OK, EXIT_MALFORMED, EXIT_BROKER = 0, 1, 3

NIC_RE = re.compile(r"^GANETI_INSTANCE_NIC(\d+)_([A-Z0-9_]+)$")


class MalformedEnvironment(ValueError):
    pass


def eui64(mac, subnet6):
    """The EUI-64 address of ``mac`` in the /64 ``subnet6``."""
    try:
        return nic_util.eui64(mac, subnet6)
    except ValueError as exc:
        raise MalformedEnvironment(str(exc)) from None


def firewall_tags(tags):
    """``{nic index: value}`` from ``synnefo:network:<i>:<value>`` tags."""
    return nic_util.firewall_tags(
        tags.split(), on_malformed=lambda tag: log.warning("malformed firewall tag %r skipped", tag))


def nics_from_env(env):
    """The instance's NICs, ordered by index (spec 03 §3)."""
    raw = {}
    for key, value in env.items():
        match = NIC_RE.match(key)
        if match:
            raw.setdefault(int(match.group(1)), {})[match.group(2)] = value
    count_text = env.get("GANETI_INSTANCE_NIC_COUNT")
    try:
        count = int(count_text)
    except (TypeError, ValueError):
        raise MalformedEnvironment(f"GANETI_INSTANCE_NIC_COUNT is {count_text!r}")
    if sorted(raw) != list(range(count)):
        raise MalformedEnvironment(
            f"NIC indexes {sorted(raw)} do not match GANETI_INSTANCE_NIC_COUNT={count}")
    firewalls = firewall_tags(env.get("GANETI_INSTANCE_TAGS", ""))
    nics = []
    for index in range(count):
        fields = raw[index]
        mac = fields.get("MAC")
        if not mac:
            raise MalformedEnvironment(f"NIC {index} has no MAC")
        nic = {
            "mac": mac,
            "ip": fields.get("IP") or None,
            "link": fields.get("BRIDGE") or fields.get("LINK") or None,
            "network": fields.get("NETWORK_NAME") or fields.get("NETWORK") or None,
        }
        subnet6 = fields.get("NETWORK_SUBNET6")
        if subnet6:
            nic["ipv6"] = eui64(mac, subnet6)
        if index in firewalls:
            nic["firewall"] = firewalls[index]
        nics.append(nic)
    return nics


def node_name(settings, env):
    return (env.get("SNF_GANETI_HOOK_NODE_NAME")
            or getattr(settings, "GANETI_HOOK_NODE_NAME", None)
            or socket.getfqdn())


def build_message(env, settings):
    """The message to publish, or ``None`` when there is nothing to do.

    Raises :class:`MalformedEnvironment`.
    """
    from synnefo.messaging import messages, names

    path = env.get("GANETI_HOOKS_PATH")
    phase = env.get("GANETI_HOOKS_PHASE")
    if not path or not phase:
        raise MalformedEnvironment("GANETI_HOOKS_PATH and GANETI_HOOKS_PHASE are required")
    if phase != "post" or path not in PUBLISHING_PATHS:
        log.debug("%s/%s: nothing to do", path, phase)
        return None
    instance = env.get("GANETI_INSTANCE_NAME")
    if not instance:
        raise MalformedEnvironment("GANETI_INSTANCE_NAME is missing")
    if names.vm_id_of(settings.BACKEND_PREFIX_ID, instance) is None:
        log.debug("%s is not a Cyclades instance", instance)
        return None
    master = env.get("GANETI_MASTER")
    if not master:
        raise MalformedEnvironment("GANETI_MASTER is missing")
    if node_name(settings, env).lower() != master.lower():
        log.debug("not the master (%s)", master)
        return None
    if "GANETI_INSTANCE_NIC_COUNT" not in env:
        # Publishing an empty list would delete the VM's NICs: say nothing.
        log.warning("%s/%s of %s: no NIC information in the environment, nothing published",
                    path, phase, instance)
        return None
    nics = nics_from_env(env)
    return messages.net_status(instance, nics, messages.event_time_now(),
                               cluster=env.get("GANETI_CLUSTER"))


def main(argv=None, env=None):
    print_version_if_asked(sys.argv[1:] if argv is None else argv, PROG, "snf-cyclades-gtools")
    env = dict(os.environ if env is None else env)
    daemon_util.setup_logging(debug=bool(env.get("SNF_GANETI_HOOK_DEBUG")))
    settings = daemon_util.load_settings(PROG)
    where = "%s/%s %s" % (env.get("GANETI_HOOKS_PATH"), env.get("GANETI_HOOKS_PHASE"),
                          env.get("GANETI_INSTANCE_NAME"))
    try:
        message = build_message(env, settings)
    except MalformedEnvironment as exc:
        log.error("%s: malformed hook environment: %s", where, exc)
        return EXIT_MALFORMED
    if message is None:
        return EXIT_OK
    from synnefo.messaging.errors import BrokerUnavailable
    from synnefo.messaging.oneshot import OneShotPublisher
    retries = getattr(settings, "GANETI_HOOK_PUBLISH_RETRIES", None) or 2 * max(
        1, len(settings.AMQP_HOSTS))
    try:
        with OneShotPublisher(settings, log) as publisher:
            publisher.publish(message, retry=retries)
    except BrokerUnavailable as exc:
        log.error("%s: broker unavailable after %d attempts, NICs not published: %s",
                  where, retries, exc)
        return EXIT_BROKER
    except Exception as exc:
        log.error("%s: cannot publish: %s", where, exc)
        return EXIT_BROKER
    log.info("%s: published %d NICs", where, len(message["nics"]))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
