"""The audit log, read-only: who opened which conversation or recording, and when."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("at", "username", "object_type", "object_id", "object_repr")
    list_filter = ("object_type",)
    search_fields = ("username", "object_id", "object_repr")
    date_hierarchy = "at"
    readonly_fields = ("at", "user", "username", "object_type", "object_id", "object_repr", "path")
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # the log of who looked is not for the lookers to trim
