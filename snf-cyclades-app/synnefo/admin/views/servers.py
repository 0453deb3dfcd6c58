"""Servers of all users: the search, a server's page and its actions."""

from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_protect
from synnefo.admin import audit, search
from synnefo.admin.auth import staff_required
from synnefo.admin.views.common import act, page, refused_action, url
from synnefo.db.models import OPER_STATES, Backend, VirtualMachine
from synnefo.logic import servers as server_logic


@staff_required
@csrf_protect
def server_list(request):
    text = request.GET.get("q", "")[:255]
    backend = request.GET.get("backend", "")
    state = request.GET.get("state", "")
    if state not in OPER_STATES:
        state = ""
    backend_id = int(backend) if backend.isdigit() else None
    deleted = request.GET.get("deleted") == "1"
    searched = any((text, backend_id, state, deleted))
    rows, more = search.servers(text, backend_id, state, deleted) if searched else ([], False)
    return page(request, "admin/servers.html", {
        "q": text, "backend_id": backend_id, "state": state, "deleted": deleted, "searched": searched,
        "rows": rows, "more": more, "backends": Backend.objects.order_by("id"), "states": OPER_STATES,
    }, "servers")


@staff_required
@csrf_protect
def server_detail(request, vm_id):
    vm = get_object_or_404(VirtualMachine.objects.select_related("backend", "flavor"), pk=vm_id)
    return page(request, "admin/server.html", {
        "vm": vm,
        "nics": vm.nics.select_related("network").order_by("index"),
        "diagnostics": vm.diagnostics.order_by("-id")[:20],
        "actions": ACTIONS,
        "audit": audit.entries(target=_target(vm), limit=20),
    }, "servers")


def _target(vm):
    return "server %d" % vm.id


# name -> (button label, what runs); each calls the logic function the API or
# snf-manage calls, with the owner's id, so the same rules apply.
ACTIONS = {
    "shutdown": ("Shut down", lambda vm: server_logic.stop(vm.userid, vm.id)),
    "start": ("Start", lambda vm: server_logic.start(vm.userid, vm.id)),
    "reboot": ("Reboot", lambda vm: server_logic.reboot(vm.userid, vm.id)),
    "suspend": ("Suspend", lambda vm: server_logic.set_suspended(vm, True)),
    "unsuspend": ("Unsuspend", lambda vm: server_logic.set_suspended(vm, False)),
    "destroy": ("Destroy", lambda vm: server_logic.destroy(vm.userid, vm.id)),
}


@staff_required
@csrf_protect
def server_action(request, vm_id, action):
    refused = refused_action(request, action in ACTIONS, "servers")
    if refused:
        return refused
    vm = get_object_or_404(VirtualMachine, pk=vm_id)
    run = ACTIONS[action][1]
    return act(request, "server-" + action, _target(vm), lambda: run(vm) and None,
               url("admin-server", vm.id))
