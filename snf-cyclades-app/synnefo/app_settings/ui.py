"""Defaults of snf-cyclades-app: the web UI. Documented in docs/settings-ui.rst."""

# --- Web UI (/ui/) --------------------------------------------------------
# Where the page's scripts find the compute API (same origin by default).
UI_API_URL = "/api/v1.1/"
# Seconds between two polls of the page for changes (one request each while idle).
UI_POLL_INTERVAL = 5
