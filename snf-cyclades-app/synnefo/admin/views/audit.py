"""The audit log page."""

from django.views.decorators.csrf import csrf_protect
from synnefo.admin import audit
from synnefo.admin.auth import staff_required
from synnefo.admin.views.common import page


@staff_required
@csrf_protect
def audit_list(request):
    actor = request.GET.get("actor", "").strip()[:128]
    return page(request, "admin/audit.html", {"actor": actor, "rows": audit.entries(actor=actor, limit=200)},
                "audit")
