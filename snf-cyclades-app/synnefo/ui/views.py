"""The two pages of the web UI: ``/`` (links) and ``/ui/`` (the application).

They read settings only, never the database or the logic layer: the page's
scripts get everything else from the public API, like any other client.
"""

from django.conf import settings
from django.shortcuts import render
from django.views.decorators.http import require_safe

# The application loads its own scripts, styles and images only; it talks to
# the API (same origin) and to console proxies over WebSocket (any host).
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; "
                           "form-action 'self'; frame-ancestors 'none'")


def ui_config():
    """What the page's scripts need to know, injected as JSON into the page."""
    return {"api": settings.UI_API_URL, "pollInterval": settings.UI_POLL_INTERVAL}


def _protect(response):
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response["X-Content-Type-Options"] = "nosniff"
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-cache"
    return response


@require_safe
def home(request):
    """``/``: where to go (the web UI, the API and its description)."""
    return _protect(render(request, "ui/home.html", {"api": settings.UI_API_URL}))


@require_safe
def index(request):
    """``/ui/``: the single-page application."""
    return _protect(render(request, "ui/index.html", {"config": ui_config()}))
