"""``POST /servers/{id}/action`` (spec 02-api §4.5).

The body holds exactly one action; its argument is an object. Unsupported
OpenStack actions answer serviceUnavailable, unknown ones badRequest, both
without side effects (the server is only looked up, so another user's
server is still 404).
"""

from synnefo.api.faults import BadRequest, ServiceUnavailable
from synnefo.api.server_views import server_id_of
from synnefo.api.util import api_method, get_request_dict, render, render_empty
from synnefo.logic import servers as logic

UNSUPPORTED_ACTIONS = ("changePassword", "rebuild", "resize", "confirmResize", "revertResize")


def no_arguments(args):
    if args:
        raise BadRequest("Malformed request")


def reboot(userid, server_id, args):
    logic.reboot(userid, server_id, args.get("type"))


def start(userid, server_id, args):
    no_arguments(args)
    logic.start(userid, server_id)


def shutdown(userid, server_id, args):
    no_arguments(args)
    logic.stop(userid, server_id)


def firewall_profile(userid, server_id, args):
    logic.set_firewall_profile(userid, server_id, args.get("profile"))


ACTIONS = {"reboot": reboot, "start": start, "shutdown": shutdown, "firewallProfile": firewall_profile}


@api_method("POST")
def server_action(request, server_id):
    server_id = server_id_of(server_id)
    body = get_request_dict(request)
    if len(body) != 1:
        raise BadRequest("Malformed request")
    ((action, args),) = body.items()
    if not isinstance(args, dict):
        raise BadRequest("Invalid argument")
    if action == "console":
        console = logic.console(request.userid, server_id, args.get("type"))
        return render(request, {"console": console})
    handler = ACTIONS.get(action)
    if handler is not None:
        handler(request.userid, server_id, args)
        return render_empty(202)
    logic.get_vm(request.userid, server_id)  # 404 for a server that is not the caller's
    if action in UNSUPPORTED_ACTIONS:
        raise ServiceUnavailable("Action %s not supported" % action)
    raise BadRequest("Unknown action")
