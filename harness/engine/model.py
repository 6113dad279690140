"""Scenarios as data: what a scenario file says, after parsing and expansion.

A ``Scenario`` is one test: a list of steps run in order against the server. Steps are
frozen dataclasses holding *unresolved* values (``${...}`` templates stay as written); the
runner resolves them at run time, when it knows tokens, ids and what was sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

AuthMode = Literal["anonymous", "user", "bad_token", "wrong_user"]
AUTH_MODES: tuple[str, ...] = ("anonymous", "user", "bad_token", "wrong_user")
Outcome = Literal["accepted", "refused", "closed"]


@dataclass(frozen=True)
class Auth:
    """Who connects: a mode, and for ``user``/``wrong_user`` which configured user."""

    mode: AuthMode = "anonymous"
    user: str = "primary"  # a key of the config's users
    other: str = "secondary"  # wrong_user: whose id goes in the path

    @property
    def label(self) -> str:
        if self.mode == "user" and self.user != "primary":
            return f"user_{self.user}"
        return self.mode


@dataclass(frozen=True)
class Step:
    """Base of all steps; ``line`` points into the scenario file for error messages."""

    line: int = field(default=0, kw_only=True)

    @property
    def keyword(self) -> str:
        return _KEYWORDS[type(self)]


@dataclass(frozen=True)
class Connect(Step):
    name: str = "client"
    route: str | None = None
    path: str | None = None  # a raw path instead of a route (unknown paths)
    auth: Auth = field(default_factory=Auth)
    params: Mapping[str, Any] = field(default_factory=dict)
    slash: bool = True  # False: drop the trailing slash
    origin: str | None = None  # "foreign", "same" or a literal Origin header
    outcome: Outcome = "accepted"
    close_code: str | int | None = None  # outcome "closed": the expected close code
    status: int | None = None  # outcome "refused": the expected HTTP status, if any
    confirmation: Mapping[str, Any] = field(default_factory=dict)  # fields to match
    within: float | None = None  # a budget for handshake + confirmation, in seconds
    replica: int | None = None  # --ws-replicas: the replica to connect to (None: round robin)


@dataclass(frozen=True)
class Send(Step):
    on: str | None = None
    message: Any = None  # JSON value, templated
    text: str | None = None  # a raw text frame instead
    size: int | None = None  # a text frame of exactly this many bytes
    binary: int | None = None  # a binary frame of this many bytes


@dataclass(frozen=True)
class Expect(Step):
    on: str | None = None
    type: str | None = None  # None: the documented reply to the last request
    match: Mapping[str, Any] = field(default_factory=dict)
    within: float | None = None


@dataclass(frozen=True)
class ExpectError(Step):
    on: str | None = None
    code: str = ""  # symbolic (invalid_json) or literal
    within: float | None = None


@dataclass(frozen=True)
class ExpectClose(Step):
    on: str | None = None
    code: str | int | None = None  # None: any close
    within: float | None = None


@dataclass(frozen=True)
class ExpectSilence(Step):
    on: tuple[str, ...] = ()
    type: str | None = None
    within: float | None = None


@dataclass(frozen=True)
class ExpectAlive(Step):
    """The connection is open and serving: a liveness request gets its reply."""

    on: str | None = None


@dataclass(frozen=True)
class Push(Step):
    type: str = ""
    to: str = "primary"  # a user name, "role:<name>", "global", "subscribers:<user>"
    data: Mapping[str, Any] = field(default_factory=dict)
    replica: int | None = None  # --ws-replicas: the replica whose trigger sends it (None: 0)


@dataclass(frozen=True)
class ExpectPush(Step):
    on: tuple[str, ...] = ()
    type: str | None = None  # None: the type of the last push
    within: float | None = None


@dataclass(frozen=True)
class ExpectNoPush(Step):
    on: tuple[str, ...] = ()
    type: str | None = None
    within: float | None = None


@dataclass(frozen=True)
class Close(Step):
    on: str | None = None
    code: int = 1000


@dataclass(frozen=True)
class Wait(Step):
    seconds: float = 0.1


@dataclass(frozen=True)
class KillReplica(Step):
    """End one replica abruptly mid-scenario (--ws-replicas); it is revived after the scenario."""

    replica: int = 1


_KEYWORDS: dict[type, str] = {
    Connect: "connect",
    Send: "send",
    Expect: "expect",
    ExpectError: "expect_error",
    ExpectClose: "expect_close",
    ExpectSilence: "expect_silence",
    ExpectAlive: "expect_alive",
    Push: "push",
    ExpectPush: "expect_push",
    ExpectNoPush: "expect_no_push",
    Close: "close",
    Wait: "wait",
    KillReplica: "kill_replica",
}


@dataclass(frozen=True)
class Coverage:
    """The matrix cell a scenario exercises: route x message type x auth mode."""

    route: str
    message: str
    auth: str


@dataclass(frozen=True)
class Scenario:
    """One runnable test, expanded from a scenario file entry and one ``each`` case."""

    name: str  # the test name, e.g. "heartbeat[permissions-anonymous]"
    base: str  # the scenario's id without the case
    description: str
    file: str
    line: int
    steps: tuple[Step, ...]
    coverage: Coverage | None = None
    markers: tuple[str, ...] = ()
    needs_push: bool = False
    skip_reason: str = ""  # set when the contract or config lacks what the case needs
    # The message types this scenario judges (its ``message`` and that message's replies):
    # a contract violation in a frame of another type is not this scenario's verdict unless
    # frames are judged strictly (--ws-strict-frames).
    subject: tuple[str, ...] = ()
    unsolicited: tuple[str, ...] = ()  # types that may arrive at any time, unasked
    # Runs with no other scenario at the same time: its verdict depends on server state that
    # other scenarios' connections share (see loader.runs_alone).
    alone: bool = False
    # The servers it needs (--ws-replicas): one more than the highest replica its steps name;
    # a run with fewer skips it, saying so.
    replicas: int = 1
