"""HTTPS transport for the RAPI client: session, TLS policy, retries, error mapping.

One ``Transport`` per client, one ``requests.Session`` per transport. It knows
nothing about Ganeti resources: it sends ``method /2/<path>`` with a JSON body
and returns the decoded JSON answer, or raises a ``synnefo.rapi.errors``
exception.
"""

import html
import json
import logging
import re
import ssl
import time

import requests
import urllib3
from requests.adapters import HTTPAdapter
from synnefo.rapi.errors import GanetiApiError, GanetiConnectionError, GanetiNotFound

log = logging.getLogger(__name__)

API_PREFIX = "/2"
JSON = "application/json"
_MAX_DETAILS = 2000
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def normalize_fingerprint(fingerprint):
    """``"AB:cd:..."`` or ``"abcd..."`` -> 64 lowercase hex digits; ValueError otherwise."""
    value = str(fingerprint).strip().replace(":", "").replace(" ", "").lower()
    if not _HEX64.match(value):
        raise ValueError(
            "fingerprint must be a SHA-256 digest (64 hex digits, colons optional), got %r" % (fingerprint,)
        )
    return value


def format_host(host):
    """Bracket an IPv6 literal for use in a URL; leave names and IPv4 alone."""
    host = str(host).strip()
    if ":" in host and not host.startswith("["):
        return "[%s]" % host
    return host


def encode_query(query):
    """Drop ``None`` values, encode booleans as 0/1; lists become repeated params."""
    params = []
    for key, value in (query or {}).items():
        if value is None:
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        for item in values:
            if isinstance(item, bool):
                item = int(item)
            params.append((key, item))
    return params


class FingerprintAdapter(HTTPAdapter):
    """Accept exactly the certificate whose SHA-256 digest is ``fingerprint``.

    Chain and hostname checks are off (the session sends ``verify=False``);
    urllib3 compares the peer certificate's digest after the handshake and
    fails the connection on a mismatch.
    """

    def __init__(self, fingerprint, **kwargs):
        self.fingerprint = fingerprint
        super().__init__(**kwargs)

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
        pool_kwargs["assert_fingerprint"] = self.fingerprint
        pool_kwargs["cert_reqs"] = "CERT_NONE"
        super().init_poolmanager(connections, maxsize, block=block, **pool_kwargs)


class SystemCAAdapter(HTTPAdapter):
    """``verify=True``: check the chain against the operating system's CA store
    (OpenSSL default paths, honours ``SSL_CERT_FILE``/``SSL_CERT_DIR``) and the
    hostname, instead of requests' bundled certifi list."""

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
        pool_kwargs["ssl_context"] = ssl.create_default_context()
        super().init_poolmanager(connections, maxsize, block=block, **pool_kwargs)

    def cert_verify(self, conn, url, verify, cert):
        if verify is True:
            conn.cert_reqs = "CERT_REQUIRED"
            conn.ca_certs = None  # use the context's (system) trust store
            conn.ca_cert_dir = None
        else:
            super().cert_verify(conn, url, verify, cert)


class Transport:
    """Talks HTTPS+JSON to one RAPI endpoint.

    ``verify``: True (system CAs), False, or a CA bundle path. ``fingerprint``
    (SHA-256 hex) overrides ``verify``. ``retries``: extra attempts for GETs on
    connection errors (never for other methods), with exponential back-off
    starting at ``backoff`` seconds.
    """

    def __init__(self, host, port=5080, username=None, password=None, verify=True,
                 fingerprint=None, timeout=30, retries=3, backoff=0.2):
        if not host:
            raise ValueError("RAPI host is required")
        self.host = str(host).strip()
        self.port = int(port)
        self.base_url = "https://%s:%d" % (format_host(self.host), self.port)
        self.timeout = timeout
        self.retries = max(0, int(retries))
        self.backoff = backoff
        self.fingerprint = normalize_fingerprint(fingerprint) if fingerprint else None
        self.session = requests.Session()
        self.session.headers.update({"Accept": JSON, "Content-Type": JSON})
        self.session.trust_env = False  # no proxies / netrc from the environment
        if username is not None or password is not None:
            self.session.auth = (username or "", password or "")
        if self.fingerprint:
            self.session.verify = False
            self.session.mount("https://", FingerprintAdapter(self.fingerprint))
        else:
            # None / "" mean "not configured": never let them silently disable checks.
            self.session.verify = True if verify is None or verify == "" else verify
            if self.session.verify is True:
                self.session.mount("https://", SystemCAAdapter())

    def __repr__(self):
        return "<Transport %s>" % self.base_url

    def close(self):
        self.session.close()

    def url(self, path):
        return "%s%s%s" % (self.base_url, API_PREFIX, path)

    def request(self, method, path, query=None, body=None, timeout=None):
        """Send one request; return the decoded JSON answer (``None`` if empty)."""
        method = method.upper()
        url = self.url(path)
        data = json.dumps(body) if body is not None else None
        attempts = 1 + (self.retries if method == "GET" else 0)
        log.debug("RAPI %s %s", method, url)
        for attempt in range(attempts):
            try:
                response = self.session.request(
                    method, url, params=encode_query(query), data=data,
                    timeout=timeout if timeout is not None else self.timeout,
                )
                break
            except requests.exceptions.RequestException as exc:
                error = self._connection_error(method, url, exc)
                if not self._retriable(exc) or attempt + 1 >= attempts:
                    raise error from exc
                delay = self.backoff * (2 ** attempt)
                log.warning("RAPI %s %s failed (%s); retry %d/%d in %.2fs",
                            method, url, error.message, attempt + 1, attempts - 1, delay)
                time.sleep(delay)
            except OSError as exc:
                # e.g. requests' "Could not find a suitable TLS CA certificate bundle"
                raise GanetiConnectionError("TLS setup for %s failed: %s %s" % (self.base_url, method, url),
                                            details=str(exc)) from exc
        return self._decode(method, url, response)

    @staticmethod
    def _retriable(exc):
        # Refused / reset / connect timeout: the request never reached Ganeti.
        # TLS failures and read timeouts are not retried.
        if isinstance(exc, requests.exceptions.SSLError):
            return False
        return isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.ConnectTimeout))

    def _connection_error(self, method, url, exc):
        where = "%s %s" % (method, url)
        if isinstance(exc, requests.exceptions.SSLError):
            text = str(exc)
            if self.fingerprint and "fingerprint" in text.lower():
                msg = ("TLS certificate of %s does not match the pinned SHA-256 fingerprint %s"
                       % (self.base_url, self.fingerprint))
            else:
                msg = "TLS verification of %s failed" % self.base_url
            return GanetiConnectionError("%s: %s" % (msg, where), details=text)
        if isinstance(exc, requests.exceptions.Timeout):
            # A connect timeout never sent the request; a read timeout may
            # have (requests cannot tell one in the TLS handshake apart).
            return GanetiConnectionError(
                "timed out talking to Ganeti RAPI: %s" % where, details=str(exc), timed_out=True,
                may_have_reached=not isinstance(exc, requests.exceptions.ConnectTimeout))
        if isinstance(exc, requests.exceptions.ConnectionError):
            # "Connection aborted" (urllib3's ProtocolError): the connection
            # was up and the request sent, then the answer was lost.
            lost = any(isinstance(arg, urllib3.exceptions.ProtocolError) for arg in exc.args)
            return GanetiConnectionError(
                ("lost the connection to Ganeti RAPI: %s" if lost else "cannot connect to Ganeti RAPI: %s")
                % where, details=str(exc), may_have_reached=lost)
        return GanetiConnectionError("request to Ganeti RAPI failed: %s" % where, details=str(exc))

    @staticmethod
    def _decode(method, url, response):
        status = response.status_code
        text = response.text
        if 200 <= status < 300:
            if not text.strip():
                return None
            try:
                return response.json()
            except ValueError:
                raise GanetiApiError("invalid JSON in answer to %s %s" % (method, url), status,
                                     text[:_MAX_DETAILS])
        message, details = Transport._error_text(response)
        cls = GanetiNotFound if status == 404 else GanetiApiError
        raise cls(message, status, details)

    @staticmethod
    def _error_text(response):
        """Build (message, details) from Ganeti's ``{"code","message","explain"}`` body."""
        reason = response.reason or "HTTP error"
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and ("message" in body or "explain" in body):
            # Ganeti HTML-escapes the texts of its error answers.
            message = html.unescape(str(body.get("message") or reason))
            explain = body.get("explain")
            if explain:
                explain = html.unescape(str(explain))
                return "%s: %s" % (message, explain), explain
            return message, None
        text = response.text.strip()
        return reason, (text[:_MAX_DETAILS] or None)
