"""A member: a Django user with a public UUID, a team and permissions ("notes:read")."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Member(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    uuid = models.UUIDField(default=uuid.uuid4, unique=True)
    team = models.CharField(max_length=40)
    perms = models.JSONField(default=list)
