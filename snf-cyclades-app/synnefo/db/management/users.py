"""Validation and display of users for the user-* commands."""

import re

from django.core.management.base import CommandError
from django.db.models import Q
from django.utils import timezone
from synnefo.db.management.common import MAX_TOKEN_LIFETIME_DAYS, checked_text, non_negative_int, when
from synnefo.logic.users import network_limit, vm_limit

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")


def checked_uniq(value):
    value = checked_text(value, "--uniq", 128, allow_empty=False)
    if any(c.isspace() for c in value):
        raise CommandError("--uniq must not contain spaces: %r" % value)
    return value


def checked_email(value):
    value = checked_text(value, "--email", 255)
    if value and not EMAIL_RE.match(value):
        raise CommandError("--email is not an e-mail address: %r" % value)
    return value


def checked_lifetime(value):
    """Days until a new token expires: 0 (never) up to 100 years."""
    if value is None:
        return None
    return non_negative_int(value, "--token-lifetime", maximum=MAX_TOKEN_LIFETIME_DAYS)


def default_lifetime():
    """``TOKEN_LIFETIME_DAYS``, checked like the option (a bad setting is an error, not a crash)."""
    from django.conf import settings
    value = settings.TOKEN_LIFETIME_DAYS
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_TOKEN_LIFETIME_DAYS:
        raise CommandError("setting TOKEN_LIFETIME_DAYS must be an integer from 0 to %d, not %r"
                           % (MAX_TOKEN_LIFETIME_DAYS, value))
    return value


def checked_limit(value, option):
    if value is None:
        return None
    return non_negative_int(value, option)


def valid_token_filter(prefix=""):
    """Q of the tokens that authenticate (not revoked, not expired); ``prefix`` e.g. ``tokens__``."""
    now = timezone.now()
    return (Q(**{prefix + "revoked": False})
            & (Q(**{prefix + "expires__isnull": True}) | Q(**{prefix + "expires__gt": now})))


def user_pairs(user):
    """Key/value pairs of ``user-show``: valid tokens by dates (never digests), the others counted."""
    from synnefo.db.models import Network, VirtualMachine
    servers = VirtualMachine.objects.filter(userid=user.uniq, deleted=False).count()
    networks = Network.objects.filter(userid=user.uniq, deleted=False, public=False).count()
    valid = list(user.tokens.filter(valid_token_filter()).order_by("id"))
    revoked = user.tokens.filter(revoked=True).count()
    expired = user.tokens.count() - revoked - len(valid)
    pairs = [
        ("id", user.id), ("uniq", user.uniq), ("name", user.name), ("email", user.email),
        ("active", user.active),
        ("max_vms", user.max_vms if user.max_vms is not None else "default"),
        ("vm_limit", vm_limit(user)), ("servers", servers),
        ("max_networks", user.max_networks if user.max_networks is not None else "default"),
        ("network_limit", network_limit(user)), ("networks", networks),
        ("valid_tokens", len(valid)), ("expired_tokens", expired), ("revoked_tokens", revoked),
        ("created", when(user.created)), ("updated", when(user.updated)),
    ]
    for token in valid:
        pairs.append(("token %d" % token.id, "created %s, expires %s"
                      % (when(token.created), when(token.expires) or "never")))
    return pairs


def print_new_token(command, user, token, lifetime_days):
    """The token in clear, once, as the line ``token: <token>`` (scripts parse it)."""
    command.stdout.write("token: %s" % token)
    if lifetime_days == 0:
        command.stdout.write("The token never expires. It is not stored and cannot be shown again.")
    else:
        command.stdout.write("The token expires in %d days. It is not stored and cannot be shown "
                             "again." % lifetime_days)
    if not user.active:
        command.stdout.write("The user is inactive: its tokens are refused until "
                             "snf-manage user-modify %s --active." % user.uniq)
