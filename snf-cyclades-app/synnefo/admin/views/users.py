"""Users: limits and usage, tokens, suspension."""

from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_protect
from synnefo.admin import audit, charts
from synnefo.admin.auth import staff_required
from synnefo.admin.views.common import act, page, refused_action, url
from synnefo.db.models import User, VirtualMachine
from synnefo.logic import users as user_logic

PAGE_SIZE = 100


@staff_required
@csrf_protect
def user_list(request):
    text = request.GET.get("q", "").strip()[:255]
    query = User.objects.order_by("uniq")
    if text:
        query = query.filter(Q(uniq__icontains=text) | Q(name__icontains=text) | Q(email__icontains=text))
    rows = list(query[:PAGE_SIZE + 1])
    return page(request, "admin/users.html", {"q": text, "rows": rows[:PAGE_SIZE],
                                              "more": len(rows) > PAGE_SIZE}, "users")


@staff_required
@csrf_protect
def user_detail(request, user_id):
    user = get_object_or_404(User, pk=user_id)
    usage = user_logic.usage(user)
    bars = [charts.bar("Live servers of the limit", *usage["servers"]),
            charts.bar("Private networks of the limit", *usage["networks"])]
    return page(request, "admin/user.html", {
        "user": user, "bars": bars,
        "tokens": user.tokens.order_by("-id")[:50],
        "servers": VirtualMachine.objects.filter(userid=user.uniq, deleted=False).order_by("id"),
        "audit": audit.entries(target=_target(user), limit=20),
    }, "users")


def _target(user):
    return "user %s" % user.uniq


def _revoke(user, token_id):
    count = user_logic.revoke_tokens(user, token_id)
    return "%d token(s) revoked" % count


def _suspend(user, suspended):
    _, servers = user_logic.set_suspended(user, suspended)
    return "%d server(s) %s" % (servers, "suspended" if suspended else "released")


USER_ACTIONS = ("revoke-tokens", "suspend", "unsuspend")


@staff_required
@csrf_protect
def user_action(request, user_id, action):
    refused = refused_action(request, action in USER_ACTIONS, "users")
    if refused:
        return refused
    user = get_object_or_404(User, pk=user_id)
    if action == "revoke-tokens":
        token = request.POST.get("token_id", "")
        token_id = int(token) if token.isdigit() else None
        name = "token-revoke" if token_id is not None else "tokens-revoke-all"
        run = lambda: _revoke(user, token_id)  # noqa: E731
    else:
        name = "user-" + action
        run = lambda: _suspend(user, action == "suspend")  # noqa: E731
    return act(request, name, _target(user), run, url("admin-user", user.id))
