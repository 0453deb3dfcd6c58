"""Defaults of snf-cyclades-app: Ganeti backends. Documented in docs/settings-backend.rst."""

# --- Ganeti backends ----------------------------------------------------
# Key that encrypts the stored RAPI passwords of backends: a long random
# string, or a list of them to rotate (the first encrypts, all decrypt; then
# snf-manage secret-reencrypt). Programs refuse to start while it is empty.
SECRET_ENCRYPTION_KEY = ""

GANETI_DISK_TEMPLATES = ["blockdev", "diskless", "drbd", "file", "plain", "rbd",
                         "sharedfile", "ext"]
DEFAULT_GANETI_DISK_TEMPLATE = "drbd"
GANETI_CREATEINSTANCE_KWARGS = {
    "os": "snf-image+default",
    "hvparams": {"serial_console": False},
    "wait_for_sync": False,
}
GANETI_USE_HOTPLUG = False
IGNORE_FLAVOR_DISK_SIZES = False

BACKEND_ALLOCATOR_MODULE = "synnefo.logic.allocators.default_allocator"
BACKEND_PER_USER = {}
BACKEND_REFRESH_MIN = 15

# Staggered reconciliation (snf-manage reconcile-servers without --all): every
# server is compared with Ganeti at least once per this many minutes.
RECONCILIATION_MIN = 30
# Seconds a server may stay in BUILD without its instance or create job in
# Ganeti before reconciliation calls its build failed.
RECONCILIATION_BUILD_GRACE = 60

# Timeout in seconds of one RAPI request made off the API's request path
# (stats refresh, backend-add), retried on connection errors.
GANETI_RAPI_TIMEOUT = 30

# Timeout in seconds of one RAPI request made while an API request waits
# (create, actions, console, networks); never retried: a slow or hung
# cluster answers 503 quickly and holds no database lock meanwhile.
GANETI_RAPI_REQUEST_TIMEOUT = 5

# Seconds between two passes of each dispatcher's backend statistics refresh
# (stats older than BACKEND_REFRESH_MIN minutes are fetched again); 0 = never
# (then run "snf-manage backend-update-status" from cron).
BACKEND_STATS_REFRESH_INTERVAL = 60

# Server creation (docs/benchmarks.rst, "Creates"): POST /servers commits the
# server and its create job, then answers at once; this many threads of each
# API process submit the jobs to Ganeti (0: the request's own thread does, before
# answering, with the same outcome: ERROR with Ganeti's reason on a refusal).
CREATE_SUBMIT_THREADS = 4
# Seconds between two passes of each dispatcher's sweeper, which submits the
# create jobs an API process left behind (it stopped before submitting them);
# 0 = never.
CREATE_SUBMIT_SWEEP_INTERVAL = 10

# Append dry-run=1 to every job-submitting RAPI call (Ganeti validates but runs
# nothing). The reference tied this to TEST; here it is separate so tests can
# drive a simulator.
GANETI_DRY_RUN = False

# --- VNC console ---------------------------------------------------------
# How consoles are opened: "vncauthproxy" (a one-time, password-protected
# forwarding by one of the snf-vncauthproxy daemons below), "direct" (the
# Ganeti node's own VNC endpoint: an explicit opt-in for labs, `snf-manage
# check` warns about it), or a dotted path to a console client class.
CONSOLE_BACKEND = "vncauthproxy"
# The snf-vncauthproxy daemons to ask (one picked at random, the next tried
# when it does not answer). Keys: server_address, server_port (control
# channel), auth_user, auth_password (a control user of the proxy),
# enable_ssl, ca_cert, strict (TLS toward the proxy), public_address
# (optional: the address users connect to; default: what the proxy answers).
CYCLADES_VNCAUTHPROXY_OPTS = [
    {"auth_user": "cyclades", "auth_password": "", "server_address": "127.0.0.1",
     "server_port": 24999, "enable_ssl": False, "ca_cert": None, "strict": False},
]
# Seconds to wait for a proxy's answer (connecting and setting up included).
VNCAUTHPROXY_TIMEOUT = 10
