"""Fault switches: realistic defects the reference target can be told to have.

The harness is only trustworthy if it fails when the server is wrong, so each switch below
reproduces a defect seen (or easily made) in real Channels deployments. Switch them on with
``--faults a,b`` or ``TARGET_FAULTS=a,b``; the active set lives in the Django setting
``TARGET_FAULTS`` so tests can override it per test.
"""

from __future__ import annotations

from collections.abc import Iterable

FAULTS: dict[str, str] = {
    "http_only": (
        "The ASGI module falls back to Django's HTTP-only app, as when the Channels imports "
        "fail: every WebSocket handshake answers HTTP 404, /healthz still works."
    ),
    "no_anonymous_slashless": (
        "The anonymous route is declared as ^ws/permissions/anonymous/$, so the slashless "
        "URL (the one in the original incident) fails the handshake."
    ),
    "no_user_route": "The ^ws/permissions/<user_id>/$ route is missing from the router.",
    "no_group_join": (
        "Connections never join their groups, so pushes are silently lost, while "
        "connection_confirmed still claims the groups."
    ),
    "heartbeat_silent": "heartbeat and ping get no reply at all.",
    "heartbeat_slow": "heartbeat_response comes 2 s late (other connections are not blocked).",
    "wrong_request_id": "permission_check_response echoes a request_id other than the one sent.",
    "error_shape": "error frames lack error_code (only a free-text 'error' field).",
    "crash_on_bad_json": "Invalid JSON closes the socket with 1011 instead of an error frame.",
    "cross_user": (
        "The <user_id> route accepts any authenticated user and joins the group of the id "
        "in the path, so user A receives user B's pushes."
    ),
    "leak_to_anonymous": "The notifier also sends every user push to anonymous_users.",
    "token_downgrade": (
        "A bad token silently becomes an anonymous connection (the original's policy) "
        "instead of close 4001."
    ),
    "no_confirmation": "connection_confirmed is never sent.",
    "slow_accept": "The handshake completes only after 3 s.",
    "any_origin": "Origin validation is off: any Origin header is accepted.",
}


class UnknownFaultError(ValueError):
    """Raised for fault names that are not in :data:`FAULTS`."""


def parse(spec: str | Iterable[str] | None) -> frozenset[str]:
    """Turn ``"a,b"`` (or an iterable of names) into a validated set of fault names."""
    if spec is None:
        return frozenset()
    names = spec.split(",") if isinstance(spec, str) else list(spec)
    chosen = frozenset(name.strip() for name in names if name.strip())
    unknown = sorted(chosen - FAULTS.keys())
    if unknown:
        raise UnknownFaultError(
            f"unknown fault(s): {', '.join(unknown)}; valid faults: {', '.join(FAULTS)}"
        )
    return chosen


def active() -> frozenset[str]:
    """The faults switched on for this process (read at call time, so tests can override)."""
    from django.conf import settings

    return frozenset(getattr(settings, "TARGET_FAULTS", frozenset()))


def is_active(name: str) -> bool:
    """True when fault ``name`` is on; a typo in the code is a bug, hence the KeyError."""
    if name not in FAULTS:
        raise KeyError(f"no such fault: {name}")
    return name in active()
