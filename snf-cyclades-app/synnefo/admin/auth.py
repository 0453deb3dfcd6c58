"""Who may use the admin web: staff users, signed in with one of their API
tokens. The token travels in a signed, HttpOnly, SameSite=Strict cookie and
is checked again on every request (``logic.users.authenticate``): a revoked
or expired token, a suspended user or a dropped staff flag end the session
at once. Anyone else gets the sign-in page and nothing else."""

import functools

from django.core import signing
from django.shortcuts import redirect
from synnefo.logic import users

COOKIE = "snf_admin"
COOKIE_SALT = "synnefo.admin.session"
COOKIE_PATH = "/admin/"
SESSION_SECONDS = 8 * 3600
REFUSED = "Sign-in refused: this token does not belong to a staff user."


def staff_user(token):
    """The staff user owning ``token`` (a live token of an active user), or ``None``.
    Unknown, revoked and non-staff tokens are refused alike."""
    user = users.authenticate(token)
    if user is None or not user.staff:
        return None
    return user


def user_of(request):
    """The staff user of the request's session cookie, or ``None``."""
    try:
        token = request.get_signed_cookie(COOKIE, salt=COOKIE_SALT, max_age=SESSION_SECONDS)
    except (KeyError, signing.BadSignature):
        return None
    return staff_user(token)


def start_session(response, request, token):
    response.set_signed_cookie(COOKIE, token, salt=COOKIE_SALT, max_age=SESSION_SECONDS,
                               path=COOKIE_PATH, httponly=True, samesite="Strict",
                               secure=request.is_secure())
    return response


def end_session(response):
    response.delete_cookie(COOKIE, path=COOKIE_PATH, samesite="Strict")
    return response


def staff_required(view):
    """Run ``view(request, ...)`` with ``request.staff`` set, or send the
    browser to the sign-in page (a POST is never run)."""
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        user = user_of(request)
        if user is None:
            return end_session(redirect("admin-login"))
        request.staff = user
        return view(request, *args, **kwargs)
    return wrapper
