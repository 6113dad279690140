"""What the doctor will probe: the endpoint from the URL, the routes to try and the protocol.

Built once from the command line and the contract (if any), then handed to ``probe`` (which
only does I/O) — so option handling and bad-input errors live here, apart from the sockets.
The protocol is a ``ProtocolSpec``: built from a contract (+ config), the doctor checks the
contract's confirmation and liveness request; the empty spec (no contract) makes it judge
plain WebSocket behaviour only (handshake, first frame, close codes).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from harness import urls
from harness.auth import Credentials
from harness.contract import Contract, Route
from harness.errors import ConfigError
from harness.protocol import ProtocolSpec

_DEFAULT_PORTS = {"ws": 80, "wss": 443}
_PARAMETER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Endpoint(urls.ServerUrls):
    """The server to examine, from the URL on the command line."""

    scheme: str  # ws | wss
    host: str
    port: int
    path: str  # "" or the path given in the URL (then it is the route to check)

    @property
    def same_origin(self) -> str:
        """The Origin a browser page served from this host sends (default ports omitted)."""
        scheme = "https" if self.scheme == "wss" else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = _DEFAULT_PORTS[self.scheme]
        return f"{scheme}://{host}" + ("" if self.port == default else f":{self.port}")


def parse_url(url: str) -> Endpoint:
    """``ws://host:port[/path]`` (http/https accepted too) -> Endpoint; ConfigError otherwise."""
    parts = urlsplit(url.strip())
    schemes = {"ws": "ws", "wss": "wss", "http": "ws", "https": "wss"}
    if parts.scheme not in schemes:
        raise ConfigError(
            f"doctor: {url!r} is not a ws://, wss://, http:// or https:// URL "
            "(e.g. ws://localhost:8000)"
        )
    scheme = schemes[parts.scheme]
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
    except ValueError:
        raise ConfigError(f"doctor: {url!r} has an invalid port (expected 1-65535)") from None
    if not parts.hostname:
        raise ConfigError(f"doctor: {url!r} has no host (e.g. ws://localhost:8000)")
    path = parts.path if parts.path not in ("", "/") else ""
    return Endpoint(scheme, parts.hostname, port, path)


@dataclass(frozen=True)
class Plan:
    """What to probe and how; built by the command from its options and the contract."""

    endpoint: Endpoint
    routes: Sequence[Route]
    close_codes: Mapping[str, int]
    spec: ProtocolSpec = field(default_factory=ProtocolSpec)  # ProtocolSpec(): no contract
    token: str | None = None
    # How a handshake presents the token (the config's auth.present: query, header, cookie or
    # subprotocol) and what one without it still sends (the config's auth.origin).
    with_token: Credentials = field(default_factory=Credentials)
    without_token: Credentials = field(default_factory=Credentials)
    timeout: float = 5.0
    contract: str | None = None  # the contract's source, for the report (None: none)
    log: str | None = None  # the server's log file, read for what it wrote during the probes
    command: str | None = None  # a start command: the doctor runs it and reads its output

    @property
    def settle(self) -> float:
        """How long to wait for a first frame (or an auth close) after the accept."""
        return min(self.timeout, 1.0)

    @property
    def heartbeat(self) -> str | None:
        """The liveness request's type (x-roles.liveness), e.g. for the report's column."""
        return liveness_names(self.spec)[0]

    @property
    def heartbeat_reply(self) -> str | None:
        return liveness_names(self.spec)[1]

    @property
    def unknown_path(self) -> str:
        return unknown_path(self.routes)


def liveness_names(spec: ProtocolSpec) -> tuple[str | None, str | None]:
    """The liveness request's type and its documented reply's; (None, None) without one."""
    request = spec.liveness
    if request is None:
        return None, None
    kind = request.get(spec.type_field)
    if not isinstance(kind, str):
        return None, None
    replies = spec.reply_types(kind)
    return kind, replies[0] if replies else None


UNKNOWN_ROUTE = "__ws_harness_doctor_no_such_route__/"


def unknown_path(routes: Sequence[Route]) -> str:
    """A path no route declares, for comparison. It sits under the routes' common first
    segment when they share one (a proxy forwarding that prefix to the app forwards it too,
    so the app's own answer to an unmatched path is what comes back)."""
    firsts = {route.address.strip("/").split("/")[0] for route in routes}
    nested = all("/" in route.address.strip("/") for route in routes)
    if len(firsts) == 1 and nested and not _PARAMETER.search(next(iter(firsts))):
        return f"/{next(iter(firsts))}/{UNKNOWN_ROUTE}"
    return f"/{UNKNOWN_ROUTE}"


def routes_for(paths: Sequence[str], contract: Contract | None) -> list[Route]:
    """Routes for paths given by hand (``--route`` or the URL's path).

    A path that matches a contract route (``/ws/permissions/5/`` matches
    ``ws/permissions/{user_id}/``) keeps that route's name and auth rules, so an auth close
    is judged the same way; any other path (every path, without a contract) is an
    ``optional``-auth route of its own.
    """
    routes: list[Route] = []
    for raw in paths:
        path = "/" + raw.strip().lstrip("/")
        if path == "/":
            raise ConfigError(f"doctor: route {raw!r} is empty; give a path such as /socket/")
        known = _matching_route(path, contract) if contract is not None else None
        address = path.lstrip("/")
        if known is not None and known.trailing_slash_optional and not address.endswith("/"):
            address += "/"  # probe both forms, as the contract declares
        parameters = tuple(_PARAMETER.findall(address))
        routes.append(
            Route(
                name=known.name if known else path,
                address=address,
                auth=known.auth if known else "optional",
                owner_parameter=known.owner_parameter if known and parameters else None,
                trailing_slash_optional=bool(known and known.trailing_slash_optional),
                parameters=parameters,
            )
        )
    return routes


def _matching_route(path: str, contract: Contract) -> Route | None:
    """The contract route whose address matches ``path`` (literal addresses win)."""
    routes = sorted(contract.routes.values(), key=lambda route: len(route.parameters))
    for route in routes:
        pattern = ""
        for piece in re.split(r"(\{[A-Za-z_][A-Za-z0-9_]*\})", route.address.strip("/")):
            pattern += r"[^/]+" if _PARAMETER.fullmatch(piece) else re.escape(piece)
        if re.fullmatch(f"/{pattern}/?", path):
            return route
    return None
