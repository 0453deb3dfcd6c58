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

# Timeout in seconds of one RAPI request.
GANETI_RAPI_TIMEOUT = 30

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
