"""What every admin page shares: rendering with the CSRF token and the
result of the last action, and running an action with its audit entry."""

from django.http import HttpResponseNotAllowed
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from synnefo.admin import audit
from synnefo.admin.models import AuditEntry
from synnefo.logic.errors import LogicError
from synnefo.rapi import GanetiApiError

# No script at all: the pages are plain HTML forms; styles from our own file.
CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'self'; img-src 'self' data:; "
                           "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


def protect(response):
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response["X-Content-Type-Options"] = "nosniff"
    # same-origin, not no-referrer: with no-referrer the browser sends "Origin: null" on
    # our own form posts, which CSRF protection rightly refuses.
    response["Referrer-Policy"] = "same-origin"
    response["Cache-Control"] = "no-store"
    return response


def last_entry(request):
    """The audit entry named by ``?entry=`` if the signed-in user wrote it."""
    entry_id = request.GET.get("entry", "")
    if not entry_id.isdigit() or getattr(request, "staff", None) is None:
        return None
    return AuditEntry.objects.filter(pk=int(entry_id), actor=request.staff.uniq).first()


def page(request, template, context, section, status=200):
    context = dict(context, csrf_token=get_token(request), staff=getattr(request, "staff", None),
                   section=section, entry=last_entry(request))
    # ?error= names one of our own messages (a link cannot make the page say anything else).
    context.setdefault("error", audit.REASON_ERRORS.get(request.GET.get("error", ""), ""))
    return protect(render(request, template, context, status=status))


def refused_action(request, known, section):
    """Why an action request cannot run: not a POST (405), an action name
    not in ``known`` (404); ``None`` when it may."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not known:
        return page(request, "admin/missing.html", {}, section, status=404)
    return None


def act(request, action, target, run, back):
    """Run ``run()`` for the signed-in staff user with the reason of the form,
    record it (also when refused) and go back to ``back`` (a URL) showing the
    outcome. A missing reason runs nothing and records nothing."""
    try:
        reason = audit.checked_reason(request.POST.get("reason"))
    except audit.ReasonMissing as exc:
        return redirect("%s?error=%s" % (back, exc.code))
    try:
        detail = run()  # a text to show, or anything else (shown as plain "done")
        outcome = "done" + (": %s" % detail if isinstance(detail, str) and detail else "")
    except LogicError as exc:
        outcome = "refused: %s" % exc.message
    except GanetiApiError as exc:
        outcome = "refused: Ganeti: %s" % exc
    entry = audit.record(request.staff.uniq, action, target, reason, outcome)
    return redirect("%s?entry=%d" % (back, entry.id))


def url(name, *args):
    return reverse(name, args=args)
