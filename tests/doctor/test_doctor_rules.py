"""The diagnosis rules on hand-made observations: no server, no sockets, milliseconds."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import pytest

from harness.doctor import (
    Finding,
    HandshakeProbe,
    HttpProbe,
    ListenerInfo,
    LoggedException,
    Observations,
    RouteProbe,
    ServerLog,
    diagnose,
)
from harness.doctor.rules import BUILTIN_RULES, RuleSet

CLOSE_CODES = {"normal": 1000, "internal_error": 1011, "not_authenticated": 4001, "forbidden": 4003}
DAPHNE = ListenerInfo(
    1, "127.0.0.1", "daphne -p 8000 app.asgi:application", "me", 0, "asgi", "Daphne"
)
RUNSERVER = ListenerInfo(
    2, "127.0.0.1", "python manage.py runserver", "me", 0, "http_only", "Django runserver"
)


def ok(path: str, **changes: object) -> HandshakeProbe:
    values: dict[str, object] = {
        "status": 101,
        "first_frame": "connection_confirmed",
        "heartbeat_ms": 1.0,
    }
    values.update(changes)
    return HandshakeProbe(path=path, url="ws://x" + path, **values)  # type: ignore[arg-type]


def refused(path: str, status: int | None, **changes: object) -> HandshakeProbe:
    return HandshakeProbe(path=path, url="ws://x" + path, status=status, **changes)  # type: ignore[arg-type]


def observations(
    *routes: RouteProbe,
    listeners: Iterable[ListenerInfo] | None = (DAPHNE,),
    http: HttpProbe | None = None,
    unknown: HandshakeProbe | None = None,
    origins: Iterable[HandshakeProbe] = (),
    token: bool = False,
) -> Observations:
    return Observations(
        url="ws://127.0.0.1:8000",
        host="127.0.0.1",
        port=8000,
        listeners=tuple(listeners) if listeners is not None else None,
        http=http or HttpProbe("http://127.0.0.1:8000/", 404, "daphne"),
        unknown_path=unknown or refused("/ws/nope/", 500, expected=False, variant="unknown path"),
        routes=routes,
        origins=tuple(origins),
        close_codes=CLOSE_CODES,
        heartbeat="heartbeat",
        heartbeat_reply="heartbeat_response",
        token_given=token,
        confirmation="connection_confirmed",
        contract="permissions.asyncapi.yaml",
    )


def healthy_routes() -> tuple[RouteProbe, ...]:
    return (
        RouteProbe(
            "permissions",
            "ws/permissions/",
            "optional",
            handshakes=(
                ok("/ws/permissions/"),
                refused("/ws/permissions", 500, expected=False, variant="slashless"),
            ),
        ),
        RouteProbe(
            "permissions_user",
            "ws/permissions/{user_id}/",
            "owner",
            {"user_id": "1"},
            "placeholder",
            handshakes=(
                ok("/ws/permissions/1/", first_frame=None, heartbeat_ms=None, close_code=4001),
            ),
        ),
        RouteProbe(
            "permissions_anonymous",
            "ws/permissions/anonymous/",
            "anonymous",
            handshakes=(
                ok("/ws/permissions/anonymous/"),
                ok("/ws/permissions/anonymous"),
            ),
        ),
    )


def errors(findings: list[Finding]) -> set[str]:
    return {f.rule for f in findings if f.severity == "error"}


def test_healthy_server_has_no_errors_and_exit_0() -> None:
    report = diagnose(observations(*healthy_routes()))
    assert errors(report.findings) == set()
    assert report.healthy and report.exit_code == 0
    assert [v.healthy for v in report.verdicts] == [True, True, True]
    assert "auth enforced" in report.verdicts[1].summary
    assert {f.rule for f in report.findings} == {"auth_close", "unknown_path"}


def test_every_route_404_with_http_working_is_an_http_only_server() -> None:
    routes = tuple(
        RouteProbe(
            r.name,
            r.address,
            r.auth,
            handshakes=tuple(refused(h.path, 404, expected=h.expected) for h in r.handshakes),
        )
        for r in healthy_routes()
    )
    report = diagnose(observations(*routes, unknown=refused("/ws/nope/", 404, expected=False)))
    assert errors(report.findings) == {"http_only_server"}
    finding = report.findings[0]
    assert finding.title == "every WebSocket route answers HTTP 404 while plain HTTP works"
    assert "ASGI module falling back to an HTTP-only application" in finding.detail
    assert "not Channels' 500" in finding.detail
    assert report.exit_code == 1


def test_http_only_names_runserver_when_it_holds_the_port() -> None:
    route = RouteProbe("r", "ws/r/", handshakes=(refused("/ws/r/", 404),))
    http = HttpProbe("http://127.0.0.1:8000/", 200, "WSGIServer/0.2 CPython/3.11")
    report = diagnose(observations(route, listeners=[RUNSERVER], http=http))
    finding = next(f for f in report.findings if f.rule == "http_only_server")
    assert "Django runserver" in finding.detail
    assert "wsgiref (Django runserver without Daphne), HTTP only" in finding.detail
    non_asgi = next(f for f in report.findings if f.rule == "non_asgi_listener")
    assert non_asgi.severity == "error"
    assert non_asgi.title == "pid 2 on port 8000 is Django runserver, not an ASGI server"


def test_http_10_answers_count_as_http_only() -> None:
    invalid = {
        "error": "InvalidMessage: did not receive a valid HTTP response",
        "error_kind": "invalid_http",
    }
    route = RouteProbe("r", "ws/r/", handshakes=(refused("/ws/r/", None, **invalid),))
    http = HttpProbe("http://127.0.0.1:8000/", 200, "SimpleHTTP/0.6 Python/3.11")
    report = diagnose(observations(route, listeners=[], http=http))
    assert errors(report.findings) == {"http_only_server"}
    assert "Python http.server" in report.findings[0].detail


def test_only_the_slashless_form_fails_is_the_route_regex() -> None:
    routes = healthy_routes()
    anonymous = RouteProbe(
        "permissions_anonymous",
        "ws/permissions/anonymous/",
        "anonymous",
        handshakes=(ok("/ws/permissions/anonymous/"), refused("/ws/permissions/anonymous", 404)),
    )
    report = diagnose(observations(routes[0], routes[1], anonymous))
    assert errors(report.findings) == {"trailing_slash"}
    finding = next(f for f in report.findings if f.rule == "trailing_slash")
    assert finding.route == "permissions_anonymous"
    assert r'"^ws/permissions/anonymous/?$"' in finding.fix
    assert [v.healthy for v in report.verdicts] == [True, True, False]


def test_403_at_handshake_is_the_origin_validator() -> None:
    route = RouteProbe("r", "ws/r/", handshakes=(refused("/ws/r/", 403),))
    report = diagnose(observations(route))
    assert errors(report.findings) == {"origin_refused"}
    assert "ALLOWED_HOSTS" in report.findings[0].detail


def test_origin_policy_warnings() -> None:
    origins = [
        ok("/ws/r/", expected=False, variant="foreign origin", origin="http://evil.example"),
        refused(
            "/ws/r/",
            403,
            expected=False,
            variant="same-host origin",
            origin="http://127.0.0.1:8000",
        ),
    ]
    route = RouteProbe("r", "ws/r/", handshakes=(ok("/ws/r/"),))
    report = diagnose(observations(route, origins=origins))
    warnings = [f.title for f in report.findings if f.rule == "origin_policy"]
    assert len(warnings) == 2
    assert "foreign Origin (http://evil.example) is accepted" in warnings[0]
    assert "same-host Origin" in warnings[1]
    assert report.exit_code == 0  # warnings do not fail the run


@pytest.mark.parametrize(
    ("code", "token", "expected_ok"),
    [
        (4001, False, True),  # no token on an owner route: auth enforced, healthy
        (4003, True, True),  # token, but a placeholder id: someone else's path
        (4001, True, False),  # the token was refused
    ],
)
def test_auth_close_on_an_owner_route(code: int, token: bool, expected_ok: bool) -> None:
    route = RouteProbe(
        "user",
        "ws/u/{user_id}/",
        "owner",
        {"user_id": "1"},
        "placeholder",
        token,
        (ok("/ws/u/1/", first_frame=None, heartbeat_ms=None, close_code=code),),
    )
    report = diagnose(observations(route, token=token))
    assert report.verdicts[0].healthy is expected_ok
    finding = next(f for f in report.findings if f.rule == "auth_close")
    assert finding.severity == ("info" if expected_ok else "error")
    assert str(code) in finding.title


def test_auth_close_on_an_open_route_is_an_error() -> None:
    route = RouteProbe(
        "r",
        "ws/r/",
        "optional",
        handshakes=(ok("/ws/r/", first_frame=None, heartbeat_ms=None, close_code=4001),),
    )
    report = diagnose(observations(route))
    assert errors(report.findings) == {"auth_close"}
    assert "4001 (not_authenticated)" in report.findings[0].title
    assert "allows optional access" in report.findings[0].detail


def test_other_close_after_accept_and_missing_heartbeat() -> None:
    routes = (
        RouteProbe(
            "a",
            "ws/a/",
            handshakes=(ok("/ws/a/", first_frame=None, heartbeat_ms=None, close_code=1011),),
        ),
        RouteProbe(
            "b",
            "ws/b/",
            handshakes=(
                ok("/ws/b/", heartbeat_ms=None, heartbeat_error="no 'heartbeat_response'"),
            ),
        ),
        RouteProbe("c", "ws/c/", handshakes=(ok("/ws/c/", first_frame=None),)),
    )
    report = diagnose(observations(*routes))
    assert errors(report.findings) == {"closed_after_accept", "heartbeat_unanswered"}
    assert "1011 (internal_error)" in report.findings[0].title
    assert any(f.rule == "no_first_frame" and f.severity == "warning" for f in report.findings)
    assert [v.healthy for v in report.verdicts] == [False, False, True]


def test_connection_refused_is_nothing_listening() -> None:
    failure = {"error": "ConnectionRefusedError: [Errno 111]", "error_kind": "refused"}
    route = RouteProbe("r", "ws/r/", handshakes=(refused("/ws/r/", None, **failure),))
    http = HttpProbe("http://127.0.0.1:8000/", None, error="refused", error_kind="refused")
    report = diagnose(
        observations(
            route,
            listeners=[],
            http=http,
            unknown=refused("/ws/nope/", None, expected=False, **failure),
        )
    )
    assert errors(report.findings) == {"nothing_listening"}
    assert "nothing is listening on 127.0.0.1:8000" in report.findings[0].title


def test_several_listeners_but_workers_of_one_master_are_one() -> None:
    route = RouteProbe("r", "ws/r/", handshakes=(ok("/ws/r/"),))
    master = ListenerInfo(
        10, "0.0.0.0", "gunicorn -k uvicorn.workers.UvicornWorker a:app", ppid=1, kind="asgi"
    )
    worker = ListenerInfo(11, "0.0.0.0", master.cmdline, ppid=10, kind="asgi")
    assert diagnose(observations(route, listeners=[master, worker])).healthy
    report = diagnose(observations(route, listeners=[DAPHNE, RUNSERVER]))
    assert errors(report.findings) == {"several_listeners"}  # runserver: a warning (all accepted)
    assert report.findings[0].title == "2 processes listen on port 8000"
    assert "kill 1 2" in report.findings[0].fix
    assert report.exit_code == 1


def test_some_routes_404_with_several_listeners() -> None:
    routes = (
        RouteProbe("a", "ws/a/", handshakes=(ok("/ws/a/"),)),
        RouteProbe("b", "ws/b/", handshakes=(refused("/ws/b/", 404),)),
    )
    report = diagnose(observations(*routes, listeners=[DAPHNE, RUNSERVER]))
    assert {"several_listeners", "some_routes_404", "non_asgi_listener"} <= errors(report.findings)
    finding = next(f for f in report.findings if f.rule == "some_routes_404")
    assert "several processes share the port" in finding.detail


def test_500_on_a_declared_route_is_no_matching_route() -> None:
    routes = (
        RouteProbe("a", "ws/a/", handshakes=(ok("/ws/a/"),)),
        RouteProbe("b", "ws/b/", handshakes=(refused("/ws/b/", 500),)),
    )
    report = diagnose(observations(*routes))
    assert errors(report.findings) == {"route_has_no_match"}
    assert "No route found" in report.findings[0].detail
    assert any(f.rule == "unknown_path" for f in report.findings)  # the 500 is normal note


def test_unusual_status_gets_a_hint() -> None:
    route = RouteProbe("r", "ws/r/", handshakes=(refused("/ws/r/", 502, body="Bad Gateway"),))
    report = diagnose(observations(route))
    assert errors(report.findings) == {"unusual_status"}
    assert "upstream" in report.findings[0].detail and "Bad Gateway" in report.findings[0].detail


def test_a_new_cause_is_one_decorated_function() -> None:
    rules = BUILTIN_RULES.copy()

    @rules.rule
    def slow_heartbeat(obs: Observations) -> Iterable[Finding]:
        for route in obs.routes:
            for probe in route.declared:
                if (probe.heartbeat_ms or 0) > 500:
                    yield Finding("", "warning", f"slow heartbeat on {probe.path}")

    route = RouteProbe("r", "ws/r/", handshakes=(ok("/ws/r/", heartbeat_ms=900.0),))
    report = diagnose(observations(route), rules)
    assert [f.rule for f in report.findings if f.severity == "warning"] == ["slow_heartbeat"]
    assert "slow_heartbeat" not in BUILTIN_RULES.rules  # the built-in registry is untouched
    with pytest.raises(ValueError, match="already registered"):
        rules.rule(slow_heartbeat)


def test_rules_are_pure() -> None:
    obs = observations(*healthy_routes())
    assert diagnose(obs) == diagnose(obs)
    assert isinstance(RuleSet().diagnose(obs), list)


def test_without_a_contract_only_plain_websocket_behaviour_counts() -> None:
    """No contract: silence on accept is fine, no close code means auth, nothing is sent."""
    plain = {
        "heartbeat": None,
        "heartbeat_reply": None,
        "confirmation": None,
        "contract": None,
        "close_codes": {},
    }
    routes = (
        RouteProbe(
            "/quiet/", "quiet/", handshakes=(ok("/quiet/", first_frame=None, heartbeat_ms=None),)
        ),
        RouteProbe(
            "/closing/",
            "closing/",
            handshakes=(ok("/closing/", heartbeat_ms=None, close_code=4001),),
        ),
    )
    report = diagnose(dataclasses.replace(observations(*routes), **plain))
    assert [(v.healthy, v.summary) for v in report.verdicts] == [
        (True, "accepted, stays open"),
        (False, "/closing/: closed 4001 after accept"),
    ]
    assert errors(report.findings) == {"closed_after_accept"}
    assert not any(f.rule in ("no_first_frame", "auth_close") for f in report.findings)


def test_no_confirmation_after_the_hello_names_the_hello() -> None:
    route = RouteProbe("r", "ws/r/", handshakes=(ok("/ws/r/", first_frame=None),))
    obs = dataclasses.replace(observations(route), confirm_after="connect")
    finding = next(f for f in diagnose(obs).findings if f.rule == "no_first_frame")
    assert finding.title == "no connection_confirmed in answer to the hello at /ws/r/"
    assert "hello" in finding.fix


# -- diagnosis by comparison -----------------------------------------------------------------


def with_owner_route(status: int, **changes: object) -> tuple[RouteProbe, ...]:
    """The healthy routes, with the owner route's handshake answered by ``status``."""
    first, owner, anonymous = healthy_routes()
    refusal = refused("/ws/permissions/1/", status, **changes)
    return first, dataclasses.replace(owner, handshakes=(refusal,)), anonymous


FOREIGN_ACCEPTED = ok(
    "/ws/permissions/", expected=False, variant="foreign origin", origin="http://evil.example"
)
FOREIGN_REFUSED = refused(
    "/ws/permissions/", 403, expected=False, variant="foreign origin", origin="http://evil.example"
)


def test_the_unknown_paths_status_on_a_route_means_not_routed() -> None:
    """403 on the route and on the unknown path, other routes accepted without an Origin."""
    unknown = refused("/ws/nope/", 403, expected=False, variant="unknown path")
    report = diagnose(observations(*with_owner_route(403), unknown=unknown))
    assert errors(report.findings) == {"not_routed"}
    finding = next(f for f in report.findings if f.rule == "not_routed")
    assert finding.title == "/ws/permissions/1/ is not routed: HTTP 403, as on an unknown path"
    assert finding.route == "permissions_user"
    assert "not the origin validator" in finding.detail
    assert "accepted without an Origin" in finding.detail
    assert "websocket_urlpatterns" in finding.fix


def test_not_routed_with_another_status_and_a_foreign_origin_accepted() -> None:
    unknown = refused("/ws/nope/", 400, expected=False, variant="unknown path")
    obs = observations(*with_owner_route(400), unknown=unknown, origins=[FOREIGN_ACCEPTED])
    report = diagnose(obs)
    assert errors(report.findings) == {"not_routed"}  # not unusual_status: the comparison says
    detail = next(f.detail for f in report.findings if f.rule == "not_routed")
    assert "HTTP 400" in detail


def test_a_foreign_origin_accepted_means_the_403_is_not_the_origin_validator() -> None:
    """403 on one route, Channels' 500 on the unknown path, a foreign Origin accepted: the
    route's own consumer (or middleware) refused before accept."""
    report = diagnose(observations(*with_owner_route(403), origins=[FOREIGN_ACCEPTED]))
    assert errors(report.findings) == {"refused_before_accept"}
    finding = next(f for f in report.findings if f.rule == "refused_before_accept")
    assert "not the origin validator" in finding.title
    assert "a foreign Origin (http://evil.example) is accepted on /ws/permissions/" in (
        finding.detail
    )
    assert "close() before accept()" in finding.detail


def test_403_everywhere_and_nothing_accepted_is_still_the_origin_validator() -> None:
    """No handshake without an Origin works and the foreign Origin is refused: the unknown
    path's 403 says nothing (a validator refuses every path alike)."""
    routes = tuple(
        dataclasses.replace(r, handshakes=(refused(r.declared[0].path, 403),))
        for r in healthy_routes()
    )
    unknown = refused("/ws/nope/", 403, expected=False, variant="unknown path")
    report = diagnose(observations(*routes, unknown=unknown, origins=[FOREIGN_REFUSED]))
    assert errors(report.findings) == {"origin_refused"}


def closing_routes() -> tuple[RouteProbe, ...]:
    """Every route that is not refused for auth closes 1011 right after accept."""
    closing = {"first_frame": None, "heartbeat_ms": None, "close_code": 1011}
    first, owner, anonymous = healthy_routes()
    return (
        dataclasses.replace(first, handshakes=(ok("/ws/permissions/", **closing),)),
        owner,  # 4001 without a token: auth enforced, as it should be
        dataclasses.replace(
            anonymous,
            handshakes=(
                ok("/ws/permissions/anonymous/", **closing),
                ok("/ws/permissions/anonymous", **closing),
            ),
        ),
    )


def test_close_after_accept_on_every_route_points_at_connect() -> None:
    report = diagnose(observations(*closing_routes()))
    closed = [f for f in report.findings if f.rule == "closed_after_accept"]
    assert len(closed) == 1  # one cause, said once
    assert closed[0].title == (
        "every connection the server accepts closes with 1011 (internal_error) right after accept"
    )
    assert "connect()" in closed[0].detail
    assert "permissions, permissions_anonymous" in closed[0].detail
    assert "--log" in closed[0].fix and "--command" in closed[0].fix


def test_the_exception_in_the_server_log_is_shown() -> None:
    layer = LoggedException(
        "AttributeError",
        "'NoneType' object has no attribute 'group_add'",
        where="chat/consumers.py:173 in join",
        count=4,
    )
    no_route = LoggedException("ValueError", "No route found for path 'ws/nope/'.")
    log = ServerLog(source="--log server.log", exceptions=(no_route, layer))
    obs = dataclasses.replace(observations(*closing_routes()), server_log=log)
    report = diagnose(obs)
    [closed] = [f for f in report.findings if f.rule == "closed_after_accept"]
    assert "AttributeError: 'NoneType' object has no attribute 'group_add'" in closed.detail
    assert "chat/consumers.py:173 in join" in closed.detail and "4 times" in closed.detail
    assert "No route found" not in closed.detail  # the doctor's own unknown path
    assert "CHANNEL_LAYERS" in closed.fix


def test_a_log_without_exceptions_is_said() -> None:
    log = ServerLog(source="--log server.log")
    obs = dataclasses.replace(observations(*closing_routes()), server_log=log)
    [closed] = [f for f in diagnose(obs).findings if f.rule == "closed_after_accept"]
    assert "no exception in the server log (--log server.log)" in closed.detail


def test_a_command_that_exited_is_an_error_with_its_exception() -> None:
    crash = LoggedException("ModuleNotFoundError", "No module named 'channels'")
    log = ServerLog("--command 'daphne app:app'", (crash,), exit_status="exit code 1")
    failure = {"error": "ConnectionRefusedError", "error_kind": "refused"}
    route = RouteProbe("r", "ws/r/", handshakes=(refused("/ws/r/", None, **failure),))
    obs = dataclasses.replace(observations(route, listeners=[]), server_log=log)
    report = diagnose(obs)
    assert errors(report.findings) == {"server_log"}  # not also "nothing listening": one cause
    exited = report.findings[0]
    assert exited.title == "the start command exited (exit code 1) before the probes"
    assert "ModuleNotFoundError: No module named 'channels'" in exited.detail


def test_a_403_on_one_slash_form_is_the_route_regex_only() -> None:
    """The other form works: trailing_slash says it, not a second finding about the 403."""
    first, owner, _ = healthy_routes()
    anonymous = RouteProbe(
        "permissions_anonymous",
        "ws/permissions/anonymous/",
        "anonymous",
        handshakes=(ok("/ws/permissions/anonymous/"), refused("/ws/permissions/anonymous", 403)),
    )
    report = diagnose(observations(first, owner, anonymous, origins=[FOREIGN_ACCEPTED]))
    assert errors(report.findings) == {"trailing_slash"}
