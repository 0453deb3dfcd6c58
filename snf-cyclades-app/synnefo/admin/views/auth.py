"""Sign-in and sign-out of the admin web."""

from django.shortcuts import redirect
from django.views.decorators.csrf import csrf_protect
from synnefo.admin import auth
from synnefo.admin.views.common import page


@csrf_protect
def login(request):
    """GET: the sign-in form. POST: a staff token starts a session; any other
    token gets the same refusal (nothing says whether the token exists)."""
    if request.method == "POST":
        token = request.POST.get("token", "").strip()
        if auth.staff_user(token) is not None:
            return auth.start_session(redirect("admin-home"), request, token)
        return auth.end_session(page(request, "admin/login.html", {"error": auth.REFUSED}, "login",
                                     status=403))
    if request.method != "GET":
        return redirect("admin-login")
    return page(request, "admin/login.html", {}, "login")


@csrf_protect
def logout(request):
    if request.method != "POST":
        return redirect("admin-home")
    return auth.end_session(redirect("admin-login"))
