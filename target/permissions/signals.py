"""Model signals that turn real data changes into pushes to the affected user.

* ``Profile.role`` changes            -> ``role_updated``
* a ``UserPermission`` added/removed  -> ``permission_changed``
* ``User.groups`` membership changes  -> ``menu_access_changed``

Pushes are sent on transaction commit, so a rolled-back change never reaches a browser.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

from target.permissions import notifications
from target.permissions.models import Profile, UserPermission, permission_names


def _push_on_commit(user_id: int, push_type: str, build_data: Any) -> None:
    """Defer the push until commit; ``build_data`` runs then, so it sees committed state."""
    if notifications.is_suppressed():
        return
    transaction.on_commit(
        lambda: notifications.notify_user(user_id, push_type, {"userId": user_id, **build_data()})
    )


def remember_old_role(sender: type[Profile], instance: Profile, **kwargs: Any) -> None:
    instance._old_role = (  # type: ignore[attr-defined]
        Profile.objects.filter(pk=instance.pk).values_list("role", flat=True).first()
        if instance.pk
        else None
    )


def role_saved(sender: type[Profile], instance: Profile, created: bool, **kwargs: Any) -> None:
    old_role = getattr(instance, "_old_role", None)
    if created or old_role == instance.role:
        return
    user_id = instance.user_id
    _push_on_commit(
        user_id,
        "role_updated",
        lambda: {
            "oldRole": old_role,
            "newRole": instance.role,
            "permissions": permission_names(user_id),
        },
    )


def _permission_changed(instance: UserPermission, change: str) -> None:
    user_id = instance.user_id
    _push_on_commit(
        user_id,
        "permission_changed",
        lambda: {
            "permissions": permission_names(user_id),
            "action": change,
            "resource": instance.resource,
            "permission": str(instance),
        },
    )


def permission_saved(
    sender: type[UserPermission], instance: UserPermission, created: bool, **kwargs: Any
) -> None:
    if created:
        _permission_changed(instance, "added")


def permission_deleted(
    sender: type[UserPermission], instance: UserPermission, **kwargs: Any
) -> None:
    _permission_changed(instance, "removed")


def groups_changed(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: set[int] | None, **kwargs: Any
) -> None:
    """``user.groups.add(g)`` (forward) and ``group.user_set.add(u)`` (reverse) both land here."""
    if action not in {"post_add", "post_remove", "post_clear"}:
        return
    change = action.removeprefix("post_")
    if reverse:
        user_ids = sorted(pk_set or [])
        group_names = [instance.name]
    else:
        user_ids = [instance.pk]
        group_names = sorted(
            Group.objects.filter(pk__in=pk_set or []).values_list("name", flat=True)
        )
    for user_id in user_ids:
        _push_on_commit(
            user_id,
            "menu_access_changed",
            lambda user_id=user_id: {
                "menuChanges": {
                    "change": change,
                    "groups": group_names,
                    "currentGroups": sorted(
                        Group.objects.filter(user__id=user_id).values_list("name", flat=True)
                    ),
                }
            },
        )


def connect() -> None:
    user_model = get_user_model()
    pre_save.connect(remember_old_role, sender=Profile, dispatch_uid="target.role.pre")
    post_save.connect(role_saved, sender=Profile, dispatch_uid="target.role.post")
    post_save.connect(permission_saved, sender=UserPermission, dispatch_uid="target.perm.add")
    post_delete.connect(permission_deleted, sender=UserPermission, dispatch_uid="target.perm.del")
    m2m_changed.connect(
        groups_changed, sender=user_model.groups.through, dispatch_uid="target.groups"
    )
