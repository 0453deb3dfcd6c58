"""Users, API tokens and per-user limits.

Tokens are random URL-safe strings shown once; only their SHA-256 digest is
stored (``AuthToken.digest``). A token authenticates while its user is
active and it is neither revoked nor expired. Every request checks that in
the database (no token is remembered between requests): the lookup's SQL is
compiled once per connection (:mod:`synnefo.db.compiled_queries`).
"""

import datetime
import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from synnefo.db.compiled_queries import CompiledQuery
from synnefo.db.models import AuthToken, User, VirtualMachine

TOKEN_BYTES = 32
USER_FIELDS = [field.attname for field in User._meta.concrete_fields]
# (expires, user's fields...) of the unrevoked token of an active user by digest.
TOKEN_LOOKUP = CompiledQuery(
    lambda digest: AuthToken.objects.filter(digest=digest, revoked=False, user__active=True)
    .values_list("expires", *("user__" + name for name in USER_FIELDS)))


def authenticate(token):
    """The active ``User`` owning ``token``, or ``None``."""
    if not token or len(token) > 256:
        return None
    database = AuthToken.objects.db
    rows = TOKEN_LOOKUP.rows(AuthToken.digest_of(token), using=database)
    if not rows:  # digests are unique: one row at most
        return None
    expires, *user_values = rows[0]
    if expires is not None and expires <= timezone.now():
        return None
    return User.from_db(database, USER_FIELDS, user_values)


def issue_token(user, lifetime_days=None):
    """Create a new token for ``user`` and return it in clear (shown once).

    ``lifetime_days`` defaults to the ``TOKEN_LIFETIME_DAYS`` setting; 0 means
    the token never expires.
    """
    if lifetime_days is None:
        lifetime_days = settings.TOKEN_LIFETIME_DAYS
    if lifetime_days < 0:
        raise ValueError("token lifetime must be >= 0 days")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    expires = None
    if lifetime_days:
        expires = timezone.now() + datetime.timedelta(days=lifetime_days)
    AuthToken.objects.create(user=user, digest=AuthToken.digest_of(token), expires=expires)
    return token


def renew_token(user, lifetime_days=None):
    """Revoke every token of ``user`` and issue a new one (returned in clear)."""
    with transaction.atomic():
        AuthToken.objects.filter(user=user, revoked=False).update(revoked=True)
        return issue_token(user, lifetime_days)


def vm_limit(user):
    """How many live servers ``user`` may own: own override, then settings."""
    if user.max_vms is not None:
        return user.max_vms
    return settings.VMS_USER_QUOTA.get(user.uniq, settings.MAX_VMS_PER_USER)


def network_limit(user):
    """How many private networks ``user`` may own: own override, then settings."""
    if user.max_networks is not None:
        return user.max_networks
    return settings.NETWORKS_USER_QUOTA.get(user.uniq, settings.MAX_NETWORKS_PER_USER)


def usage(user):
    """What ``user`` may own and owns now: the figures the limits above are checked on
    (live servers, live private networks)."""
    from synnefo.db.models import Network, VirtualMachine
    return {
        "servers": (VirtualMachine.objects.filter(userid=user.uniq, deleted=False).count(), vm_limit(user)),
        "networks": (Network.objects.filter(userid=user.uniq, deleted=False).count(), network_limit(user)),
    }
# Fields of a user that an operator may change (snf-manage user-modify, the admin web).
MODIFIABLE_FIELDS = ("name", "email", "max_vms", "max_networks", "active", "staff")


def modify(user, changes, renew_lifetime=None):
    """Apply ``changes`` (field -> value, fields of ``MODIFIABLE_FIELDS``) to
    ``user`` in one transaction, the row locked. With ``renew_lifetime`` not
    ``None`` every token is revoked and a new one returned (in clear), else
    ``None``. Returns ``(user, token)``."""
    unknown = set(changes) - set(MODIFIABLE_FIELDS)
    if unknown:
        raise ValueError("cannot change %s of a user" % ", ".join(sorted(unknown)))
    token = None
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        for field, value in changes.items():
            setattr(user, field, value)
        if changes:
            user.save()
        if renew_lifetime is not None:
            token = renew_token(user, renew_lifetime)
    return user, token


def revoke_tokens(user, token_id=None):
    """Revoke every live token of ``user`` (or only the one with ``token_id``);
    returns how many were revoked."""
    query = AuthToken.objects.filter(user=user, revoked=False)
    if token_id is not None:
        query = query.filter(pk=token_id)
    return query.update(revoked=True)


def set_suspended(user, suspended):
    """Suspend (or release) ``user``: its tokens stop (start) authenticating and
    every live server of it is suspended (released) too, in one transaction.
    Returns ``(user, number of servers changed)``."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        user.active = not suspended
        user.save()
        changed = (VirtualMachine.objects.filter(userid=user.uniq, deleted=False)
                   .exclude(suspended=suspended).update(suspended=suspended))
    return user, changed
