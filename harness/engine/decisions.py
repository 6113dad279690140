"""Decisions the runner needs, kept free of I/O so they can be tested (and reused) alone:
where a ``connect`` step connects and as whom, which reply answers a request, whom a push
goes to, and the frames a size-limit step sends.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.config import HarnessConfig, UserSpec
from harness.contract import Contract
from harness.engine.model import Connect, Push
from harness.push import PushRequest

FOREIGN_ORIGIN = "http://evil.example"


@dataclass(frozen=True)
class ConnectPlan:
    """Everything needed to open one connection, except the token's value."""

    path: str
    user: UserSpec | None  # whose identity the connection should get (None: anonymous)
    token_user: str | None  # whose token to present (None: no token, or a bad one)
    bad_token: bool
    origin: str | None


def plan_connect(
    step: Connect,
    config: HarnessConfig,
    contract: Contract,
    http_url: str,
    params: Mapping[str, Any],
) -> ConnectPlan:
    """Resolve a connect step's route, parameters, identity and origin."""
    auth = step.auth
    token_user = auth.user if auth.mode in ("user", "wrong_user") else None
    user = config.user(auth.user) if auth.mode == "user" else None
    if step.path is not None:
        path = step.path
    else:
        route = contract.route(step.route or "")
        values = dict(params)
        if route.owner_parameter and route.owner_parameter not in values:
            owner = auth.other if auth.mode == "wrong_user" else auth.user
            values[route.owner_parameter] = config.user(owner).user_id
        path = route.path(**values)
        if auth.mode == "user" and route.auth == "anonymous":
            user = None  # a token on the anonymous route is ignored: the connection is anonymous
    if not step.slash:
        path = path.rstrip("/")
    origin = step.origin
    if origin == "foreign":
        origin = FOREIGN_ORIGIN
    elif origin == "same":
        origin = http_url
    return ConnectPlan(
        path=path,
        user=user,
        token_user=token_user,
        bad_token=auth.mode == "bad_token",
        origin=origin,
    )


def reply_type(contract: Contract, request: Any) -> str | None:
    """The documented reply to a sent message, or None if it has none."""
    if not isinstance(request, Mapping):
        return None
    replies = contract.replies.get(str(request.get(contract.type_field)), ())
    return replies[0] if replies else None


def push_request(step: Push, config: HarnessConfig, data: Mapping[str, Any]) -> PushRequest:
    """Turn ``to`` ("primary", "role:teacher", "global", "subscribers:primary") into a request."""
    kind, _, name = step.to.partition(":")
    if step.to == "global":
        return PushRequest(type=step.type, audience="global", data=data)
    if kind == "role":
        return PushRequest(type=step.type, audience="role", role=name, data=data)
    if kind == "subscribers":
        return PushRequest(
            type=step.type, audience="subscribers", user_id=config.user(name).user_id, data=data
        )
    return PushRequest(
        type=step.type, audience="user", user_id=config.user(step.to).user_id, data=data
    )


def padded_text(message: Mapping[str, Any], size: int) -> str:
    """``message`` (JSON) with a padding field that makes it exactly ``size`` bytes long.

    The scenarios use the contract's liveness request, so a frame under the size limit
    must still get the liveness reply.
    """
    head = json.dumps({**message, _PADDING: ""})[:-2]  # ends just inside the padding's quotes
    tail = '"}'
    if size < len(head.encode()) + len(tail):
        raise ValueError(
            f"size must be at least {len(head.encode()) + len(tail)} bytes, got {size}"
        )
    return head + "x" * (size - len(head.encode()) - len(tail)) + tail


_PADDING = "ws_harness_padding"  # a field name no contract is likely to use
