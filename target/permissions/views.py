"""HTTP API: login (DRF token or JWT), the staff-only push endpoint, and /healthz."""

from __future__ import annotations

import os
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.contrib.auth import authenticate
from django.http import HttpRequest, JsonResponse
from rest_framework import status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny, IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView, exception_handler

import target
from target import dialect, faults
from target.permissions import notifications
from target.permissions.auth import issue_jwt


def json_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus an ``error`` key so every error body has the same shape."""
    response = exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" in response.data:
        response.data["error"] = str(response.data["detail"])
    return response


def error(message: str, field: str | None, code: int) -> Response:
    body = {"error": message}
    if field:
        body["field"] = field
    return Response(body, status=code)


class LoginView(APIView):
    """``POST /api/auth/token/`` ``{"username", "password"[, "kind": "jwt"]}``."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def post(self, request: Request) -> Response:
        body = request.data if isinstance(request.data, dict) else {}
        username, password = body.get("username"), body.get("password")
        for name, value in (("username", username), ("password", password)):
            if not isinstance(value, str) or not value:
                return error(f"{name} is required", name, status.HTTP_400_BAD_REQUEST)
        kind = request.query_params.get("kind") or body.get("kind") or "drf"
        if kind not in {"drf", "token", "jwt"}:
            return error("kind must be 'drf' or 'jwt'", "kind", status.HTTP_400_BAD_REQUEST)
        user = authenticate(request._request, username=username, password=password)
        if user is None:  # wrong password, unknown user, or inactive user
            return error("invalid credentials", None, status.HTTP_401_UNAUTHORIZED)
        token = (
            issue_jwt(user.pk) if kind == "jwt" else Token.objects.get_or_create(user=user)[0].key
        )
        return Response(
            {"token": token, "user_id": user.pk, "kind": "jwt" if kind == "jwt" else "drf"}
        )


class NotifyView(APIView):
    """``POST /api/permissions/notify/`` (staff only): send one push, answer 202."""

    permission_classes = [IsAdminUser]

    def post(self, request: Request) -> Response:
        try:
            notify_request = notifications.parse_request(request.data)
        except notifications.InvalidNotification as exc:
            return error(exc.message, exc.field, status.HTTP_400_BAD_REQUEST)
        sent_to = async_to_sync(notifications.send)(notify_request)
        push_type = notify_request.type
        if dialect.active():
            push_type = dialect.wire_name(push_type)
        return Response({"sent_to": sent_to, "type": push_type}, status=status.HTTP_202_ACCEPTED)


def healthz(request: HttpRequest) -> JsonResponse:
    """Which server answered: the harness compares pid/instance_id with the one it started."""
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    return JsonResponse(
        {
            "status": "ok",
            "pid": os.getpid(),
            "instance_id": target.INSTANCE_ID,
            "version": target.__version__,
            "channel_layer": type(layer).__name__ if layer is not None else None,
            "faults": sorted(faults.active()),
            "confirm_on": settings.TARGET_CONFIRM_ON,
            "bad_token_policy": settings.TARGET_BAD_TOKEN_POLICY,
        }
    )
