"""Target backends: one small interface (``Target``), one module per way to get a server.

``make_target(options, config, contract)`` picks the backend:

- ``process``: run a start command on a free loopback port (default: the reference target);
- ``docker``:  build or take an image and run it on an isolated port (``harness.targets.docker``);
- ``url``:     a server that is already running;
- ``auto``:    docker when an engine answers, process otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from harness.auth import Credentials, TokenProvider
from harness.config import HarnessConfig
from harness.contract import Contract
from harness.errors import ConfigError
from harness.protocol import ProtocolSpec
from harness.targets.base import Target, TargetInfo
from harness.targets.process import ProcessTarget
from harness.targets.readiness import WebSocketProbe
from harness.targets.url import UrlTarget

Backend = Literal["auto", "process", "docker", "url"]
BACKENDS: tuple[str, ...] = ("auto", "process", "docker", "url")


@dataclass(frozen=True)
class TargetOptions:
    """What the user chose on the command line / ini file, resolved once."""

    backend: Backend = "process"
    url: str | None = None
    command: str | None = None
    cwd: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    host: str = "127.0.0.1"
    port: int = 0  # 0: pick a free one
    ready_timeout: float | None = None
    log_dir: str | None = None
    image: str | None = None  # docker: run this image instead of building one
    docker_network: Literal["auto", "host", "publish"] = "auto"
    replicas: int = 0  # --ws-replicas: 0 = one plain server; N = N replicas sharing a Redis
    redis_url: str | None = None  # --ws-redis-url: a running Redis instead of a private one
    # --ws-replica-env: (replica index or None for all, KEY, VALUE), over target.replica_env
    replica_env: tuple[tuple[int | None, str, str], ...] = ()


def resolve_backend(options: TargetOptions) -> str:
    """The backend that will actually run: ``url`` when a URL is given, ``auto`` decided here."""
    if options.url:
        if options.backend not in ("auto", "url", "process"):
            raise ConfigError(
                f"--ws-url and --ws-backend {options.backend} contradict each other; drop one"
            )
        return "url"
    if options.backend == "url":
        raise ConfigError("--ws-backend url needs --ws-url ws://HOST:PORT")
    if options.backend == "auto":
        from harness.targets.docker import engine_problem

        return "docker" if engine_problem() is None else "process"
    return options.backend


def readiness_probe(config: HarnessConfig, contract: Contract) -> WebSocketProbe:
    """Probe the configured ready route (default: the first route an anonymous client may
    open without parameters: x-auth anonymous, then optional); as ``target.ready_user`` when
    set (for apps where every route needs a login: any route, its owner parameter filled)."""
    name = config.target.ready_route
    ready_user = config.target.ready_user
    if name is None:
        open_routes = [
            route
            for auth in ("anonymous", "optional")
            for route in contract.routes_with_auth(auth)
            if not route.parameters
        ]
        if ready_user is not None and not open_routes:
            open_routes = list(contract.routes.values())
        if not open_routes:
            raise ConfigError(
                f"{config.source}: set target.ready_route (and target.ready_user when every "
                f"route needs a login): no route of {contract.source} takes an anonymous "
                "client without parameters"
            )
        name = open_routes[0].name
    user = config.user(ready_user) if ready_user is not None else None
    try:
        route = contract.route(name)
        values = {}
        if user is not None and route.owner_parameter:
            values[route.owner_parameter] = user.user_id
        path = route.path(**values)
    except KeyError as exc:
        fix = "" if user is not None else "; set target.ready_user to a configured user"
        raise ConfigError(f"{config.source}: target.ready_route: {exc.args[0]}{fix}") from None
    login = None
    if ready_user is not None or config.auth.origin is not None:

        def login(http_url: str) -> Credentials:
            return TokenProvider(config, http_url).credentials(ready_user)

    return WebSocketProbe(
        path=path,
        spec=ProtocolSpec.build(contract, config),
        attempt_timeout=config.timeouts.connect,
        user=user,
        login=login,
    )


def make_target(options: TargetOptions, config: HarnessConfig, contract: Contract) -> Target:
    """The Target for these options; not started (use it as a context manager)."""
    probe = readiness_probe(config, contract)
    timeout = options.ready_timeout or config.target.ready_timeout
    backend = resolve_backend(options)
    if backend == "url":
        assert options.url is not None
        servers = [url.strip() for url in options.url.split(",") if url.strip()]
        if len(servers) > 1:  # replicas someone else runs: ws://a:1,ws://b:2
            from harness.targets.replicas import url_replica_set

            return url_replica_set(
                servers,
                options,
                config,
                lambda url: UrlTarget(
                    url, probe, ready_timeout=timeout, identity=config.target.identity
                ),
            )
    if options.replicas:
        from harness.targets.replicas import make_replica_set

        return make_replica_set(options, config, lambda one: make_target(one, config, contract))
    if backend == "url":
        assert options.url is not None
        return UrlTarget(options.url, probe, ready_timeout=timeout, identity=config.target.identity)
    command = options.command or config.target.command
    if backend == "docker":
        from harness.targets.docker import DockerTarget

        return DockerTarget(options=options, config=config, probe=probe, ready_timeout=timeout)
    if backend != "process":
        raise ConfigError(f"--ws-backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    if not command:
        raise ConfigError(
            "no server to test: pass --ws-command 'daphne -b {host} -p {port} app.asgi:application' "
            "or --ws-url ws://HOST:PORT (or set target.command in --ws-config)"
        )
    return ProcessTarget(
        command,
        probe,
        host=options.host,
        port=options.port,
        cwd=options.cwd or config.target.cwd,
        env={**config.target.env, **options.env},
        ready_timeout=timeout,
        identity=config.target.identity,
        log_dir=options.log_dir,
    )


__all__ = [
    "BACKENDS",
    "Target",
    "TargetInfo",
    "TargetOptions",
    "make_target",
    "readiness_probe",
    "resolve_backend",
]
