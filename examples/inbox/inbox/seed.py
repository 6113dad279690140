"""Demo members, with fixed UUIDs so that a harness config can name them."""

from __future__ import annotations

from django.contrib.auth.models import User

from inbox.models import Member

MEMBERS = [
    # username, password, uuid, team, permissions
    (
        "ada",
        "ada-pass",
        "3f2b8c1e-5a47-4d0e-9b6a-1c2d3e4f5a6b",
        "red",
        ["notes:read", "notes:write"],
    ),
    ("bob", "bob-pass", "7c9d0e1f-2a3b-4c5d-8e6f-7a8b9c0d1e2f", "blue", ["notes:read"]),
    (
        "cy",
        "cy-pass",
        "b1e2d3c4-f5a6-4b7c-9d8e-0f1a2b3c4d5e",
        "red",
        ["notes:read", "members:manage"],
    ),
]


def seed() -> None:
    for username, password, uuid, team, perms in MEMBERS:
        user, _ = User.objects.get_or_create(username=username)
        user.set_password(password)
        user.save()
        Member.objects.update_or_create(
            user=user, defaults={"uuid": uuid, "team": team, "perms": perms}
        )
