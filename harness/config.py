"""The harness configuration: how to start or reach the server, who the users are, how to get
a token, how to trigger a push, which confirmation convention the server follows.

It is read once (from a YAML file; the bundled ``reference.config.yaml`` describes the
reference target) into frozen dataclasses and passed down; nothing reads the environment
later. Copy the reference file to point the harness at your own Django Channels app.
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from harness.bundled import DEFAULT_CONFIG, bundled
from harness.errors import ConfigError
from harness.yamlfile import LineDict, LineList, line_of, load_yaml

TIMEOUT_FACTOR_ENV = "WS_HARNESS_TIMEOUT_FACTOR"


@dataclass(frozen=True)
class UserSpec:
    """A user of the server under test, as the scenarios refer to it (by ``name``)."""

    name: str
    username: str | None = None
    password: str | None = None
    token: str | None = None  # a static token, used as is
    # What the server reports for this user: an integer primary key or a string (a UUID).
    user_id: int | str | None = None
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
    # A configured user the readiness probe connects as, for apps where every route needs a
    # login (fills the route's owner parameter with the user's id).
    ready_user: str | None = None
    identity: IdentitySpec | None = None
    ready_timeout: float = 30.0
    image: str | None = None  # docker backend: an image to run instead of building one
    dockerfile: str | None = None  # docker backend: what to build (context = its folder's parent)
    # --ws-replicas: what every replica adds to env; {redis_url} (the shared Redis) and
    # {replica} (its index) are filled in, e.g. REDIS_URL: "{redis_url}"
    replica_env: Mapping[str, str] = field(default_factory=dict)


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


AuthMethod = Literal["login", "static", "hook", "session", "command"]
Presentation = Literal["query", "header", "cookie", "subprotocol"]


@dataclass(frozen=True)
class AuthSpec:
    """How a client gets its credential (``method``) and how it shows it (``present``).

    Apps differ on both: a DRF token or JWT from a JSON login, Django's session cookie after
    a form login, a key a management command prints; presented in the query string, an HTTP
    header, the ``Cookie`` header or a WebSocket subprotocol. ``${token}`` in
    ``header_value`` / ``subprotocols`` is the credential.
    """

    query_param: str = "token"
    method: AuthMethod = "login"
    login_path: str | None = None  # method login / session: the app's login endpoint
    token_field: str = "token"
    hook: str | None = None  # "module:function(user: UserSpec, http_url: str) -> str"
    bad_token: str = "not-a-valid-token"
    present: Presentation = "query"
    header: str = "Authorization"  # present: header
    header_value: str = "${token}"  # e.g. "Bearer ${token}"
    cookie: str = "sessionid"  # method session: the cookie the login sets; present: cookie
    subprotocols: tuple[str, ...] = ("${token}",)  # present: subprotocol, e.g. [bearer, ${token}]
    # method login / session: the body POSTed to login_path; ${username} ${password} ${user_id}
    login_body: Mapping[str, Any] = field(
        default_factory=lambda: {"username": "${username}", "password": "${password}"}
    )
    # json: a JSON body; form: an HTML form (for Django's LoginView: its CSRF token is fetched
    # from a GET of login_path first and sent back).
    login_format: Literal["json", "form"] = "json"
    # The Origin header every connection sends, as a browser would: "same" (the server's own
    # address) or a URL; None: none. Stock Channels' AllowedHostsOriginValidator refuses a
    # handshake without an Origin. Scenarios that test origins set their own.
    origin: str | None = None
    # method command: a shell command printing the credential on its last line; {python} and
    # ${username} ${password} ${user_id} ${name} (shell-quoted) are filled in. Runs in
    # target.cwd with target.env.
    command: str | None = None


@dataclass(frozen=True)
class ChannelLayerSpec:
    """The app's own channel layer (channels_redis), joined to ``group_send`` as its signals do.

    ``groups``: per audience (user, subscribers, role, global), the group names to send to;
    ``message``: the event sent (its ``type`` names the consumer's handler, ``inbox.deliver``
    -> ``inbox_deliver``). ``${type}`` ``${data}`` ``${user}`` ``${role}`` ``${audience}``
    ``${now_iso}`` ``${now_ms}`` are filled in.
    """

    url: str
    groups: Mapping[str, tuple[str, ...]]
    message: Mapping[str, Any]
    prefix: str = "asgi"


@dataclass(frozen=True)
class PushSpec:
    """How the harness makes the server push a notification."""

    method: Literal["http", "hook", "channel_layer", "command", "none"] = "none"
    path: str | None = None  # method http: the app's notify endpoint, e.g. /api/notify/
    as_user: str | None = None  # the (staff) user whose token authorizes the trigger
    auth_scheme: str = "Token"  # Authorization: <scheme> <token>; "Bearer" for JWTs
    # A field the harness adds to each push's data to recognise it on arrival (and to
    # time it); set to null if your server drops unknown data fields.
    trace_field: str | None = "trace_id"
    hook: str | None = None  # "module:function(request: PushRequest, http_url: str) -> None"
    # method http: the JSON body POSTed for each audience (user, subscribers, role, global);
    # ${type}, ${data}, ${user} (the user's id) and ${role} are filled in. No default: the
    # endpoint and its body are the app's to say.
    body: Mapping[str, Any] = field(default_factory=dict)
    channel_layer: ChannelLayerSpec | None = None  # method channel_layer
    # method command: per audience (or one for all), a shell command; {python} and ${type}
    # ${data} (JSON) ${user} ${role} ${audience} (shell-quoted) are filled in.
    command: Mapping[str, str] = field(default_factory=dict)


AUDIENCES = ("user", "subscribers", "role", "global")


@dataclass(frozen=True)
class SecuritySpec:
    """Secrets the security checks need to forge credentials (the deployment's, never guessed).

    ``jwt_secret``: the HS256 key the server signs its JWTs with (``${env.NAME}`` keeps it out
    of the file); None skips the forged-JWT rows, with the reason. ``jwt_user_claim``: the
    claim naming the user.
    """

    jwt_secret: str | None = None
    jwt_user_claim: str = "user_id"


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
    security: SecuritySpec = field(default_factory=SecuritySpec)

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
    raw = parser.expand_env(raw, environ)
    parser.reject_unknown(
        raw,
        {"contract", "target", "confirmation", "users", "auth", "push", "timeouts", "security"},
        "",
    )
    contract = raw.get("contract")
    if contract is not None:
        contract = str((file.parent / str(contract)).resolve())
    factor = _timeout_factor(environ)
    users = parser.users(raw.get("users") or {})
    target = parser.target(raw.get("target") or {}, factor)
    if target.ready_user is not None and target.ready_user not in users:
        raise parser.fail(
            raw.get("target"),
            f"target.ready_user {target.ready_user!r} is not a configured user "
            f"({', '.join(sorted(users)) or 'none'}); add it under 'users:'",
        )
    return HarnessConfig(
        source=str(file),
        contract=contract,
        target=target,
        confirmation=parser.confirmation(raw.get("confirmation") or {}),
        users=users,
        auth=parser.auth(raw.get("auth") or {}),
        push=parser.push(raw.get("push") or {}),
        timeouts=parser.dataclass_section(Timeouts, raw.get("timeouts") or {}, "timeouts").scaled(
            factor
        ),
        security=parser.dataclass_section(SecuritySpec, raw.get("security") or {}, "security"),
    )


# ${env.NAME} or ${env.NAME:-default} in any string of the config file: a Redis URL, a
# signing key or a password the CI environment provides. Read once, when the file is loaded.
_ENV_TEMPLATE = re.compile(r"\$\{env\.([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


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

    def expand_env(self, node: Any, environ: Mapping[str, str], line: int = 0) -> Any:
        """``node`` with every ``${env.NAME}`` filled in; lines kept for later errors."""
        line = line_of(node, line)
        if isinstance(node, str):

            def value(match: re.Match[str]) -> str:
                name, default = match.group(1), match.group(2)
                if name in environ:
                    return environ[name]
                if default is not None:
                    return default
                where = f"{self.file}:{line}" if line else str(self.file)
                raise ConfigError(
                    f"{where}: ${{env.{name}}} is not set; export {name}=... or give a default "
                    f"as ${{env.{name}:-VALUE}}"
                )

            return _ENV_TEMPLATE.sub(value, node)
        if isinstance(node, LineDict):
            copy: Any = LineDict({k: self.expand_env(v, environ, line) for k, v in node.items()})
        elif isinstance(node, LineList):
            copy = LineList(self.expand_env(v, environ, line) for v in node)
        else:
            return node
        copy.__line__ = node.__line__
        return copy

    def string(self, node: Mapping[str, Any], key: str, where: str, default: Any = None) -> Any:
        """``node[key]`` if it is a non-empty string (``default`` when absent)."""
        value = node.get(key, default)
        if value is default:
            return value
        if not isinstance(value, str) or not value:
            raise self.fail(node, f"{where}.{key} must be a non-empty string, got {value!r}")
        return value

    def choice(
        self, node: Mapping[str, Any], key: str, where: str, allowed: tuple[str, ...]
    ) -> Any:
        value = node.get(key)
        if value is not None and value not in allowed:
            raise self.fail(
                node, f"{where}.{key} is {value!r}; expected one of {', '.join(allowed)}"
            )
        return value

    def auth(self, node: Any) -> AuthSpec:
        self.expect_mapping(node, "'auth'")
        self.reject_unknown(node, set(AuthSpec.__dataclass_fields__), "auth.")
        values: dict[str, Any] = {}
        for key in ("query_param", "login_path", "token_field", "hook", "bad_token", "header"):
            if node.get(key) is not None:
                values[key] = self.string(node, key, "auth")
        for key in ("header_value", "cookie", "command", "origin"):
            if node.get(key) is not None:
                values[key] = self.string(node, key, "auth")
        for key, allowed in (
            ("method", ("login", "static", "hook", "session", "command")),
            ("present", ("query", "header", "cookie", "subprotocol")),
            ("login_format", ("json", "form")),
        ):
            if self.choice(node, key, "auth", allowed) is not None:
                values[key] = node[key]
        if "subprotocols" in node:
            protocols = node["subprotocols"]
            if isinstance(protocols, str):
                protocols = [protocols]
            if not isinstance(protocols, list) or not all(
                isinstance(p, str) and p for p in protocols
            ):
                raise self.fail(
                    node,
                    "auth.subprotocols must be a list of strings such as "
                    f"[access_token, '${{token}}'], got {protocols!r}",
                )
            values["subprotocols"] = tuple(protocols)
        if "login_body" in node:
            self.expect_mapping(node["login_body"], "auth.login_body")
            values["login_body"] = dict(node["login_body"])
        spec = AuthSpec(**values)
        token_slot = "${token}"
        if spec.present == "subprotocol" and not any(token_slot in p for p in spec.subprotocols):
            raise self.fail(
                node,
                "auth.present is subprotocol, but no auth.subprotocols entry holds ${token}; "
                "write e.g. subprotocols: [access_token, '${token}']",
            )
        if spec.present == "header" and token_slot not in spec.header_value:
            raise self.fail(node, "auth.header_value must hold ${token}, e.g. 'Bearer ${token}'")
        if spec.origin not in (None, "same") and not spec.origin.startswith(
            ("http://", "https://")
        ):
            raise self.fail(
                node,
                f"auth.origin is {spec.origin!r}; write same (the server's own address) or a URL "
                "such as https://app.example.com",
            )
        # Not named here (the default, login): the login says so when one is needed.
        if node.get("method") in ("login", "session") and not spec.login_path:
            raise self.fail(
                node,
                f"auth.method is {spec.method} but auth.login_path is not set; give the app's "
                "login endpoint, e.g. login_path: /api/token/ (or another auth.method: static, "
                "session, command, hook)",
            )
        if spec.method == "command" and not spec.command:
            raise self.fail(
                node,
                "auth.method is command but auth.command is not set; give a shell command "
                "printing the credential, e.g. '{python} manage.py session_for ${username}'",
            )
        return spec

    def push(self, node: Any) -> PushSpec:
        self.expect_mapping(node, "'push'")
        self.reject_unknown(node, set(PushSpec.__dataclass_fields__), "push.")
        simple = {k: v for k, v in node.items() if k not in ("channel_layer", "command")}
        spec = self.dataclass_section(PushSpec, LineDict(simple), "push")
        layer = node.get("channel_layer")
        if layer is not None:
            spec = replace(spec, channel_layer=self.channel_layer(layer))
        if spec.method == "http" and not (isinstance(spec.path, str) and spec.path[:1] == "/"):
            shown = "not set" if spec.path is None else repr(spec.path)
            raise self.fail(
                node,
                f"push.method is http but push.path is {shown}; give the app's notify "
                "endpoint, e.g. path: /api/notify/",
            )
        if spec.method == "http" and not spec.body:
            raise self.fail(
                node,
                "push.method is http but push.body is not set; give the JSON body per audience "
                '(user, subscribers, role, global), e.g. user: {type: "${type}", '
                'data: "${data}", user_id: "${user}"}',
            )
        if spec.method == "channel_layer" and spec.channel_layer is None:
            raise self.fail(
                node,
                "push.method is channel_layer but push.channel_layer is not set; give its url, "
                "groups and message (see the README's config file section)",
            )
        command = node.get("command")
        if command is not None:
            if isinstance(command, str):
                command = {audience: command for audience in AUDIENCES}
            self.expect_mapping(command, "push.command")
            self.reject_unknown(command, set(AUDIENCES), "push.command.")
            for audience, text in command.items():
                if not isinstance(text, str) or not text.strip():
                    raise self.fail(
                        command, f"push.command.{audience} must be a shell command, got {text!r}"
                    )
            spec = replace(spec, command=dict(command))
        if spec.method == "command" and not spec.command:
            raise self.fail(
                node,
                "push.method is command but push.command is not set; give a shell command "
                "(one, or one per audience: user, subscribers, role, global)",
            )
        return spec

    def channel_layer(self, node: Any) -> ChannelLayerSpec:
        where = "push.channel_layer"
        self.expect_mapping(node, where)
        self.reject_unknown(node, {"url", "groups", "message", "prefix"}, f"{where}.")
        url = self.string(node, "url", where)
        if url is None or not url.startswith(("redis://", "rediss://", "unix://")):
            raise self.fail(
                node,
                f"{where}.url must be the app's Redis URL (redis://HOST:PORT/DB), got {url!r}; "
                "the same one its CHANNEL_LAYERS setting uses",
            )
        groups = node.get("groups")
        self.expect_mapping(groups, f"{where}.groups")
        self.reject_unknown(groups, set(AUDIENCES), f"{where}.groups.")
        parsed: dict[str, tuple[str, ...]] = {}
        for audience, names in groups.items():
            names = [names] if isinstance(names, str) else names
            if (
                not isinstance(names, list)
                or not names
                or not all(isinstance(n, str) and n for n in names)
            ):
                raise self.fail(
                    groups,
                    f"{where}.groups.{audience} must be a group name or a list of them, such as "
                    f"'user_${{user}}', got {names!r}",
                )
            parsed[str(audience)] = tuple(names)
        message = node.get("message")
        self.expect_mapping(message, f"{where}.message")
        if not isinstance(message.get("type"), str) or not message["type"]:
            raise self.fail(
                message,
                f"{where}.message needs a 'type': the consumer's handler as the app's own "
                "group_send names it (e.g. notify.push for a method notify_push)",
            )
        prefix = self.string(node, "prefix", where, "asgi")
        return ChannelLayerSpec(url=url, groups=parsed, message=dict(message), prefix=prefix)

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
        replica_env = values.get("replica_env") or {}
        self.expect_mapping(replica_env, "target.replica_env")
        values["replica_env"] = {str(k): str(v) for k, v in replica_env.items()}
        cwd = values.get("cwd")
        if cwd is not None:  # like contract: a relative folder is the config file's neighbour
            values["cwd"] = str((self.file.parent / str(cwd)).resolve())
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
                f"users.{name}.permissions must be a list such as [reports.view], got {permissions!r}",
            )
        values["permissions"] = frozenset(str(p) for p in permissions)
        user_id = values.get("user_id")
        if user_id is not None and (
            isinstance(user_id, bool) or not isinstance(user_id, int | str) or user_id == ""
        ):
            raise self.fail(
                node,
                f"users.{name}.user_id must be an integer or a string (a UUID), "
                f"got {values['user_id']!r}",
            )
        if not (values.get("token") or values.get("username")):
            raise self.fail(
                node, f"users.{name} needs a 'username' (and 'password') or a static 'token'"
            )
        return UserSpec(name=name, **values)


_METHODS = {"push": ("http", "hook", "channel_layer", "command", "none")}
