"""Defaults of snf-cyclades-gtools (snf-ganeti-eventd, snf-ganeti-hook, snf-progress-monitor).

The broker settings (``AMQP_HOSTS``, ``AMQP_FILESYSTEM_DIR``, ``EXCHANGE_GANETI``,
``AMQP_CONNECT_TIMEOUT``) and ``BACKEND_PREFIX_ID`` come from snf-common.
"""

# snf-ganeti-eventd: Ganeti's job-queue directory (``--queue-dir`` overrides it)
# and the record of what it published (``--state-file`` overrides it).
GANETI_QUEUE_DIR = "/var/lib/ganeti/queue"
EVENTD_STATE_FILE = "/var/lib/snf-ganeti-eventd/state.json"

# snf-ganeti-hook publishes only on the Ganeti master: it compares this node's
# name with GANETI_MASTER. None = the host's FQDN (socket.getfqdn()); the
# environment variable SNF_GANETI_HOOK_NODE_NAME wins over both.
GANETI_HOOK_NODE_NAME = None

# Publish attempts of the hook and of the progress monitor before they give up
# (they run inside Ganeti / snf-image and must not hang). None = 2 x len(AMQP_HOSTS).
GANETI_HOOK_PUBLISH_RETRIES = None
PROGRESS_MONITOR_PUBLISH_RETRIES = None
