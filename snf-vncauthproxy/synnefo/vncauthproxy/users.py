"""Control users: a file of salted password hashes, one ``NAME:HASH`` a line.

``HASH`` is ``pbkdf2_sha256$ITERATIONS$SALT_HEX$DIGEST_HEX``. Lines starting
with ``#`` and blank lines are ignored. The file is re-read when it changes,
so adding a user needs no restart.
"""

import hashlib
import hmac
import os
import re
import secrets
import threading

SCHEME = "pbkdf2_sha256"
ITERATIONS = 120_000
NAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


class UsersFileError(Exception):
    pass


def hash_password(password, iterations=ITERATIONS, salt=None):
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return "%s$%d$%s$%s" % (SCHEME, iterations, salt.hex(), digest.hex())


def check_password(password, encoded):
    try:
        scheme, iterations, salt, digest = encoded.split("$")
        if scheme != SCHEME:
            return False
        computed = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), bytes.fromhex(salt),
                                       int(iterations))
        return hmac.compare_digest(computed, bytes.fromhex(digest))
    except (ValueError, TypeError):
        return False


def parse_users(text, path="users file"):
    users = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, encoded = line.partition(":")
        if not sep or not NAME_RE.match(name) or not encoded.startswith(SCHEME + "$") \
                or encoded.count("$") != 3:
            raise UsersFileError("%s line %d: expected NAME:%s$ITERATIONS$SALT$DIGEST"
                                 % (path, number, SCHEME))
        users[name] = encoded
    return users


class UserStore:
    """The users of the control channel, re-read when the file changes.

    A successful check is remembered (as a keyed digest of the password,
    never the password) so that a busy client pays the slow hash once.
    """

    def __init__(self, path):
        self.path = path
        self._stamp = None
        self._users = {}
        self._verified = {}
        self._key = secrets.token_bytes(32)
        # one slow check at a time: concurrent requests of a user wait for the first
        self._slow = threading.Lock()
        self.reload()

    def reload(self):
        try:
            st = os.stat(self.path)
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
            if stamp == self._stamp:
                return
            with open(self.path, encoding="utf-8") as handle:
                users = parse_users(handle.read(), self.path)
        except OSError as exc:
            raise UsersFileError("cannot read the users file %s: %s" % (self.path, exc.strerror)) from None
        self._users, self._stamp, self._verified = users, stamp, {}

    def __len__(self):
        return len(self._users)

    def _token(self, name, password):
        try:
            self.reload()
        except UsersFileError:
            pass  # keep the last good list; the daemon logs file problems at start
        encoded = self._users.get(name)
        if encoded is None or not isinstance(password, str):
            return None, None
        return encoded, hmac.new(self._key, (encoded + "\0" + password).encode("utf-8"), "sha256").digest()

    def check_cached(self, name, password):
        """True when this very password of ``name`` was checked before (fast);
        False when the user is unknown; None when the slow check is needed."""
        encoded, token = self._token(name, password)
        if encoded is None:
            return False
        return True if hmac.compare_digest(self._verified.get(name, b""), token) else None

    def check(self, name, password):
        """Whether ``name`` may use the control channel with ``password`` (slow
        the first time: call it in a thread)."""
        encoded, token = self._token(name, password)
        if encoded is None:
            return False
        with self._slow:
            if hmac.compare_digest(self._verified.get(name, b""), token):
                return True
            if check_password(password, encoded):
                self._verified[name] = token
                return True
        return False


def add_user(path, name, password):
    """Add ``name`` (or replace its hash) in the file at ``path`` (created 0600)."""
    if not NAME_RE.match(name or ""):
        raise UsersFileError("user names are 1-64 letters, digits or _.@-, got %r" % name)
    if not password:
        raise UsersFileError("the password is empty")
    lines = []
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        parse_users(text, path)
        lines = [line for line in text.splitlines() if line.partition(":")[0].strip() != name]
    lines.append("%s:%s" % (name, hash_password(password)))
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = "%s.tmp.%d" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    os.replace(tmp, path)
