"""The diagnosis: pure functions from ``Observations`` to ``Finding``s. No I/O here.

Each known cause of a broken WebSocket endpoint is one function registered with ``@rule``;
``diagnose`` runs them all, in registration order, and sorts what they found by severity.
Rules are independent: each looks at the evidence it needs and yields nothing when its
cause does not apply, so adding a cause never means editing another rule. The built-in
rules use the same public decorator a project would use for its own (schemathesis' checks
registry is the model).

Whether each route is *healthy* (the exit code) is decided by ``route_verdict``, also pure:
a declared path is healthy when the handshake is accepted and the contract's liveness
request gets its reply (without a contract: the connection stays open), or when the server
closes with the contract's auth code on a route that requires auth and we had no right to
it (reachable, auth enforced).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from harness.doctor.logs import hint_for
from harness.doctor.observations import (
    Finding,
    HandshakeProbe,
    Observations,
    RouteProbe,
    RouteVerdict,
    Severity,
)
from harness.doctor.servers import classify, classify_server_header

RuleFunc = Callable[[Observations], Iterable[Finding]]

_SEVERITY_ORDER: dict[Severity, int] = {"error": 0, "warning": 1, "info": 2}

# Statuses that other rules explain (404 http-only, 403 origin, 500 Channels' "no route").
_EXPLAINED_STATUSES = frozenset({403, 404, 500})

# What an HTTP status on a WebSocket upgrade usually means, for the statuses above not covered.
STATUS_HINTS: dict[int, str] = {
    400: "the server (or a proxy in front of it) did not accept the upgrade request on this path",
    401: "something in front of the WebSocket app demands authentication before the upgrade",
    405: "the path is served by an HTTP view that does not allow GET",
    426: "the server wants a different protocol version or an Upgrade it did not get",
    502: "a proxy answered: its upstream (the ASGI server) is down or unreachable",
    503: "a proxy or the server is unavailable (starting up, overloaded or down)",
    504: "a proxy timed out waiting for the ASGI server",
}


@dataclass
class RuleSet:
    """An ordered registry of rules. ``BUILTIN_RULES`` holds the doctor's own."""

    rules: dict[str, RuleFunc] = field(default_factory=dict)

    def rule(self, func: RuleFunc) -> RuleFunc:
        """Decorator: register ``func`` under its name (its findings carry that name)."""
        if func.__name__ in self.rules:
            raise ValueError(f"a doctor rule named {func.__name__!r} is already registered")
        self.rules[func.__name__] = func
        return func

    def copy(self) -> RuleSet:
        return RuleSet(dict(self.rules))

    def diagnose(self, observations: Observations) -> list[Finding]:
        findings: list[Finding] = []
        for name, func in self.rules.items():
            findings += [dataclasses.replace(f, rule=name) for f in func(observations)]
        return sorted(findings, key=lambda f: _SEVERITY_ORDER[f.severity])


BUILTIN_RULES = RuleSet()
rule = BUILTIN_RULES.rule


@dataclass(frozen=True)
class Report:
    """The findings and the per-route verdicts of one run; ``healthy`` decides the exit code."""

    observations: Observations
    findings: list[Finding]
    verdicts: list[RouteVerdict]

    @property
    def healthy(self) -> bool:
        routes_ok = bool(self.verdicts) and all(v.healthy for v in self.verdicts)
        return routes_ok and not any(f.severity == "error" for f in self.findings)

    @property
    def exit_code(self) -> int:
        return 0 if self.healthy else 1


def diagnose(observations: Observations, rules: RuleSet | None = None) -> Report:
    """Run every rule and judge every route. Pure: the same observations give the same report."""
    findings = (rules or BUILTIN_RULES).diagnose(observations)
    verdicts = [route_verdict(route, observations) for route in observations.routes]
    return Report(observations, findings, verdicts)


# -- route health -------------------------------------------------------------------------


def handshake_verdict(
    probe: HandshakeProbe, route: RouteProbe, obs: Observations
) -> tuple[bool, str]:
    """Is this one handshake what a healthy server does? Returns (ok, a few words why)."""
    if probe.no_answer:
        return False, f"no answer ({probe.error_kind or 'error'})"
    if probe.http_refused:
        return False, f"HTTP {probe.status}"
    if probe.close_code is not None:
        if auth_close_expected(probe, route, obs):
            return True, f"reachable, auth enforced (close {obs.close_name(probe.close_code)})"
        return False, f"closed {obs.close_name(probe.close_code)} after accept"
    if obs.heartbeat is None:
        return True, "accepted" if obs.contract is not None else "accepted, stays open"
    if probe.heartbeat_ms is None:
        return False, f"accepted, no {obs.heartbeat_reply}"
    return True, f"accepted, {obs.heartbeat} {probe.heartbeat_ms:.0f} ms"


def route_verdict(route: RouteProbe, obs: Observations) -> RouteVerdict:
    """Healthy when every path the contract declares for the route behaves (extras are notes)."""
    if not route.declared:
        return RouteVerdict(route.name, False, "not probed")
    results = [(probe, *handshake_verdict(probe, route, obs)) for probe in route.declared]
    healthy = all(ok for _, ok, _ in results)
    # Healthy: the declared forms behave alike, so the first one's words say it for all.
    failures = "; ".join(f"{p.path}: {why}" for p, ok, why in results if not ok)
    summary = results[0][2] if healthy else failures
    return RouteVerdict(route.name, healthy, summary)


def auth_close_expected(probe: HandshakeProbe, route: RouteProbe, obs: Observations) -> bool:
    """An auth close is the right answer when the route needs a right we did not bring.

    The contract's ``not_authenticated`` code (x-close-codes) without a token on an
    owner/required route; its ``forbidden`` code on an owner route when the id in the path
    is a placeholder, not the token's user. Without a contract no close code means auth.
    """
    if probe.close_code is None:
        return False
    needs_auth = route.auth in ("owner", "required")
    if probe.close_code == obs.close_codes.get(NOT_AUTHENTICATED):
        return needs_auth and not route.token_sent
    if probe.close_code == obs.close_codes.get(FORBIDDEN):
        return route.auth == "owner" and route.parameter_source != "token"
    return False


# The x-close-codes names the auth rules read (the harness's vocabulary for contracts).
NOT_AUTHENTICATED = "not_authenticated"
FORBIDDEN = "forbidden"


def _auth_codes(obs: Observations) -> set[int]:
    names = (NOT_AUTHENTICATED, FORBIDDEN)
    return {obs.close_codes[name] for name in names if name in obs.close_codes}


def _declared(obs: Observations) -> Iterator[tuple[RouteProbe, HandshakeProbe]]:
    for route in obs.routes:
        for probe in route.declared:
            yield route, probe


def _slash_twin_works(
    route: RouteProbe, probe: HandshakeProbe, obs: Observations
) -> HandshakeProbe | None:
    """The route's other form (``probe`` +/- a trailing slash), if that one works."""
    for other in route.handshakes:
        if other is probe or other.path.rstrip("/") != probe.path.rstrip("/"):
            continue
        if handshake_verdict(other, route, obs)[0]:
            return other
    return None


def _not_websocket(probe: HandshakeProbe) -> bool:
    """An answer an HTTP-only server gives an upgrade: 404, or an HTTP/1.0 reply."""
    return probe.status == 404 or probe.error_kind == "invalid_http"


def _http_only_evidence(obs: Observations) -> bool:
    """Every declared path got an HTTP-only server's answer (404 or an HTTP/1.0 reply)."""
    probes = [p for _, p in _declared(obs)]
    if not probes or not all(_not_websocket(p) for p in probes):
        return False
    return any(p.status == 404 for p in probes) or (obs.http is not None and obs.http.answered)


def _paths(probes: Iterable[HandshakeProbe]) -> str:
    return ", ".join(p.path for p in probes)


def _listener_lines(obs: Observations) -> str:
    if not obs.listeners:
        return ""
    lines = []
    for listener in obs.listeners:
        what = f" [{listener.server}]" if listener.server else ""
        lines.append(f"  - {listener.describe()}{what}")
    return "\n".join(lines)


# -- comparisons: what one probe says about another -------------------------------------


def _not_routed(obs: Observations) -> list[tuple[RouteProbe, HandshakeProbe]]:
    """Declared paths refused with the very status an undeclared path gets, while the server
    accepts others: it answers them as paths it has no route for. 404 and 500 have rules of
    their own (an HTTP-only server; Channels' "No route found"); a 403 counts only when
    something shows it is not the origin validator (which refuses every path alike)."""
    unknown = obs.unknown_path
    if unknown is None or not unknown.http_refused or unknown.status in (404, 500):
        return []
    if not any(h.accepted for h in obs.all_handshakes()):
        return []  # everything refused: the comparison cannot single out a route
    if unknown.status == 403 and not _not_the_origin_validator(obs):
        return []
    return [
        (route, p)
        for route, p in _declared(obs)
        if p.status == unknown.status and not _slash_twin_works(route, p, obs)
    ]


def _not_the_origin_validator(obs: Observations) -> str:
    """The evidence that a 403 is not the origin validator's, in words ("" when none).

    A validator wraps the whole WebSocket application, so a foreign Origin accepted on any
    route means validation is off, and a request without an Origin accepted on any route
    means the validator lets such requests through (as it would on the refused route).
    """
    foreign = next((p for p in obs.origins if p.variant == "foreign origin" and p.accepted), None)
    if foreign is not None:
        return (
            f"a foreign Origin ({foreign.origin}) is accepted on {foreign.path}, so origin "
            "validation is off"
        )
    plain = [p for _, p in _declared(obs) if p.accepted and p.origin is None]
    if plain:
        verb = "is" if len(plain) == 1 else "are"
        return (
            f"{_paths(plain[:3])} {verb} accepted without an Origin header, so the validator "
            "lets such requests through"
        )
    return ""


def _route_regex(route: RouteProbe) -> str:
    """``^ws/x/(?P<id>[^/]+)/$`` for the address ``ws/x/{id}/``: the pattern to declare."""
    pattern = re.sub(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", r"(?P<\1>[^/]+)", route.address.lstrip("/"))
    return f"^{pattern}$"


def _log_evidence(obs: Observations) -> tuple[str, str]:
    """(what the server log shows, what to do next) for a failure in the consumer."""
    log = obs.server_log
    if log is None:
        return "", (
            "read the server log around these connections (`daphne -v 2`), or let the doctor "
            'read it: --log FILE, or --command "..." to start the server itself'
        )
    causes = obs.logged_causes()
    if not causes:
        return f"There is no exception in the server log ({log.source}).", (
            "run the server with more logging (`daphne -v 2`): the exception may go to another "
            "stream or file than the one read"
        )
    first = causes[0]
    where = f" at {first.where}" if first.where else ""
    times = f", {first.count} times" if first.count > 1 else ""
    when = " (written before this run)" if log.before_run else ""
    evidence = f"The server log ({log.source}){when} shows {first.summary}{where}{times}."
    if len(causes) > 1:
        others = "; ".join(e.summary for e in causes[1:3])
        evidence += f" Other exceptions: {others}."
    hint = hint_for(first)
    if hint is None:
        return evidence, f"fix the {first.kind} raised{where}"
    return f"{evidence} That is {hint.cause}.", hint.fix


def _non_auth_closes(obs: Observations) -> list[tuple[RouteProbe, HandshakeProbe]]:
    """Declared paths accepted, then closed at once with a code that is not an auth code."""
    auth_codes = _auth_codes(obs)
    return [
        (route, p)
        for route, p in _declared(obs)
        if p.closed_after_accept and p.close_code not in auth_codes
    ]


# -- the rules: one known cause each ------------------------------------------------------


@rule
def nothing_listening(obs: Observations) -> Iterator[Finding]:
    """Connection refused everywhere: no process accepts connections on this port."""
    probes = [probe for _, probe in _declared(obs)]
    if not probes or not all(p.error_kind == "refused" for p in probes):
        return
    if obs.server_log is not None and obs.server_log.exit_status:
        return  # the start command exited: server_log says so, with its output
    if obs.http is not None and obs.http.error_kind not in ("refused", ""):
        return
    detail = f"Every connection to {obs.host}:{obs.port} was refused: no process listens there."
    if obs.listeners:
        addresses = ", ".join(sorted({listener.address for listener in obs.listeners}))
        detail += (
            f" Something does listen on port {obs.port}, but on {addresses}, not on the "
            f"address {obs.host} resolves to."
        )
    yield Finding(
        "",
        "error",
        f"nothing is listening on {obs.host}:{obs.port} (connection refused)",
        detail,
        f"start the ASGI server on this port (e.g. `daphne -b {obs.host} -p {obs.port} "
        "project.asgi:application`) or check the host and port in the URL",
    )


@rule
def no_answer(obs: Observations) -> Iterator[Finding]:
    """Handshakes that got no HTTP answer for another reason than a refused connection."""
    kinds = {"timeout", "other", "invalid_http", "unresolved"}
    if _http_only_evidence(obs):
        kinds.discard("invalid_http")  # http_only_server explains those
    failed = [p for _, p in _declared(obs) if p.no_answer and p.error_kind in kinds]
    if not failed:
        return
    timeouts = [p for p in failed if p.error_kind == "timeout"]
    if timeouts:
        yield Finding(
            "",
            "error",
            f"no handshake answer within {obs.timeout:g}s on {_paths(timeouts)}",
            "A connection was made but the server did not complete the upgrade in time: a hung "
            "or overloaded server, a slow connect() in the consumer, or a service on this port "
            "that does not speak HTTP.",
            "look at the server log (run Daphne with `-v 2`); try a longer --timeout",
        )
    invalid = [p for p in failed if p.error_kind == "invalid_http"]
    if invalid:
        yield Finding(
            "",
            "error",
            f"no valid HTTP/1.1 answer to the upgrade on {_paths(invalid)}",
            "Something answered, but not with an HTTP/1.1 response: an HTTP/1.0-only server "
            "(such as `python -m http.server`) or a service that does not speak HTTP holds the "
            f"port. {invalid[0].error}",
            "check who listens on the port (above) and start the ASGI server there alone",
        )
    if any(p.error_kind == "unresolved" for p in failed):
        yield Finding(
            "",
            "error",
            f"the host name {obs.host!r} does not resolve",
            next(p.error for p in failed if p.error_kind == "unresolved"),
            "check the host in the URL (and /etc/hosts or DNS)",
        )
    by_error: dict[str, list[HandshakeProbe]] = {}
    for probe in (p for p in failed if p.error_kind == "other"):
        by_error.setdefault(probe.error, []).append(probe)
    for error, probes in by_error.items():
        yield Finding(
            "",
            "error",
            f"the handshake on {_paths(probes)} failed without an HTTP status",
            error,
            "check that the URL's scheme (ws/wss) matches the server (TLS or not)",
        )


def _families(obs: Observations) -> list[list[int | None]]:
    """Listening pids grouped into process families (a master and its forked workers share
    the socket, which is fine); an unknown pid is its own family."""
    listeners = obs.listeners or ()
    pids = {listener.pid for listener in listeners if listener.pid is not None}
    parent = {listener.pid: listener.ppid for listener in listeners if listener.pid is not None}

    def root(pid: int) -> int:
        seen = {pid}
        while parent.get(pid) in pids and parent[pid] not in seen:
            pid = parent[pid]  # type: ignore[assignment]
            seen.add(pid)
        return pid

    families: dict[int, list[int | None]] = {}
    for pid in sorted(pids):
        families.setdefault(root(pid), []).append(pid)
    unknown: list[list[int | None]] = [[None] for listener in listeners if listener.pid is None]
    return list(families.values()) + unknown


@rule
def several_listeners(obs: Observations) -> Iterator[Finding]:
    """More than one process (family) on the port: the original incident."""
    families = _families(obs)
    if len(families) < 2:
        return
    strays = [str(pid) for family in families for pid in family if pid is not None]
    yield Finding(
        "",
        "error",
        f"{len(families)} processes listen on port {obs.port}",
        "The kernel hands each new connection to one of them, so a handshake can reach a "
        "process that is not your ASGI server and get HTTP 404 (the original incident).\n"
        + _listener_lines(obs),
        "stop the processes that should not be there"
        + (f" (`kill {' '.join(strays)}` after checking which is which)" if strays else "")
        + ", then restart the ASGI server alone on the port "
        "(with `daphne -v 2` to log every request)",
    )


@rule
def non_asgi_listener(obs: Observations) -> Iterator[Finding]:
    """A listener whose command line says it is not an ASGI server (or that we cannot tell)."""
    all_accepted = all(p.accepted for _, p in _declared(obs))
    for listener in obs.listeners or ():
        signature = classify(listener.cmdline)
        note = f" ({signature.note})" if signature and signature.note else ""
        if listener.kind == "http_only":
            yield Finding(
                "",
                "warning" if all_accepted else "error",
                f"pid {listener.pid} on port {obs.port} is {listener.server}, not an ASGI server",
                f"{listener.describe()}{note}. An HTTP-only server answers a WebSocket upgrade "
                "with 404.",
                "serve the project with an ASGI server (`daphne project.asgi:application`)",
            )
        elif listener.kind == "proxy":
            yield Finding(
                "",
                "info",
                f"pid {listener.pid} on port {obs.port} is a {listener.server}",
                f"{listener.describe()}{note}.",
            )
        elif listener.kind == "unknown":
            yield Finding(
                "",
                "info",
                f"cannot tell what pid {listener.pid} on port {obs.port} is from its command line",
                f"{listener.describe()}. Known ASGI servers: Daphne, Uvicorn, Hypercorn, "
                "Gunicorn with an ASGI worker.",
            )


@rule
def http_only_server(obs: Observations) -> Iterator[Finding]:
    """Every WebSocket route answers 404: an HTTP-only application holds the port."""
    if not _http_only_evidence(obs):
        return
    probes = [p for _, p in _declared(obs)]
    http = obs.http
    http_works = http is not None and http.answered
    answer = "HTTP 404" if all(p.status == 404 for p in probes) else "HTTP 404 or HTTP/1.0"
    title = f"every WebSocket route answers {answer}"
    if http_works:
        title += " while plain HTTP works"
    evidence = []
    if http_works and http is not None:
        server = f" (Server: {http.server_header})" if http.server_header else ""
        known = classify_server_header(http.server_header)
        if known is not None:
            server += f", {known.server}" + (", HTTP only" if known.kind == "http_only" else "")
        evidence.append(f"GET {http.url} answered HTTP {http.status}{server}.")
    evidence.append(
        "An HTTP-only server answers a WebSocket upgrade with 404; Channels never does (an "
        "unmatched path gets HTTP 500 from URLRouter's 'No route found')."
    )
    unknown = obs.unknown_path
    if unknown is not None and unknown.status == 404:
        evidence.append(f"An unknown path ({unknown.path}) also answers 404, not Channels' 500.")
    listeners = obs.listeners or ()
    non_asgi = [listener for listener in listeners if listener.kind == "http_only"]
    if non_asgi:
        evidence.append(
            "Cause: an HTTP-only server holds the port: "
            + "; ".join(f"{x.describe()} [{x.server}]" for x in non_asgi)
            + "."
        )
    elif listeners and all(listener.kind == "asgi" for listener in listeners):
        evidence.append(
            "The process on the port is an ASGI server, so the likely cause is its ASGI module "
            "falling back to an HTTP-only application because importing Channels or the "
            "WebSocket routing failed."
        )
    else:
        evidence.append(
            "Likely causes: `manage.py runserver` without Channels/Daphne (or another WSGI/HTTP "
            "server) holds the port; or the ASGI module fell back to an HTTP-only application "
            "because importing Channels or the WebSocket routing failed."
        )
    yield Finding(
        "",
        "error",
        title,
        " ".join(evidence),
        "check who listens on the port (above); run `daphne -v 2 project.asgi:application` "
        "alone on it and read the log for an import error (`python -c 'import channels, "
        "daphne'` in the server's environment)",
    )


@rule
def some_routes_404(obs: Observations) -> Iterator[Finding]:
    """Some routes 404 while others are accepted: not Channels answering those."""
    if _http_only_evidence(obs):
        return  # all of them: http_only_server says it
    failing = [
        p
        for route, p in _declared(obs)
        if _not_websocket(p) and not _slash_twin_works(route, p, obs)
    ]
    if not failing:
        return
    several = len(_families(obs)) > 1
    yield Finding(
        "",
        "error",
        f"HTTP-only answers (404 or HTTP/1.0) on {_paths(failing)} while other routes work",
        "Channels never answers 404 to an upgrade (an unmatched path gets 500), so these "
        "handshakes were answered by something else"
        + (
            ": several processes share the port and each connection goes to one of them."
            if several
            else ": a proxy routing only some paths, or another server."
        ),
        "make sure the ASGI server alone serves the port"
        + (" (see the listeners above)" if several else " and that a proxy forwards these paths"),
    )


@rule
def trailing_slash(obs: Observations) -> Iterator[Finding]:
    """The path works with a trailing slash and fails without: the route regex."""
    for route in obs.routes:
        for probe in route.declared:
            if not probe.http_refused:
                continue
            twin = _slash_twin_works(route, probe, obs)
            if twin is None:
                continue
            if probe.status == 500:
                why = (
                    "HTTP 500 is Channels' URLRouter finding no route ('No route found'), so the "
                    "request did reach Channels: only the route regex does not match this form."
                )
            else:
                why = (
                    f"HTTP {probe.status} while the other form works: a proxy or another server "
                    "handles this form of the path."
                )
            regex = "^" + twin.path.strip("/") + "/?$"
            allowed = (
                "The contract allows both forms." if twin.expected else f"Only {twin.path} works."
            )
            yield Finding(
                "",
                "error",
                f"{probe.path} fails (HTTP {probe.status}) but {twin.path} works",
                f"{allowed} {why}",
                f'declare the route as re_path(r"{regex}", ...) in websocket_urlpatterns, or '
                "make clients use the form that works",
                route.name,
            )


@rule
def route_has_no_match(obs: Observations) -> Iterator[Finding]:
    """HTTP 500 on a declared path: Channels is there but no route matches it."""
    failing = [
        (route, p)
        for route, p in _declared(obs)
        if p.status == 500 and not _slash_twin_works(route, p, obs)
    ]
    if not failing:
        return
    every = len(failing) == len(list(_declared(obs)))
    yield Finding(
        "",
        "error",
        f"HTTP 500 on {_paths(p for _, p in failing)}",
        "Channels answers an upgrade it cannot route with HTTP 500 (URLRouter raises 'No route "
        "found'): the server is a Channels app but no pattern matches "
        + (
            "these paths."
            if not every
            else "any path; if every route fails like this, the "
            "middleware stack or the application may instead be crashing on each request."
        ),
        "check websocket_urlpatterns (regexes match the path without its leading slash) and the "
        "server log (`daphne -v 2`)",
        failing[0][0].name if len(failing) == 1 else None,
    )


@rule
def not_routed(obs: Observations) -> Iterator[Finding]:
    """A route answered with the same status as an unknown path: it is not routed."""
    unknown = obs.unknown_path
    failing = _not_routed(obs)
    if unknown is None or not failing:
        return
    validator = _not_the_origin_validator(obs)
    routes = {route.name: route for route, _ in failing}  # one finding per route, in order
    for route in routes.values():
        probes = [p for r, p in failing if r.name == route.name]
        detail = (
            f"The unknown path {unknown.path} gets the same HTTP {unknown.status}, while other "
            f"handshakes are accepted: the server answers {_paths(probes)} as a path it has no "
            "route for (a catch-all route, or a proxy or middleware refusing unmatched paths; "
            "Channels' own URLRouter answers 500)."
        )
        if unknown.status == 403:
            detail += f" It is not the origin validator: {validator}."
        yield Finding(
            "",
            "error",
            f"{probes[0].path} is not routed: HTTP {unknown.status}, as on an unknown path",
            detail,
            f'add the route to websocket_urlpatterns (re_path(r"{_route_regex(route)}", ...)), '
            "or check what forwards this path to the ASGI app (a proxy)",
            route.name,
        )


@rule
def refused_before_accept(obs: Observations) -> Iterator[Finding]:
    """HTTP 403 on a route, where the origin validator is ruled out: the app refused it."""
    validator = _not_the_origin_validator(obs)
    not_routed = [p for _, p in _not_routed(obs)]
    refused = [
        p
        for route, p in _declared(obs)
        if p.status == 403 and p not in not_routed and not _slash_twin_works(route, p, obs)
    ]
    if not refused or not validator:
        return
    unknown = obs.unknown_path
    own = ""
    if unknown is not None and unknown.status not in (None, 403):
        own = (
            f" An unknown path gets HTTP {unknown.status}, not 403: the refusal belongs to "
            "this route."
        )
    yield Finding(
        "",
        "error",
        f"HTTP 403 on {_paths(refused)} is not the origin validator",
        f"It is not the origin validator: {validator}. Daphne answers 403 when the application "
        "closes the connection before accepting it: the route's consumer calls close() before "
        "accept() in connect() (an auth or permission check refusing this client), or a "
        f"middleware in front of it denies the request.{own}",
        "accept() first and then close with a close code that says why (browsers see only "
        "'403' otherwise), or bring what the route requires (--token); the server log "
        "(`daphne -v 2`) shows the refusal",
    )


@rule
def origin_refused(obs: Observations) -> Iterator[Finding]:
    """HTTP 403 at the handshake (no Origin sent): the origin validator or ALLOWED_HOSTS,
    unless a comparison rules the validator out (then the rules above say what it is)."""
    if _not_the_origin_validator(obs):
        return
    refused = [p for _, p in _declared(obs) if p.status == 403]
    if not refused:
        return
    yield Finding(
        "",
        "error",
        f"HTTP 403 at the handshake on {_paths(refused)}",
        "The server refused the upgrade before any consumer ran. In Channels that is the origin "
        "validator (AllowedHostsOriginValidator / OriginValidator): stock Channels refuses a "
        "request without an Origin header unless ALLOWED_HOSTS contains '*', and a host missing "
        "from ALLOWED_HOSTS is refused too.",
        f"add {obs.host!r} to ALLOWED_HOSTS (and the page's origin to the validator), or allow "
        "a missing Origin for non-browser clients",
    )


@rule
def origin_policy(obs: Observations) -> Iterator[Finding]:
    """How the server treats a foreign and the same-host Origin header."""
    for probe in obs.origins:
        if probe.variant == "foreign origin" and probe.accepted:
            yield Finding(
                "",
                "warning",
                f"a foreign Origin ({probe.origin}) is accepted on {probe.path}",
                "Origin validation is off: a page on any site can open this socket in a "
                "visitor's browser, with their cookies.",
                "wrap the WebSocket app in AllowedHostsOriginValidator",
            )
        elif probe.variant == "same-host origin" and probe.status == 403:
            yield Finding(
                "",
                "warning",
                f"the same-host Origin ({probe.origin}) is refused with HTTP 403 on {probe.path}",
                "Browsers send this Origin for a page served from this host, so a browser test "
                "page fails while scripts without an Origin succeed.",
                f"add {obs.host!r} to ALLOWED_HOSTS",
            )


@rule
def auth_close(obs: Observations) -> Iterator[Finding]:
    """A close with the contract's auth codes right after accept: expected, or a refusal."""
    auth_codes = _auth_codes(obs)
    for route, probe in _declared(obs):
        if not probe.closed_after_accept or probe.close_code not in auth_codes:
            continue
        code = obs.close_name(probe.close_code)
        if auth_close_expected(probe, route, obs):
            yield Finding(
                "",
                "info",
                f"{probe.path}: reachable, auth enforced (close {code})",
                f"The route requires {route.auth} access and the doctor "
                + ("used a placeholder id" if route.token_sent else "sent no token")
                + "; pass --token to try it as a user.",
                route=route.name,
            )
            continue
        if probe.close_code == obs.close_codes.get(NOT_AUTHENTICATED):
            detail = "The server accepted the upgrade and then closed it as not authenticated: " + (
                "the token was refused (expired, wrong kind, or signed with another key)."
                if route.token_sent
                else f"the contract says this route allows {route.auth} access, but the server "
                "wants a token."
            )
            fix = "check the token (or the auth middleware's policy)"
        else:
            detail = (
                "The server accepted the upgrade and then closed it as forbidden: the token's "
                "user may not use this path (another user's id in it?)."
            )
            fix = "use the id of the token's user in the path"
        yield Finding(
            "",
            "error",
            f"{probe.path} closes with {code} right after accept",
            detail,
            fix,
            route.name,
        )


@rule
def closed_after_accept(obs: Observations) -> Iterator[Finding]:
    """A close (other than auth) right after accept: the consumer's connect() failed. When
    every accepted connection closes alike, that is one cause (connect() itself), said once,
    with the exception from the server log when the doctor has it."""
    closes = _non_auth_closes(obs)
    if not closes:
        return
    evidence, fix = _log_evidence(obs)
    accepted = [
        p for route, p in _declared(obs) if p.accepted and not auth_close_expected(p, route, obs)
    ]
    codes = {p.close_code for _, p in closes}
    if len(closes) == len(accepted) and len(codes) == 1:
        names = ", ".join(dict.fromkeys(route.name for route, _ in closes))
        yield Finding(
            "",
            "error",
            f"every connection the server accepts closes with "
            f"{obs.close_name(closes[0][1].close_code)} right after accept",
            f"The handshake succeeds on every route that lets this client in ({names}), then "
            "the server closes before answering. What they all run right after accept() is the "
            "consumer's connect() (or a base class they share): an exception there makes Daphne "
            f"close with 1011. {evidence}".rstrip(),
            fix,
        )
        return
    for route, probe in closes:
        reason = f" ({probe.close_reason})" if probe.close_reason else ""
        yield Finding(
            "",
            "error",
            f"{probe.path} closes with {obs.close_name(probe.close_code)} "
            f"right after accept{reason}",
            " ".join(
                (
                    "The handshake succeeded, then the server ended the connection before "
                    "answering: usually an exception in the consumer's connect() or first receive.",
                    evidence,
                )
            ).rstrip(),
            fix,
            route.name,
        )


@rule
def server_log(obs: Observations) -> Iterator[Finding]:
    """What the server's log (--log / --command) says that no other rule cites."""
    log = obs.server_log
    if log is None:
        return
    causes = obs.logged_causes()
    hint = hint_for(causes[0]) if causes else None
    if log.exit_status:
        if causes:
            detail = f"Its output shows {causes[0].summary}" + (
                f" at {causes[0].where}." if causes[0].where else "."
            )
            detail += f" That is {hint.cause}." if hint else ""
        else:
            detail = "Its last lines:\n" + log.tail if log.tail else "It wrote nothing."
        yield Finding(
            "",
            "error",
            f"the start command exited ({log.exit_status}) before the probes",
            detail,
            hint.fix if hint else "run the command by hand and read its output",
        )
        return
    if not causes or _non_auth_closes(obs):
        return  # closed_after_accept cites the log
    for cause in causes[:3]:
        known = hint_for(cause)
        where = f" at {cause.where}" if cause.where else ""
        times = f" ({cause.count} times)" if cause.count > 1 else ""
        yield Finding(
            "",
            "warning",
            f"the server log shows {cause.summary}{times}",
            f"Logged{where} while the doctor probed ({log.source})."
            + (f" That is {known.cause}." if known else ""),
            known.fix if known else "",
        )


@rule
def heartbeat_unanswered(obs: Observations) -> Iterator[Finding]:
    """Accepted and open, but the heartbeat got no reply."""
    for route, probe in _declared(obs):
        if probe.accepted and probe.close_code is None and probe.heartbeat_error:
            yield Finding(
                "",
                "error",
                f"no {obs.heartbeat_reply} to {obs.heartbeat} on {probe.path}",
                "The connection is open but the documented reply did not come: "
                + probe.heartbeat_error,
                "check the consumer's receive() handles this message type and is not blocked",
                route.name,
            )


@rule
def no_first_frame(obs: Observations) -> Iterator[Finding]:
    """Accepted, open, yet no confirmation (only when the contract declares one)."""
    if obs.confirmation is None:
        return  # plain WebSocket: many servers say nothing until asked
    for route, probe in _declared(obs):
        if probe.accepted and probe.close_code is None and probe.first_frame is None:
            if obs.confirm_after == "connect":
                title = f"no {obs.confirmation} in answer to the hello at {probe.path}"
                detail = (
                    f"The doctor sent the contract's hello; the server sent no "
                    f"{obs.confirmation!r} (nor anything else) before its next message."
                )
                fix = "check the hello (x-roles.hello.send or the config's connect_message)"
            else:
                title = f"no frame on accept at {probe.path}"
                detail = (
                    f"The contract sends {obs.confirmation!r} on accept; this server sent "
                    "nothing before the doctor's first message. It may confirm only after the "
                    "client's first message (the contract's hello)."
                )
                fix = "if so, declare `confirmation: {after: connect}` in a config (--config)"
            yield Finding("", "warning", title, detail, fix, route=route.name)


@rule
def unknown_path(obs: Observations) -> Iterator[Finding]:
    """What an undeclared path gets: 500 is normal for Channels; 101 is a catch-all route."""
    probe = obs.unknown_path
    if probe is None:
        return
    if probe.accepted:
        yield Finding(
            "",
            "warning",
            f"an undeclared path ({probe.path}) is accepted",
            "The contract says any other path must fail the handshake; a catch-all route hides "
            "clients that use a wrong URL.",
            "anchor the route regexes (^...$) in websocket_urlpatterns",
        )
        return
    seen_500 = any(h.status == 500 for h in obs.all_handshakes() if h is not probe)
    if probe.status == 500 and seen_500:
        yield Finding(
            "",
            "info",
            "HTTP 500 on an unmatched path is normal for Channels",
            f"An unknown path ({probe.path}) answers 500 too: URLRouter raises 'No route found'. "
            "It shows a Channels app serves this port; a 404 instead would mean the request "
            "never reached Channels.",
        )


@rule
def unusual_status(obs: Observations) -> Iterator[Finding]:
    """An HTTP status on the upgrade that no other rule explains."""
    not_routed = [p for _, p in _not_routed(obs)]
    for route, probe in _declared(obs):
        if not probe.http_refused or probe.status in _EXPLAINED_STATUSES or probe in not_routed:
            continue
        hint = STATUS_HINTS.get(probe.status or 0, "an unusual answer to a WebSocket upgrade")
        body = f" Body: {probe.body!r}." if probe.body else ""
        yield Finding(
            "",
            "error",
            f"{probe.path} answers the handshake with HTTP {probe.status}",
            f"Probably {hint}.{body}",
            "check what serves this path (proxy configuration, the listeners above)",
            route.name,
        )
