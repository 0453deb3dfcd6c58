"""Defaults of snf-cyclades-app: the dispatcher. Documented in docs/settings-dispatcher.rst."""

# --- Dispatcher ---------------------------------------------------------
# Messages the broker hands to one dispatcher before it acknowledges them.
DISPATCHER_PREFETCH = 20
# At most this many of the messages already handed over are applied in one
# transaction when they lock no row but their server's (1: one transaction
# per message).
DISPATCHER_BATCH_SIZE = 10
# Seconds without any message after which the dispatcher logs a warning
# ("verify that snf-ganeti-eventd is running") and reconnects.
DISPATCHER_IDLE_TIMEOUT = 600
# A transient DB error (connection lost, database locked) is retried with a
# back-off doubling from 0.1 s up to this many seconds, until it succeeds.
DISPATCHER_DB_RETRY_MAX_DELAY = 5.0
