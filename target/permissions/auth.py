"""Token authentication shared by the WebSocket middleware and the HTTP API.

Two kinds of token are accepted, as in the original service: Django REST framework tokens
(``rest_framework.authtoken``) and, failing that, HS256 JWTs whose payload carries
``user_id`` (``exp`` is honoured when present). The JWT secret is the setting
``TARGET_JWT_SECRET`` (env ``TARGET_JWT_SECRET``, default
``reference-target-insecure-jwt-secret``). Inactive users are never authenticated.
"""

from __future__ import annotations

import time
from typing import Any

import jwt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.authtoken.models import Token
from rest_framework.request import Request


def issue_jwt(user_id: int, ttl_seconds: int | None = None) -> str:
    now = int(time.time())
    ttl = settings.TARGET_JWT_TTL_SECONDS if ttl_seconds is None else ttl_seconds
    payload = {"user_id": user_id, "iat": now, "exp": now + ttl}
    return jwt.encode(payload, settings.TARGET_JWT_SECRET, algorithm="HS256")


def user_for_jwt(raw: str) -> AbstractBaseUser | None:
    """The active user named by a valid HS256 JWT, else None."""
    try:
        payload: dict[str, Any] = jwt.decode(raw, settings.TARGET_JWT_SECRET, algorithms=["HS256"])
    except jwt.PyJWTError:
        return None
    user_id = payload.get("user_id")
    if isinstance(user_id, bool) or not isinstance(user_id, int):
        return None
    user = get_user_model().objects.filter(pk=user_id).first()
    return user if user is not None and user.is_active else None


def user_for_token(raw: str) -> AbstractBaseUser | None:
    """The active user for a DRF token key or, failing that, a JWT; None if neither is valid."""
    if not raw:
        return None
    token = Token.objects.select_related("user").filter(key=raw).first()
    if token is not None:
        return token.user if token.user.is_active else None
    return user_for_jwt(raw)


class BearerJWTAuthentication(BaseAuthentication):
    """DRF authentication for ``Authorization: Bearer <jwt>``."""

    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, str] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Invalid bearer header.")
        raw = parts[1].decode("latin1")
        user = user_for_jwt(raw)
        if user is None:
            raise exceptions.AuthenticationFailed("Invalid or expired token.")
        return user, raw

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"
