"""Writing and reading the audit log (``AuditEntry``)."""

from synnefo.admin.models import AuditEntry

MAX_REASON = 1000


class ReasonMissing(ValueError):
    """An action was asked for without a usable reason; ``code`` names which."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


REASON_ERRORS = {
    "reason-missing": "Give a reason: every admin action is recorded with one.",
    "reason-too-long": "The reason is too long (at most %d characters)." % MAX_REASON,
}


def checked_reason(text):
    """The reason of an action, stripped; refuses an empty or too long one."""
    reason = (text or "").strip()
    if not reason:
        raise ReasonMissing("reason-missing", REASON_ERRORS["reason-missing"])
    if len(reason) > MAX_REASON:
        raise ReasonMissing("reason-too-long", REASON_ERRORS["reason-too-long"])
    return reason


def record(actor, action, target, reason, outcome):
    return AuditEntry.objects.create(actor=actor, action=action, target=target, reason=reason,
                                     outcome=(outcome or "done")[:1000])


def entries(actor=None, target=None, limit=100):
    query = AuditEntry.objects.all()
    if actor:
        query = query.filter(actor=actor)
    if target:
        query = query.filter(target=target)
    return list(query[:limit])
