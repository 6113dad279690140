"""Idempotent seed of the four users the harness configuration depends on.

Primary keys are explicit so ids are stable across runs. Running it again restores the seeded
state (role, groups, permissions, flags, password) without duplicating anything, and without
pushing: seeding is not a change a connected client should hear about.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from target.permissions.models import Profile, UserPermission
from target.permissions.notifications import suppressed

GROUPS: dict[int, str] = {1: "admins", 2: "teachers", 3: "students"}


@dataclass(frozen=True)
class SeedUser:
    id: int
    username: str
    password: str
    role: str
    group_id: int
    permissions: tuple[str, ...]
    superuser: bool = False
    active: bool = True


USERS: tuple[SeedUser, ...] = (
    SeedUser(
        1,
        "admin",
        "admin-pass",
        "admin",
        1,
        ("users.manage", "grades.view", "grades.edit", "courses.view", "courses.edit"),
        superuser=True,
    ),
    SeedUser(
        2, "teacher", "teacher-pass", "teacher", 2, ("grades.view", "grades.edit", "courses.view")
    ),
    SeedUser(3, "student", "student-pass", "student", 3, ("grades.view", "courses.view")),
    SeedUser(4, "inactive", "inactive-pass", "student", 3, ("grades.view",), active=False),
)


def _seed_user(spec: SeedUser) -> None:
    user_model = get_user_model()
    user = user_model.objects.filter(pk=spec.id).first() or user_model(pk=spec.id)
    user.username = spec.username
    user.is_superuser = user.is_staff = spec.superuser
    user.is_active = spec.active
    if not user.password or not user.check_password(spec.password):
        user.set_password(spec.password)
    user.save()
    Profile.objects.update_or_create(user=user, defaults={"role": spec.role})
    user.groups.set([spec.group_id])
    wanted = {tuple(name.split(".", 1)) for name in spec.permissions}
    have = set()
    for permission in UserPermission.objects.filter(user=user):
        key = (permission.resource, permission.action)
        if key in wanted:
            have.add(key)
        else:
            permission.delete()
    UserPermission.objects.bulk_create(
        UserPermission(user=user, resource=resource, action=action)
        for resource, action in sorted(wanted - have)
    )


def seed() -> None:
    with suppressed(), transaction.atomic():
        for group_id, name in GROUPS.items():
            Group.objects.update_or_create(pk=group_id, defaults={"name": name})
        for spec in USERS:
            _seed_user(spec)
