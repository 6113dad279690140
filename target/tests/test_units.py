"""Unit checks: fault parsing, notify-body validation, the seed and the template database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from target import bootstrap, faults
from target.permissions import notifications
from target.permissions.models import Profile, permission_names
from target.permissions.seed import seed


def test_fault_parsing() -> None:
    assert faults.parse("") == frozenset()
    assert faults.parse(" http_only, any_origin ,") == {"http_only", "any_origin"}
    with pytest.raises(faults.UnknownFaultError, match="valid faults: http_only"):
        faults.parse("http_only,nope")


def test_every_fault_has_a_description() -> None:
    assert all(len(doc) > 20 for doc in faults.FAULTS.values())
    assert len(faults.FAULTS) >= 30  # a catalogue of at least 30 switches (issue 12)


@pytest.mark.parametrize(
    ("body", "groups"),
    [
        ({"type": "role_updated", "user_id": 2}, ["user_2"]),
        ({"type": "role_updated", "role": "teacher"}, ["role_teacher"]),
        ({"type": "system_notification", "global": True}, ["global_notifications"]),
        (
            {"type": "role_updated", "user_id": 2, "subscribers": True},
            ["notification_role_updated_2"],
        ),
    ],
)
def test_notify_targets(body: dict, groups: list[str]) -> None:
    assert notifications.parse_request(body).groups() == groups


def test_seeded_users_exactly() -> None:
    users = {u.pk: u for u in get_user_model().objects.filter(pk__lte=4)}
    expected = {
        1: ("admin", "admin", "admins", True, True),
        2: ("teacher", "teacher", "teachers", False, True),
        3: ("student", "student", "students", False, True),
        4: ("inactive", "student", "students", False, False),
    }
    for pk, (username, role, group, superuser, active) in expected.items():
        user = users[pk]
        assert user.username == username and user.check_password(f"{username}-pass")
        assert Profile.objects.get(user=user).role == role
        assert list(user.groups.values_list("name", flat=True)) == [group]
        assert (user.is_superuser, user.is_staff, user.is_active) == (superuser, superuser, active)
    assert permission_names(1) == sorted(
        ["users.manage", "grades.view", "grades.edit", "courses.view", "courses.edit"]
    )
    assert permission_names(2) == ["courses.view", "grades.edit", "grades.view"]
    assert permission_names(3) == ["courses.view", "grades.view"]
    assert permission_names(4) == ["grades.view"]
    assert dict(Group.objects.values_list("pk", "name")) == {
        1: "admins",
        2: "teachers",
        3: "students",
    }


def test_seed_is_idempotent_and_restores() -> None:
    teacher = get_user_model().objects.get(pk=2)
    teacher.resource_permissions.create(resource="extra", action="thing")
    counts = (get_user_model().objects.count(), Group.objects.count())
    seed()
    seed()
    assert (get_user_model().objects.count(), Group.objects.count()) == counts
    assert permission_names(2) == ["courses.view", "grades.edit", "grades.view"]


def test_template_database_is_published_and_copied(tmp_path: Path) -> None:
    template = bootstrap.template_path()
    assert template.exists()
    copy = tmp_path / "copy.sqlite3"
    bootstrap.copy_sqlite(template, copy)
    with sqlite3.connect(copy) as db:
        assert db.execute("select count(*) from auth_user").fetchone()[0] == 4
