"""Defaults that every Synnefo node shares (messaging, naming)."""

# Instance names are <BACKEND_PREFIX_ID><vm id>; it must contain a dash and the
# part before the first dash names the AMQP queues and routing keys.
BACKEND_PREFIX_ID = "snf-"

# Broker URLs. Several amqp:// URLs give fail-over (tried in order, then
# again after a pause). "filesystem://" is the embedded broker: messages are
# files under AMQP_FILESYSTEM_DIR, which every process of the deployment must
# share (it also works across network namespaces).
AMQP_HOSTS = ["filesystem://"]
AMQP_FILESYSTEM_DIR = "/var/lib/synnefo/broker"

# Topic exchange that eventd, the hook and the progress monitor publish to.
EXCHANGE_GANETI = "ganeti"

# Seconds to wait for a broker before giving up on one attempt to connect.
AMQP_CONNECT_TIMEOUT = 5
