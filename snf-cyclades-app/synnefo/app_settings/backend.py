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

# Timeout in seconds of one RAPI request.
GANETI_RAPI_TIMEOUT = 30

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
