"""Defaults of snf-cyclades-app: Ganeti backends. Documented in docs/settings-backend.rst."""

# --- Ganeti backends ----------------------------------------------------
# Key that encrypts the stored RAPI passwords of backends. Changing it makes
# stored passwords unreadable (re-enter them with backend-modify).
SECRET_ENCRYPTION_KEY = "Password Encryption Key"

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

# Append dry-run=1 to every job-submitting RAPI call (Ganeti validates but runs
# nothing). The reference tied this to TEST; here it is separate so tests can
# drive a simulator.
GANETI_DRY_RUN = False

# --- VNC console ---------------------------------------------------------
# "direct" (the node's own VNC endpoint), "vncauthproxy" (one-shot forwarding
# by a local snf-vncauthproxy 1.x), or a dotted path to a console client class.
CONSOLE_BACKEND = "direct"
# Control socket of snf-vncauthproxy 1.x.
VNCAUTHPROXY_SOCKET = "/var/run/vncauthproxy/ctrl.sock"
# Seconds to wait for vncauthproxy's answer.
VNCAUTHPROXY_TIMEOUT = 10
# Host name returned to clients for proxied consoles (None: this host's FQDN).
CONSOLE_HOST = None
