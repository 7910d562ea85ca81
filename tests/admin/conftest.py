from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client


def staff_with(*codenames: str, username: str = "narrow") -> Client:
    """A signed-in staff member holding only these permissions."""
    staff = get_user_model().objects.create_user(username, password="pw-narrow-1", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(staff)
    return client
