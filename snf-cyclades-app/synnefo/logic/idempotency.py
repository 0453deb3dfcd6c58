"""Idempotency keys of create requests (``X-Idempotency-Key``, issue 18).

A client that lost the answer to a create (a timeout, a reset connection, a
503 during a database outage) retries it with the same key and gets the same
object back instead of a second one. The key is recorded in the transaction
that inserts the object (after the user's row is locked, so that two
concurrent requests with one key are serialized), together with a digest of
the request's parameters: the same key with other parameters is refused
(``Conflict``). A create that is undone (its job could not be submitted)
releases its key, so its retry creates anew. Keys are kept
``IDEMPOTENCY_KEY_RETENTION`` seconds.
"""

import datetime
import hashlib
import json
import logging

from django.conf import settings
from django.utils import timezone
from synnefo.db import secrets
from synnefo.db.models import IdempotencyKey
from synnefo.logic.errors import BadRequest, Conflict

log = logging.getLogger(__name__)

HEADER = "X-Idempotency-Key"
MAX_LENGTH = 255


def check_key(key):
    """``key`` (1 to 255 printable ASCII characters) or ``None``; else badRequest."""
    if key is None:
        return None
    if (not isinstance(key, str) or not key or len(key) > MAX_LENGTH
            or not all(" " <= c <= "~" for c in key) or not key.strip()):
        raise BadRequest("Invalid %s: 1 to %d printable ASCII characters." % (HEADER, MAX_LENGTH))
    return key


def digest(**params):
    """SHA-256 of a create's parameters (JSON, keys sorted)."""
    text = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def retention():
    return datetime.timedelta(seconds=int(getattr(settings, "IDEMPOTENCY_KEY_RETENTION", 86400)))


def seal(secret):
    """The stored form of a create's one-time secret (encrypted; ``""`` for none)."""
    return secrets.encrypt(secret) if secret else ""


def find(userid, kind, key, request_digest):
    """The live :class:`IdempotencyKey` of ``key``, or ``None``. Call inside
    the create's transaction, the user's row locked. Expired keys of the user
    are dropped first; a key used with other parameters raises ``Conflict``."""
    if key is None:
        return None
    IdempotencyKey.objects.filter(userid=userid, created__lt=timezone.now() - retention()).delete()
    row = IdempotencyKey.objects.select_for_update().filter(userid=userid, kind=kind, key=key).first()
    if row is not None and row.digest != request_digest:
        raise Conflict("%s %r was already used for another %s create request: use a new key "
                       "for a new request." % (HEADER, key, kind))
    return row


def record(userid, kind, key, request_digest, object_id, sealed=""):
    """Record ``key`` for the new object (inside the transaction that inserts it)."""
    if key is None:
        return
    IdempotencyKey.objects.create(userid=userid, kind=kind, key=key, digest=request_digest,
                                  object_id=object_id, secret=sealed)


def release(kind, object_id):
    """The create of ``object_id`` was undone: its key may create anew."""
    IdempotencyKey.objects.filter(kind=kind, object_id=object_id).delete()


def secret_of(row):
    """The one-time secret stored with ``row``, or ``None`` (none, or no key decrypts it)."""
    if not row.secret:
        return None
    try:
        return secrets.decrypt(row.secret, what="%s of idempotency key" % row.kind)
    except secrets.SecretError as exc:
        log.warning("%s", exc)
        return None
