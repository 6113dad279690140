"""Roles and ``<resource>.<action>`` permissions attached to Django users."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin"
    TEACHER = "teacher"
    STUDENT = "student"


class Profile(models.Model):
    """One per user; holds the role (changing it pushes ``role_updated``)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    role = models.CharField(max_length=32, choices=Role.choices, default=Role.STUDENT)

    def __str__(self) -> str:
        return f"{self.user_id}:{self.role}"


class UserPermission(models.Model):
    """A permission ``<resource>.<action>`` granted to one user (changes push
    ``permission_changed``)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="resource_permissions"
    )
    resource = models.CharField(max_length=64)
    action = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "resource", "action"], name="unique_user_permission"
            )
        ]
        ordering = ["resource", "action"]

    def __str__(self) -> str:
        return f"{self.resource}.{self.action}"


def permission_names(user_id: int | None) -> list[str]:
    """Sorted ``resource.action`` names held by a user; anonymous (None/0) holds none."""
    if not user_id:
        return []
    rows = UserPermission.objects.filter(user_id=user_id).values_list("resource", "action")
    return sorted(f"{resource}.{action}" for resource, action in rows)


def has_permission(user_id: int | None, resource: str, action: str) -> bool:
    if not user_id:
        return False
    return UserPermission.objects.filter(user_id=user_id, resource=resource, action=action).exists()


def role_of(user_id: int | None) -> str | None:
    if not user_id:
        return None
    return Profile.objects.filter(user_id=user_id).values_list("role", flat=True).first()
