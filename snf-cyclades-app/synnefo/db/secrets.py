"""Encryption of stored secrets (the RAPI passwords of backends).

Fernet (AES-128-CBC + HMAC-SHA256). Stored form: ``fernet:<token>``.

``SECRET_ENCRYPTION_KEY`` is one key (a string) or a list of keys for
rotation: the first encrypts, every one decrypts. Each key is stretched into
a Fernet key with PBKDF2-HMAC-SHA256 (``KDF_ITERATIONS`` rounds, once per key
and process). Tokens written before the stretching existed (a bare SHA-256 of
the key) still decrypt; ``snf-manage secret-reencrypt`` rewrites every stored
secret with the first key and the current stretching.

The key must be set: empty, or the public default of earlier releases, is
refused at start (:func:`key_problem`, used by the Django system check of
:mod:`synnefo.db.checks` and by every program's start).
"""

import base64
import functools
import hashlib
import threading

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.core.exceptions import ImproperlyConfigured

PREFIX = "fernet:"
KDF_ITERATIONS = 600_000
KDF_SALT = b"synnefo secret encryption key v2"
# Public defaults that protect nothing: the earlier releases' default and empty.
PUBLIC_KEYS = frozenset({"", "Password Encryption Key"})
SETTING = "SECRET_ENCRYPTION_KEY"


class SecretError(ImproperlyConfigured):
    """A secret cannot be encrypted or decrypted; the message says what to do.

    An ``ImproperlyConfigured``: programs report it in one line."""


def configured_keys(value):
    """The list of keys a ``SECRET_ENCRYPTION_KEY`` value names (first: the current one)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(k, str) for k in value):
        return list(value)
    raise SecretError("%s must be a string or a list of strings, not %s"
                      % (SETTING, type(value).__name__))


def key_problem(settings):
    """One line saying why ``SECRET_ENCRYPTION_KEY`` cannot protect anything, or ``None``.

    Test settings (``TEST = True``) may keep any key."""
    value = getattr(settings, SETTING, "")
    try:
        keys = configured_keys(value)
    except SecretError as exc:
        return str(exc)
    if getattr(settings, "TEST", False):
        return None
    if not keys:
        return "%s is an empty list" % SETTING
    for key in keys:
        if key.strip() in PUBLIC_KEYS:
            what = "empty" if not key.strip() else "the public default %r" % key
            return ("%s is %s: set a long random secret in a conf file of SYNNEFO_SETTINGS_DIR "
                    "(e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
                    % (SETTING, what))
    return None


_STRETCHED = {}  # key -> Fernet; the keys are those of the settings
_stretching = threading.Lock()


def _stretched(key):
    """The Fernet of ``key``, stretched once per process: the threads that
    ask at the same time (the first creates of an API process) wait for one
    stretching instead of each running its own ``KDF_ITERATIONS`` rounds."""
    found = _STRETCHED.get(key)
    if found is None:
        with _stretching:
            found = _STRETCHED.get(key)
            if found is None:
                digest = hashlib.pbkdf2_hmac("sha256", key.encode("utf-8"), KDF_SALT, KDF_ITERATIONS)
                found = _STRETCHED[key] = Fernet(base64.urlsafe_b64encode(digest))
    return found


@functools.lru_cache(maxsize=32)
def _legacy(key):
    """The derivation of earlier releases (decryption only)."""
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode("utf-8")).digest()))


def _keys():
    from django.conf import settings
    keys = configured_keys(getattr(settings, SETTING, ""))
    if not keys or not keys[0]:
        raise SecretError("%s is not set: cannot encrypt or decrypt RAPI passwords" % SETTING)
    return keys


def _current():
    return _stretched(_keys()[0])


def _all():
    keys = [k for k in _keys() if k]
    return MultiFernet([_stretched(k) for k in keys] + [_legacy(k) for k in keys])


def encrypt(plaintext):
    return PREFIX + _current().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(stored, what="stored secret"):
    if stored is None:
        return None
    if not stored.startswith(PREFIX):
        raise SecretError("%s is not encrypted" % what)
    try:
        return _all().decrypt(stored[len(PREFIX):].encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise SecretError("cannot decrypt %s: no key of %s opens it (add the key it was "
                          "encrypted with to the list, or store the secret again)"
                          % (what, SETTING)) from None


def is_current(stored):
    """Is ``stored`` encrypted with the first key and the current stretching?"""
    if stored is None:
        return True
    try:
        _current().decrypt(stored[len(PREFIX):].encode("ascii"))
    except InvalidToken:
        return False
    return True

