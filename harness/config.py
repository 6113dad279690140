"""The harness configuration: how to start or reach the server, who the users are, how to get
a token, how to trigger a push, which confirmation convention the server follows.

It is read once (from a YAML file; the bundled ``reference.config.yaml`` describes the
reference target) into frozen dataclasses and passed down; nothing reads the environment
later. Copy the reference file to point the harness at your own Django Channels app.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from harness.bundled import DEFAULT_CONFIG, bundled
from harness.errors import ConfigError
from harness.yamlfile import line_of, load_yaml

TIMEOUT_FACTOR_ENV = "WS_HARNESS_TIMEOUT_FACTOR"


@dataclass(frozen=True)
class UserSpec:
    """A user of the server under test, as the scenarios refer to it (by ``name``)."""

    name: str
    username: str | None = None
    password: str | None = None
    token: str | None = None  # a static token, used as is
    user_id: int | None = None
    role: str | None = None
    permissions: frozenset[str] = frozenset()
    staff: bool = False

    def holds(self, permission: str) -> bool:
        return permission in self.permissions


@dataclass(frozen=True)
class IdentitySpec:
    """An HTTP endpoint through which the server says which process it is."""

    path: str = "/healthz"
    pid_field: str | None = "pid"
    id_field: str | None = "instance_id"
    # A regex with a group named ``id`` that finds the same id in the server's own log.
    log_pattern: str | None = None


@dataclass(frozen=True)
class TargetSpec:
    """How to start the server (a command line) and how to tell it is ready and ours."""

    command: str | None = None  # placeholders: {python} {host} {port}
    cwd: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    ready_route: str | None = None  # a contract route name; default: the first route
    identity: IdentitySpec | None = None
    ready_timeout: float = 30.0
    image: str | None = None  # docker backend: an image to run instead of building one
    dockerfile: str | None = None  # docker backend: what to build (context = its folder's parent)


# The confirmation message's default: the message the contract tags ``confirmation``.
FROM_CONTRACT = "<from the contract>"


@dataclass(frozen=True)
class ConfirmationSpec:
    """When the server sends its confirmation frame: on accept, or after a client hello.

    ``message``: the confirmation's type (default: the contract's ``confirmation`` message;
    null: the server sends none). ``connect_message``: the hello sent when ``after`` is
    ``connect`` (default: the contract's ``x-roles.hello.send``).
    """

    message: str | None = FROM_CONTRACT
    after: Literal["accept", "connect"] = "accept"
    connect_message: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class AuthSpec:
    """How a client gets a token and how it presents it on the WebSocket URL."""

    query_param: str = "token"
    method: Literal["login", "static", "hook"] = "login"
    login_path: str = "/api/auth/token/"
    token_field: str = "token"
    hook: str | None = None  # "module:function(user: UserSpec, http_url: str) -> str"
    bad_token: str = "not-a-valid-token"


@dataclass(frozen=True)
class PushSpec:
    """How the harness makes the server push a notification."""

    method: Literal["http", "hook", "none"] = "none"
    path: str = "/api/permissions/notify/"
    as_user: str | None = None  # the (staff) user whose token authorizes the trigger
    auth_scheme: str = "Token"  # Authorization: <scheme> <token>; "Bearer" for JWTs
    # A field the harness adds to each push's data to recognise it on arrival (and to
    # time it); set to null if your server drops unknown data fields.
    trace_field: str | None = "trace_id"
    hook: str | None = None  # "module:function(request: PushRequest, http_url: str) -> None"
    # method http: the JSON body POSTed for each audience (user, subscribers, role, global);
    # ${type}, ${data}, ${user} (the user's id) and ${role} are filled in.
    body: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_PUSH_BODIES))


DEFAULT_PUSH_BODIES: Mapping[str, Mapping[str, Any]] = {
    "user": {"type": "${type}", "data": "${data}", "user_id": "${user}"},
    "subscribers": {
        "type": "${type}",
        "data": "${data}",
        "user_id": "${user}",
        "subscribers": True,
    },
    "role": {"type": "${type}", "data": "${data}", "role": "${role}"},
    "global": {"type": "${type}", "data": "${data}", "global": True},
}


@dataclass(frozen=True)
class Timeouts:
    """Every wait in the harness, in seconds.

    ``WS_HARNESS_TIMEOUT_FACTOR`` (read once, when the config is loaded) multiplies them all,
    for slow CI machines; ``silence`` is how long "nothing arrives" is watched.
    """

    connect: float = 5.0
    reply: float = 2.0
    push: float = 3.0
    silence: float = 0.5
    close: float = 3.0

    def scaled(self, factor: float) -> Timeouts:
        return Timeouts(**{name: value * factor for name, value in vars(self).items()})


@dataclass(frozen=True)
class HarnessConfig:
    """Everything the harness knows about the deployment under test."""

    source: str
    contract: str | None = None  # a path; None = the bundled contract
    target: TargetSpec = field(default_factory=TargetSpec)
    confirmation: ConfirmationSpec = field(default_factory=ConfirmationSpec)
    users: Mapping[str, UserSpec] = field(default_factory=dict)
    auth: AuthSpec = field(default_factory=AuthSpec)
    push: PushSpec = field(default_factory=PushSpec)
    timeouts: Timeouts = field(default_factory=Timeouts)

    def user(self, name: str) -> UserSpec:
        try:
            return self.users[name]
        except KeyError:
            known = ", ".join(sorted(self.users)) or "none"
            raise ConfigError(
                f"{self.source}: no user named {name!r} (configured: {known}); "
                "add it under 'users:'"
            ) from None

    def with_overrides(self, **changes: Any) -> HarnessConfig:
        return replace(self, **changes)


def python_command() -> str:
    """The interpreter running the harness, for the ``{python}`` placeholder."""
    return sys.executable


def load_config(
    path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> HarnessConfig:
    """Load a config file (``None``: the bundled reference config).

    Raises ConfigError naming the file, the line and the field for anything it cannot use.
    """
    file = Path(path) if path is not None else bundled(DEFAULT_CONFIG)
    raw = load_yaml(file, ConfigError)
    environ = os.environ if environ is None else environ
    if raw is None:
        raw = {}
    parser = _Parser(file)
    parser.expect_mapping(raw, "the top level")
    parser.reject_unknown(
        raw, {"contract", "target", "confirmation", "users", "auth", "push", "timeouts"}, ""
    )
    contract = raw.get("contract")
    if contract is not None:
        contract = str((file.parent / str(contract)).resolve())
    factor = _timeout_factor(environ)
    return HarnessConfig(
        source=str(file),
        contract=contract,
        target=parser.target(raw.get("target") or {}, factor),
        confirmation=parser.confirmation(raw.get("confirmation") or {}),
        users=parser.users(raw.get("users") or {}),
        auth=parser.dataclass_section(AuthSpec, raw.get("auth") or {}, "auth"),
        push=parser.dataclass_section(PushSpec, raw.get("push") or {}, "push"),
        timeouts=parser.dataclass_section(Timeouts, raw.get("timeouts") or {}, "timeouts").scaled(
            factor
        ),
    )


def _timeout_factor(environ: Mapping[str, str]) -> float:
    text = environ.get(TIMEOUT_FACTOR_ENV, "1")
    try:
        factor = float(text)
    except ValueError:
        factor = -1.0
    if not math.isfinite(factor) or factor <= 0:
        raise ConfigError(f"{TIMEOUT_FACTOR_ENV}={text!r}: expected a positive number such as 2")
    return factor


class _Parser:
    """Turns the loaded YAML into the dataclasses, with errors that point at file:line."""

    def __init__(self, file: Path) -> None:
        self.file = file

    def fail(self, node: Any, message: str) -> ConfigError:
        line = line_of(node)
        where = f"{self.file}:{line}" if line else str(self.file)
        return ConfigError(f"{where}: {message}")

    def expect_mapping(self, node: Any, what: str) -> None:
        if not isinstance(node, Mapping):
            raise self.fail(node, f"{what} must be a mapping of keys to values")

    def reject_unknown(self, node: Mapping[str, Any], allowed: set[str], prefix: str) -> None:
        for key in node:
            if key not in allowed:
                raise self.fail(
                    node,
                    f"unknown key {prefix + str(key)!r}; expected one of {', '.join(sorted(allowed))}",
                )

    def dataclass_section(self, cls: type, node: Any, name: str) -> Any:
        self.expect_mapping(node, f"'{name}'")
        fields = set(cls.__dataclass_fields__)
        self.reject_unknown(node, fields, f"{name}.")
        defaults = cls()
        values: dict[str, Any] = {}
        for key, value in node.items():
            expected = type(getattr(defaults, key))
            if expected is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            nullable = "None" in str(cls.__dataclass_fields__[key].type)
            if value is None and nullable:
                values[key] = None
                continue
            if getattr(defaults, key) is not None and not isinstance(value, expected):
                raise self.fail(node, f"{name}.{key} must be a {expected.__name__}, got {value!r}")
            if expected is float and value <= 0:
                raise self.fail(
                    node, f"{name}.{key} must be a positive number of seconds, got {value!r}"
                )
            values[key] = value
        instance = cls(**values)
        for key, allowed in (("method", _METHODS.get(name)),):
            if allowed and getattr(instance, key, None) not in allowed:
                raise self.fail(
                    node,
                    f"{name}.{key} is {getattr(instance, key)!r}; expected one of {', '.join(allowed)}",
                )
        return instance

    def target(self, node: Any, factor: float) -> TargetSpec:
        self.expect_mapping(node, "'target'")
        self.reject_unknown(node, set(TargetSpec.__dataclass_fields__), "target.")
        identity = node.get("identity")
        values = dict(node)
        if identity is not None:
            values["identity"] = self.dataclass_section(IdentitySpec, identity, "target.identity")
        env = values.get("env") or {}
        self.expect_mapping(env, "target.env")
        values["env"] = {str(k): str(v) for k, v in env.items()}
        timeout = values.get("ready_timeout", TargetSpec.ready_timeout)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise self.fail(
                node, f"target.ready_timeout must be a positive number of seconds, got {timeout!r}"
            )
        values["ready_timeout"] = float(timeout) * factor
        return TargetSpec(**values)

    def confirmation(self, node: Any) -> ConfirmationSpec:
        self.expect_mapping(node, "'confirmation'")
        self.reject_unknown(node, set(ConfirmationSpec.__dataclass_fields__), "confirmation.")
        spec = ConfirmationSpec(**node)
        if spec.after not in ("accept", "connect"):
            raise self.fail(
                node, f"confirmation.after is {spec.after!r}; expected 'accept' or 'connect'"
            )
        return spec

    def users(self, node: Any) -> dict[str, UserSpec]:
        self.expect_mapping(node, "'users'")
        return {str(name): self.user(str(name), spec) for name, spec in node.items()}

    def user(self, name: str, node: Any) -> UserSpec:
        self.expect_mapping(node, f"users.{name}")
        self.reject_unknown(node, set(UserSpec.__dataclass_fields__) - {"name"}, f"users.{name}.")
        values = dict(node)
        permissions = values.get("permissions") or []
        if not isinstance(permissions, list):
            raise self.fail(
                node,
                f"users.{name}.permissions must be a list such as [grades.view], got {permissions!r}",
            )
        values["permissions"] = frozenset(str(p) for p in permissions)
        user_id = values.get("user_id")
        if user_id is not None and (isinstance(user_id, bool) or not isinstance(user_id, int)):
            raise self.fail(
                node, f"users.{name}.user_id must be an integer, got {values['user_id']!r}"
            )
        if not (values.get("token") or values.get("username")):
            raise self.fail(
                node, f"users.{name} needs a 'username' (and 'password') or a static 'token'"
            )
        return UserSpec(name=name, **values)


_METHODS = {"auth": ("login", "static", "hook"), "push": ("http", "hook", "none")}
