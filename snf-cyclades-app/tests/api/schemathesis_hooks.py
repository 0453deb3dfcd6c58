"""schemathesis hooks of the API contract run (SCHEMATHESIS_HOOKS=schemathesis_hooks).

``documented_rejections_only`` replaces the built-in ``positive_data_acceptance``
check: a schema-valid request must be accepted, except when the API refuses
it for one of the rules below, which depend on the state of the deployment or
relate two values, and which no OpenAPI schema can express (each is in
docs/api.rst). Any other 4xx answer to a schema-valid request fails the run.
"""

import json
import re

import schemathesis

# (status, fault message pattern)
DOCUMENTED_RULES = [
    # state of the server (pending tasks, power state, deletion)
    (400, r"^Cannot (perform|start|stop|reboot) "),
    (400, r"^Server has been deleted\.$"),
    (400, r"^Server not in ACTIVE state\.$"),
    # time window of changes-since (POLL_LIMIT, the clock)
    (400, r"^(changes-since value set in the future|Too old changes-since value)\.$"),
    # the body's key must be the URL's key
    (400, r"^The body must hold exactly the key of the URL\.$"),
    # metadata count: the items already there count too
    (400, r"^Maximum number of metadata items \(\d+\) exceeded\.$"),
    # map keys: OpenAPI 3.0 cannot constrain them (the document says it with
    # propertyNames, which only OpenAPI 3.1 tools read)
    (400, r"^(Metadata keys must be non-empty strings|Metadata key (is )?longer than \d+ characters)\.$"),
    # addresses given as strings: CIDR / gateway syntax and consistency
    (400, r"^(Invalid network CIDR|Invalid gateway|Gateway .* is not a host address|"
          r"Invalid IPv6 CIDR|Invalid IPv6 gateway|IPv6 gateway .* is not in|"
          r"Invalid (cidr|cidr6|gateway|gateway6)\.$)"),
    (400, r"^NIC .* is not connected to network"),
    # limits and pools
    (413, r".*"),
    (421, r".*"),  # networkInUse
]
ACCEPTED = set(range(200, 400)) | {401, 403, 404, 409, 429}


def fault_message(response):
    try:
        body = json.loads(response.content)
        ((_, fault),) = body.items()
        return str(fault.get("message", ""))
    except (ValueError, TypeError, AttributeError):
        return ""


@schemathesis.check
def documented_rejections_only(ctx, response, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    status = response.status_code
    if status in ACCEPTED or status >= 500:  # 5xx: not_a_server_error's business
        return None
    message = fault_message(response)
    for code, pattern in DOCUMENTED_RULES:
        if status == code and re.search(pattern, message):
            return None
    raise AssertionError("Schema-valid request rejected with %d: %r" % (status, message))
