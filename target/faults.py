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
    # --- extra frames ---------------------------------------------------------------------
    "extra_reply": (
        "Every heartbeat_response is sent twice (the handler is wired up twice), so each "
        "heartbeat or ping gets one reply nobody asked for."
    ),
    "hello_gets_error": (
        "The client's connect hello is not in the handler table: it gets an "
        "UNKNOWN_MESSAGE_TYPE error instead of no reply."
    ),
    # --- missing frames -------------------------------------------------------------------
    "unknown_type_silent": (
        "A message whose type is a string the server does not know is dropped silently "
        "(no UNKNOWN_MESSAGE_TYPE error)."
    ),
    "global_skips_anonymous": (
        "Anonymous connections never join global_notifications, so global pushes miss them."
    ),
    # --- wrong message types ----------------------------------------------------------------
    "wrong_reply_type": (
        "ping is answered with a 'pong' frame, a type the contract does not document "
        "(heartbeat still gets heartbeat_response)."
    ),
    "denied_as_error": (
        "A permission the connection lacks is answered with an error frame "
        "(PERMISSION_DENIED) instead of a permission_check_response with has_permission false."
    ),
    # --- wrongly typed, missing or wrong fields ------------------------------------------------
    "reply_field_type": "heartbeat_response carries server_time as a string, not a number.",
    "missing_reply_field": "permission_check_response lacks has_permission.",
    "subscribe_echo_empty": "subscription_confirmed always lists no subscribed_types.",
    "missing_params_code": (
        "A permission_check without resource or action fails inside the server (a KeyError): "
        "INTERNAL_ERROR instead of missing_parameters."
    ),
    "confirm_wrong_user": (
        "connection_confirmed is sent before the token's user is loaded, so users are "
        "confirmed as anonymous (user_id 0, anonymous_users); their groups are still joined."
    ),
    "anonymous_route_keeps_token": (
        "The anonymous route serves a connection with a valid token as that user instead of "
        "ignoring the token."
    ),
    # --- broken correlation ---------------------------------------------------------------------
    "request_id_dropped": "permission_check_response carries no request_id at all.",
    # --- wrong close codes ----------------------------------------------------------------------
    "forbidden_code": (
        "Another user's id in the <user_id> route closes 4001 (not authenticated) instead of "
        "4003 (forbidden)."
    ),
    # --- wrong recipients -----------------------------------------------------------------------
    "push_to_other_user": (
        "An off-by-one in the notifier: a push to user N also goes to user_<N+1>."
    ),
    "role_push_to_all": (
        "A push to a role is broadcast to global_notifications (everyone online), leaving the "
        "role filter to the clients."
    ),
    "unsubscribe_ignored": (
        "unsubscribe_notifications is confirmed, but the subscription group is never left, so "
        "subscribed pushes keep coming."
    ),
    "subscription_shared": (
        "Subscription groups are named notification_<type> without the user id, so a push "
        "to one user's subscribers reaches every user subscribed to that type."
    ),
    # --- duplicate deliveries -------------------------------------------------------------------
    "duplicate_push": (
        "Pushes to a user (user_id targets, subscribers included) are sent twice, as when "
        "both a signal and the view send them."
    ),
    # --- connections closed early ----------------------------------------------------------------
    "close_after_error": "The connection is closed (1000) right after every error frame.",
    "close_early": (
        "Every accepted connection is closed (1000) 1.5 s after it opened: a session lifetime "
        "configured in seconds where minutes were meant."
    ),
    "small_size_limit": (
        "The message size limit is half the documented 64 KiB: frames over 32 KiB close 1009."
    ),
    # --- connections kept open when they must close ------------------------------------------
    "binary_ignored": "Binary frames are ignored instead of closing the connection with 1003.",
    "no_size_limit": (
        "The consumer does not enforce the 64 KiB limit: an oversized text frame is served "
        "instead of closing 1009 (the server's own backstop is at 128 KiB)."
    ),
    "owner_route_anonymous": (
        "The <user_id> route accepts an anonymous connection (as anonymous) instead of "
        "closing 4001."
    ),
    # --- the doctor's cases (deny_unrouted is still a refusal: no scenario fails) -----
    "deny_unrouted": (
        "A catch-all route refuses every path no other route matches (its consumer closes "
        "before accept, so Daphne answers HTTP 403) instead of URLRouter's HTTP 500."
    ),
    "no_channel_layer": (
        "The consumers find no channel layer, as in a project without CHANNEL_LAYERS: "
        "connect() accepts, then raises AttributeError on group_add, so every connection "
        "not refused for auth closes 1011 right after accept and the server logs the exception."
    ),
    # --- scale-out -------------------------------------------------------------------------
    "memory_layer": (
        "The server ignores REDIS_URL and keeps Channels' in-memory layer: alone it serves "
        "every push, but as one of several replicas it never hears the others' pushes (and "
        "they never hear its own)."
    ),
}

# Switches that change behaviour the contract allows (so no conformance scenario fails):
# they give the doctor's diagnoses a real server to compare against.
# memory_layer: one server alone is correct with any layer; only replicas show it, so the
# replica suite catches it (tests/replicas, --ws-replica-env 1:TARGET_FAULTS=memory_layer).
CONTRACT_COMPLIANT = frozenset({"deny_unrouted", "memory_layer"})


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
