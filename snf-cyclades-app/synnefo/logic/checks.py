"""System checks of the logic (``snf-manage check``)."""

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security)
def console_backend_check(app_configs, **kwargs):
    """The direct console mode hands users a Ganeti node's unauthenticated
    VNC endpoint: allowed, but never silently."""
    if getattr(settings, "CONSOLE_BACKEND", "vncauthproxy") != "direct":
        return []
    return [checks.Warning(
        'CONSOLE_BACKEND is "direct": the console action gives users the Ganeti node\'s own VNC '
        "host and port, which has no authentication (the password in the answer protects nothing) "
        "and must be reachable from their machines.",
        hint='Run snf-vncauthproxy on the API nodes and set CONSOLE_BACKEND = "vncauthproxy" with '
             "CYCLADES_VNCAUTHPROXY_OPTS (see docs/console.rst).",
        id="synnefo.W001")]
