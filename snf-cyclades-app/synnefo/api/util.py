"""Shared machinery of the compute API views (spec 02-api §1).

``api_method`` wraps every view: serialization choice, X-Auth-Token
authentication, method check, fault rendering and never-cache headers. The
other helpers parse request bodies and parameters and render responses.
"""

import datetime
import functools
import json
import logging
import time
import traceback

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.http import http_date
from synnefo.api import faults, xml_render
from synnefo.logic import outage
from synnefo.logic.errors import LogicError
from synnefo.logic.users import authenticate

log = logging.getLogger(__name__)

CONTENT_TYPES = {"json": "application/json; charset=UTF-8", "xml": "application/xml; charset=UTF-8"}
ACCEPT_TYPES = (("application/json", "json"), ("application/xml", "xml"))


# --- serialization ---------------------------------------------------------------

def choose_serialization(request, fmt):
    """URL suffix wins, then the first matching ``Accept`` entry, then JSON."""
    if fmt in CONTENT_TYPES:
        return fmt
    for entry in request.META.get("HTTP_ACCEPT", "").split(","):
        media = entry.split(";")[0].strip().lower()
        for content_type, serialization in ACCEPT_TYPES:
            if media == content_type:
                return serialization
    return "json"


def render(request, data, status=200):
    """``data`` (the JSON document) in the request's serialization."""
    serialization = getattr(request, "serialization", "json")
    if serialization == "xml":
        body = xml_render.to_xml(data)
    else:
        body = json.dumps(data)
    return HttpResponse(body, status=status, content_type=CONTENT_TYPES[serialization])


def list_item(request, list_name, item):
    """One item of the list ``list_name``, rendered as :func:`list_body` joins it."""
    if getattr(request, "serialization", "json") == "xml":
        return xml_render.list_item(list_name, item)
    return json.dumps(item)


def list_body(request, list_name, items):
    """The body (bytes) ``render(request, {list_name: {"values": [...]}})``
    answers, byte for byte, of the items rendered one by one with :func:`list_item`."""
    if getattr(request, "serialization", "json") == "xml":
        body = xml_render.list_document(list_name, items)
    else:
        body = '{%s: {"values": [%s]}}' % (json.dumps(list_name), ", ".join(items))
    return body.encode("utf-8")


def render_body(request, body):
    """A 200 response of ``body`` (bytes) in the request's serialization."""
    return HttpResponse(body, content_type=CONTENT_TYPES[getattr(request, "serialization", "json")])


def render_empty(status):
    """A response without a body (204, 304, 202)."""
    return HttpResponse(status=status)


def render_fault(request, fault, unexpected=False):
    """The fault response; faults >= 500 are logged, with the traceback when
    the error was unexpected (a deliberate fault's traceback says nothing)."""
    if unexpected:
        log.exception("Unexpected error in %s %s", request.method, request.path)
    elif fault.code >= 500:
        log.error("API fault %s (%s) for %s %s: %s", fault.name, fault.code, request.method,
                  request.path, fault.message)
    if not fault.details and (settings.DEBUG or getattr(settings, "TEST", False)) and fault.code >= 500:
        fault.details = traceback.format_exc()
    response = render(request, faults.fault_body(fault), status=fault.code)
    response.fault = fault
    return response


def isoformat(dt):
    """ISO 8601 with an explicit UTC offset: ``2011-04-19T10:18:52.085737+00:00``."""
    if dt is None:
        return None
    if dt.tzinfo is datetime.UTC:  # what the database drivers return: no conversion needed
        return dt.isoformat()
    if timezone.is_naive(dt):
        dt = timezone.make_aware(dt, datetime.UTC)
    return dt.astimezone(datetime.UTC).isoformat()


# --- the view decorator --------------------------------------------------------

def request_token(request):
    """The ``X-Auth-Token`` header; else, unless ``API_TOKEN_IN_QUERY_STRING`` is off,
    the query-string token (discouraged: URLs get logged)."""
    header = request.META.get("HTTP_X_AUTH_TOKEN")
    if header or not getattr(settings, "API_TOKEN_IN_QUERY_STRING", True):
        return header
    return request.GET.get("X-Auth-Token")


def api_method(*http_methods, auth=True):
    """Decorate an API view ``view(request, ..., fmt=None)``.

    Authentication comes before the method check (spec §1.3); every fault
    and unexpected error becomes a fault response in the request's format.
    """
    allowed = {m.upper() for m in http_methods}

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, *args, fmt=None, **kwargs):
            request.serialization = choose_serialization(request, fmt)
            try:
                if auth:
                    user = authenticate(request_token(request))
                    if user is None:
                        raise faults.Unauthorized("No user found.")
                    request.user = user
                    request.userid = user.uniq
                if request.method not in allowed:
                    raise faults.BadRequest("Method not allowed.")
                response = view(request, *args, **kwargs)
            except faults.Fault as fault:
                response = render_fault(request, fault)
            except LogicError as error:
                response = render_fault(request, faults.from_exception(error))
            except Exception as exc:  # noqa: BLE001 - every error becomes a fault
                down = outage.unavailable(exc)  # the database or the broker is gone
                if down is not None:
                    response = render_fault(request, faults.from_exception(down))
                else:
                    response = render_fault(request, faults.ServiceUnavailable("Unexpected error."),
                                            unexpected=True)
            retry_after = getattr(getattr(response, "fault", None), "retry_after", None)
            if retry_after is not None:
                response["Retry-After"] = str(retry_after)
            never_cache(response)
            return response

        wrapper.allowed_methods = allowed
        return wrapper

    return decorator


@api_method("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")
def not_found(request, *args, **kwargs):
    """Catch-all for unknown URLs, under /api/ and elsewhere, whatever their
    characters (spec §1.1: 400 "Not found."; like every API URL it needs a
    valid token first, spec §1.3)."""
    raise faults.BadRequest("Not found.")


NEVER_CACHE = "max-age=0, no-cache, no-store, must-revalidate, private"


def never_cache(response):
    """Django's ``add_never_cache_headers``, the same headers, without its
    parsing and merging where the response has neither header yet (every
    API answer): that took a tenth of a warm list's CPU."""
    if response.has_header("Expires") or response.has_header("Cache-Control"):
        add_never_cache_headers(response)
        return
    response.headers["Expires"] = http_date(time.time())
    response.headers["Cache-Control"] = NEVER_CACHE


# --- request parsing -----------------------------------------------------------

def get_request_dict(request):
    """The JSON object in the request body, or badRequest."""
    content_type = request.META.get("CONTENT_TYPE", "")
    if not content_type.lower().startswith("application/json"):
        raise faults.BadRequest("Unsupported Content-Type.")
    try:
        body = request.body
    except RequestDataTooBig:
        raise faults.OverLimit("Request body larger than %d bytes."
                               % settings.DATA_UPLOAD_MAX_MEMORY_SIZE) from None
    try:
        data = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested too deep
        raise faults.BadRequest("Invalid JSON data.") from None
    if not isinstance(data, dict):
        raise faults.BadRequest("Malformed request")
    return data


def idempotency_key(request):
    """The request's ``X-Idempotency-Key`` header, or ``None`` (checked by logic)."""
    return request.META.get("HTTP_X_IDEMPOTENCY_KEY")


def replay_marked(response, obj):
    """Mark the answer of a create that an idempotency key replayed."""
    if getattr(obj, "replayed", False):
        response["X-Idempotency-Replayed"] = "true"
    return response


def parse_datetime(value):
    """An aware datetime from ISO 8601 text carrying a UTC offset, or None."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        dt = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if dt.tzinfo is None:
        return None
    return dt.astimezone(datetime.UTC)


def get_changes_since(request):
    """The ``changes-since`` parameter as an aware UTC datetime, or None (spec §1.5)."""
    value = request.GET.get("changes-since")
    if value is None:
        return None
    since = parse_datetime(value)
    if since is None:
        raise faults.BadRequest("Invalid changes-since parameter.")
    now = timezone.now()
    if since > now:
        raise faults.BadRequest("changes-since value set in the future.")
    if now - since > datetime.timedelta(seconds=settings.POLL_LIMIT):
        raise faults.BadRequest("Too old changes-since value.")
    return since


# --- validation ----------------------------------------------------------------

def check_name(value, what="server"):
    """A non-blank string of at most MAX_SERVER_NAME_LENGTH characters."""
    if not isinstance(value, str):
        raise faults.BadRequest("Invalid %s name: must be a string." % what)
    if not value.strip():
        raise faults.BadRequest("Invalid %s name: must not be empty." % what)
    if len(value) > settings.MAX_SERVER_NAME_LENGTH:
        raise faults.BadRequest("Invalid %s name: longer than %d characters."
                                % (what, settings.MAX_SERVER_NAME_LENGTH))
    return value


def check_metadata(metadata):
    """String keys and values within the MAX_METADATA_* lengths (badRequest)."""
    if not isinstance(metadata, dict):
        raise faults.BadRequest("Malformed request")
    for key, value in metadata.items():
        if not isinstance(key, str) or not key:
            raise faults.BadRequest("Metadata keys must be non-empty strings.")
        if not isinstance(value, str):
            raise faults.BadRequest("Metadata value of %r must be a string." % key)
        if len(key) > settings.MAX_METADATA_KEY_LENGTH:
            raise faults.BadRequest("Metadata key longer than %d characters."
                                    % settings.MAX_METADATA_KEY_LENGTH)
        if len(value) > settings.MAX_METADATA_VALUE_LENGTH:
            raise faults.BadRequest("Metadata value longer than %d characters."
                                    % settings.MAX_METADATA_VALUE_LENGTH)
    return metadata
