"""The audit log of the admin web: who did what to which object, why, when,
and how it ended."""

from django.db import models
from django.db.models import Q


class AuditEntry(models.Model):
    when = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.CharField(max_length=128, help_text="uniq of the staff user")
    action = models.CharField(max_length=64, help_text="e.g. server-stop, backend-drain")
    target = models.CharField(max_length=255, help_text="e.g. server 12, backend 1, user alice")
    reason = models.TextField()
    outcome = models.CharField(max_length=1000, help_text="'done' or why it was refused")

    class Meta:
        ordering = ["-when", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(actor=""), name="audit_actor_not_empty"),
            models.CheckConstraint(condition=~Q(reason=""), name="audit_reason_not_empty"),
        ]

    def __str__(self):
        return "%s %s %s %s" % (self.when, self.actor, self.action, self.target)
