"""Encryption of stored secrets (the RAPI passwords of backends).

Fernet (AES-128-CBC + HMAC-SHA256) with a key derived from the
``SECRET_ENCRYPTION_KEY`` setting. Stored form: ``fernet:<token>``.
"""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

PREFIX = "fernet:"


class SecretError(Exception):
    pass


def _fernet():
    from django.conf import settings
    key = settings.SECRET_ENCRYPTION_KEY
    if not key:
        raise SecretError("SECRET_ENCRYPTION_KEY is empty")
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt(plaintext):
    token = _fernet().encrypt(plaintext.encode("utf-8")).decode("ascii")
    return PREFIX + token


def decrypt(stored):
    if stored is None:
        return None
    if not stored.startswith(PREFIX):
        raise SecretError("stored secret is not encrypted")
    try:
        return _fernet().decrypt(stored[len(PREFIX):].encode("ascii")).decode("utf-8")
    except InvalidToken as exc:
        raise SecretError("cannot decrypt stored secret: SECRET_ENCRYPTION_KEY changed?") from exc
