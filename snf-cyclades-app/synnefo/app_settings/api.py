"""Defaults of snf-cyclades-app: the compute API. Documented in docs/settings-api.rst."""

# --- API ---------------------------------------------------------------
# Public base URL of the API server, used in version links.
APP_INSTALL_URL = "http://127.0.0.1:8000"
API_ROOT_URL = APP_INSTALL_URL + "/api"

# Maximum age in seconds of a changes-since value.
POLL_LIMIT = 3600

# Create requests with an X-Idempotency-Key: seconds a key is remembered
# (a retry within it returns the first request's server or network).
IDEMPOTENCY_KEY_RETENTION = 86400
# Seconds sent as Retry-After when the database or the broker is unavailable.
OUTAGE_RETRY_AFTER = 5
# Rendered servers of GET /servers/detail kept per API process, under their
# id and `updated` time: at most this many (0 = none kept), none older than
# API_SERVER_CACHE_SECONDS.
API_SERVER_CACHE_ENTRIES = 20000
API_SERVER_CACHE_SECONDS = 60

# Limits per user; a user's own override (snf-manage user-modify) wins.
MAX_VMS_PER_USER = 3
VMS_USER_QUOTA = {}
MAX_NETWORKS_PER_USER = 5
NETWORKS_USER_QUOTA = {}

MAX_PERSONALITY = 5
MAX_PERSONALITY_SIZE = 10240
MAX_SERVER_NAME_LENGTH = 255
MAX_METADATA_KEY_LENGTH = 50
MAX_METADATA_VALUE_LENGTH = 500
MAX_VM_METADATA = 10

# API tokens: lifetime in days of a newly issued token (0 = never expires).
TOKEN_LIFETIME_DAYS = 180
# Accept ?X-Auth-Token=... when no X-Auth-Token header is given (discouraged:
# URLs are logged and leak through Referer). The header always wins.
API_TOKEN_IN_QUERY_STRING = True

# Server stats graph URLs, %s = Ganeti instance name.
CPU_BAR_GRAPH_URL = "http://stats.example.org/%s/cpu-bar.png"
CPU_TIMESERIES_GRAPH_URL = "http://stats.example.org/%s/cpu-ts.png"
NET_BAR_GRAPH_URL = "http://stats.example.org/%s/net-bar.png"
NET_TIMESERIES_GRAPH_URL = "http://stats.example.org/%s/net-ts.png"
STATS_REFRESH_PERIOD = 60
