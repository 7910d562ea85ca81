"""Who opened what in the admin: the audit log of views of people's conversations and recordings.

At the bottom of the apps: it knows no other app's models (an entry names its object by type and id), so the
admins of chat and voice can write to it without an app depending on another both ways.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditEntry(models.Model):
    """One admin page of a person's data, opened by a staff member."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    username = models.CharField(max_length=150, help_text="Kept when the account is deleted.")
    object_type = models.CharField(max_length=100, help_text="app_label.model, e.g. chat.chatinstance")
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200)
    path = models.CharField(max_length=500)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")]

    def __str__(self) -> str:
        return f"{self.username} viewed {self.object_type} {self.object_id} at {self.at:%Y-%m-%d %H:%M}"
