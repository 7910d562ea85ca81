"""Writes of the audit log."""

from __future__ import annotations

from django.db import models
from django.http import HttpRequest

from audit.models import AuditEntry


def audit_view_record(*, request: HttpRequest, obj: models.Model) -> AuditEntry:
    """Record that the signed-in staff member opened this object's admin page."""
    return AuditEntry.objects.create(
        user=request.user,
        username=request.user.get_username(),
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        path=request.get_full_path()[:500],
    )


def audit_admin_view(*, request: HttpRequest, response) -> None:
    """Record an admin change page that was shown (a GET that rendered its object), not a refused or missing one."""
    original = getattr(response, "context_data", None) and response.context_data.get("original")
    if request.method == "GET" and response.status_code == 200 and original is not None:
        audit_view_record(request=request, obj=original)
