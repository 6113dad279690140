"""``ws-harness doctor`` against real servers: the reference target healthy and with faults,
two processes on one port, and nothing listening. Each test checks that the diagnosis names
the cause, not only the exit code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from doctor_support import REPO, run_doctor

from harness.auth import TokenProvider
from harness.cli import main
from harness.config import load_config
from harness.contract import load_contract
from harness.targets.ports import free_port, port_accepts

pytestmark = pytest.mark.slow


def rules(report: dict[str, Any], severity: str = "error") -> set[str]:
    return {f["rule"] for f in report["findings"] if f["severity"] == severity}


def text(report: dict[str, Any]) -> str:
    return "\n".join(f"{f['title']} {f['detail']} {f['fix']}" for f in report["findings"])


def finding(report: dict[str, Any], rule: str) -> dict[str, Any]:
    found = [f for f in report["findings"] if f["rule"] == rule]
    assert found, f"no {rule} finding in:\n{text(report)}"
    return found[0]


def doctor_fails(capsys: Any, url: str, *args: str) -> dict[str, Any]:
    """Run the doctor on ``url``; it must exit 1 (not healthy). Returns the JSON report."""
    code, report = run_doctor(capsys, url, *args)
    assert code == 1, text(report)
    return report


def test_healthy_target_exits_0(start_target: Callable[..., str], capsys: Any) -> None:
    url = start_target()
    code, report = run_doctor(capsys, url)
    assert code == 0, text(report)
    assert report["healthy"] is True
    assert rules(report) == set()
    verdicts = {v["route"]: v for v in report["routes"]}
    assert set(verdicts) == {"permissions", "permissions_user", "permissions_anonymous"}
    assert "auth enforced" in verdicts["permissions_user"]["summary"]  # placeholder id, no token
    listeners = report["observations"]["listeners"]
    assert [listener["kind"] for listener in listeners] == ["asgi"]
    origins = {o["variant"]: o["status"] for o in report["observations"]["origins"]}
    assert origins == {"foreign origin": 403, "same-host origin": 101}


def test_healthy_target_readable_table(start_target: Callable[..., str], capsys: Any) -> None:
    url = start_target()
    capsys.readouterr()
    assert main(["doctor", url]) == 0
    out = capsys.readouterr().out
    for expected in (
        "Listening on port",
        "WebSocket handshakes",
        "/ws/permissions/anonymous",
        "connection_confirmed",
        "healthy: all 3 routes",
    ):
        assert expected in out


def test_http_only_fault_names_the_http_only_fallback(
    start_target: Callable[..., str], capsys: Any
) -> None:
    url = start_target("http_only")
    report = doctor_fails(capsys, url)
    assert "http_only_server" in rules(report)
    fallback = finding(report, "http_only_server")
    assert "while plain HTTP works" in fallback["title"]
    assert "falling back to an HTTP-only application" in fallback["detail"]  # an ASGI listener
    assert "not Channels' 500" in fallback["detail"]  # the unknown path 404s too


def test_slashless_anonymous_route_names_the_route_regex(
    start_target: Callable[..., str], capsys: Any
) -> None:
    url = start_target("no_anonymous_slashless")
    report = doctor_fails(capsys, url)
    assert rules(report) == {"trailing_slash"}
    regex = finding(report, "trailing_slash")
    assert regex["title"].startswith("/ws/permissions/anonymous fails (HTTP 500)")
    assert "No route found" in regex["detail"]
    assert r"^ws/permissions/anonymous/?$" in regex["fix"]
    unhealthy = [v["route"] for v in report["routes"] if not v["healthy"]]
    assert unhealthy == ["permissions_anonymous"]


def test_incident_url_with_its_path(start_target: Callable[..., str], capsys: Any) -> None:
    """The URL of the original incident: the path in the URL is the route to check."""
    url = start_target("no_anonymous_slashless")
    report = doctor_fails(capsys, f"{url}/ws/permissions/anonymous")
    assert [r["name"] for r in report["observations"]["routes"]] == ["permissions_anonymous"]
    assert "trailing_slash" in rules(report)


def test_two_processes_on_the_port(reuseport_http: Callable[[int], Any], capsys: Any) -> None:
    """Two SO_REUSEPORT HTTP servers share one port (Daphne cannot join a port that way)."""
    port = free_port()
    first, second = reuseport_http(port), reuseport_http(port)
    report = doctor_fails(capsys, f"ws://127.0.0.1:{port}")
    pids = {listener["pid"] for listener in report["observations"]["listeners"]}
    assert pids == {first.pid, second.pid}
    assert {"several_listeners", "http_only_server"} <= rules(report)
    several = finding(report, "several_listeners")
    assert several["title"] == f"2 processes listen on port {port}"
    assert str(first.pid) in several["detail"] and str(second.pid) in several["fix"]


def test_nothing_listening(capsys: Any) -> None:
    port = free_port()
    report = doctor_fails(capsys, f"ws://127.0.0.1:{port}")
    assert rules(report) == {"nothing_listening"}
    assert report["observations"]["listeners"] == []
    assert "connection refused" in report["findings"][0]["title"]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://localhost:8000", "is not a ws://"),
        ("ws://localhost:99999", "invalid port"),
        ("ws://:8000", "has no host"),
    ],
)
def test_bad_url_is_one_line(url: str, message: str, capsys: Any) -> None:
    assert main(["doctor", url]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_no_contract_judges_plain_websocket_behaviour(
    start_target: Callable[..., str], capsys: Any
) -> None:
    """--no-contract: the route from the URL, no message sent, healthy when it stays open."""
    url = start_target()
    anonymous = load_contract().routes_with_auth("anonymous")[0].path()
    code, report = run_doctor(capsys, url + anonymous, "--no-contract")
    assert code == 0, text(report)
    [verdict] = report["routes"]
    assert (verdict["route"], verdict["healthy"]) == (anonymous, True)
    assert verdict["summary"] == "accepted, stays open"
    obs = report["observations"]
    assert (obs["contract"], obs["heartbeat"], obs["confirmation"]) == (None, None, None)
    [probe] = [h for h in obs["routes"][0]["handshakes"] if h["expected"]]
    assert probe["first_frame"] is not None  # what it sent is recorded, not judged
    assert probe["heartbeat_ms"] is None and probe["heartbeat_error"] == ""


def test_no_contract_does_not_take_a_close_for_auth(
    start_target: Callable[..., str], capsys: Any
) -> None:
    """Without a contract no close code means "auth enforced": a close is a failure."""
    url = start_target()
    owner = load_contract().routes_with_auth("owner")[0]
    path = owner.path(**dict.fromkeys(owner.parameters, "1"))
    report = doctor_fails(capsys, url + path, "--no-contract")
    assert "closed_after_accept" in rules(report)
    assert "auth_close" not in rules(report, "info")


def test_no_contract_needs_a_route(capsys: Any) -> None:
    assert main(["doctor", "ws://127.0.0.1:9", "--no-contract"]) == 2
    assert "--no-contract needs the route" in capsys.readouterr().err


def test_token_user_from_the_confirmations_user_field(
    start_target: Callable[..., str], capsys: Any
) -> None:
    """With a token, the id the confirmation reports (x-user-field) fills the owner route."""
    url = start_target()
    config = load_config()
    token = TokenProvider(config, url.replace("ws://", "http://")).token("primary")
    code, report = run_doctor(capsys, url, "--token", token)
    assert code == 0, text(report)
    owner = load_contract().routes_with_auth("owner")[0]
    [probed] = [r for r in report["observations"]["routes"] if r["name"] == owner.name]
    assert probed["parameter_source"] == "token"
    assert probed["parameters"] == {owner.owner_parameter: str(config.user("primary").user_id)}
    assert all(h["heartbeat_ms"] is not None for h in probed["handshakes"] if h["expected"])


def test_a_renamed_protocol_is_judged_by_its_contract(
    start_target: Callable[..., str], tmp_path: Any, capsys: Any
) -> None:
    """The target's renamed dialect, checked with the renamed contract: healthy, and the
    liveness column names the renamed request."""
    import yaml

    from harness.bundled import DEFAULT_CONTRACT, bundled
    from target.dialect import rename_contract

    contract_path = tmp_path / "renamed.asyncapi.yaml"
    original = yaml.safe_load(bundled(DEFAULT_CONTRACT).read_text())
    contract_path.write_text(yaml.safe_dump(rename_contract(original), sort_keys=False))
    renamed = load_contract(contract_path)
    url = start_target("", "--dialect", "renamed")
    code, report = run_doctor(capsys, url, "--contract", str(contract_path))
    assert code == 0, text(report)
    assert {v["route"] for v in report["routes"]} == set(renamed.routes)
    obs = report["observations"]
    assert obs["heartbeat"] == renamed.liveness_request[renamed.type_field]  # type: ignore[index]
    assert obs["confirmation"] == renamed.confirmation().name  # type: ignore[union-attr]


def test_a_server_confirming_after_the_hello(
    start_target: Callable[..., str], tmp_path: Any, capsys: Any
) -> None:
    """A server that confirms only after the client's hello: without a config the doctor
    warns that nothing came on accept; with `confirmation: {after: connect}` it sends the
    contract's hello and sees the confirmation (an auth close before the hello is no error)."""
    url = start_target("", "--confirm-on", "connect")
    code, report = run_doctor(capsys, url)
    assert code == 0, text(report)
    assert "no_first_frame" in rules(report, "warning")
    config = tmp_path / "after-connect.config.yaml"
    config.write_text("confirmation: {after: connect}\n")
    code, report = run_doctor(capsys, url, "--config", str(config))
    assert code == 0, text(report)
    assert "no_first_frame" not in rules(report, "warning")
    confirmation = load_contract().confirmation()
    assert confirmation is not None
    firsts = [
        h["first_frame"]
        for r in report["observations"]["routes"]
        for h in r["handshakes"]
        if h["expected"] and h["close_code"] is None
    ]
    assert firsts and set(firsts) == {confirmation.name}


# -- diagnosis by comparison -----------------------------------------------------------------


@pytest.mark.parametrize("foreign_origin", ["refused", "accepted"])
def test_a_route_answering_like_an_unknown_path_is_not_routed(
    start_target: Callable[..., str], capsys: Any, foreign_origin: str
) -> None:
    """The owner route is missing and unmatched paths get HTTP 403 (a catch-all route): the
    unknown path's 403 is the route's 403, so it is "not routed", not the origin validator.
    The validator is ruled out by the other routes accepted without an Origin, and (with
    any_origin) by a foreign Origin accepted."""
    faults = "no_user_route,deny_unrouted" + (",any_origin" if foreign_origin == "accepted" else "")
    url = start_target(faults)
    report = doctor_fails(capsys, url)
    assert rules(report) == {"not_routed"}, text(report)
    owner = load_contract().routes_with_auth("owner")[0]
    not_routed = finding(report, "not_routed")
    assert not_routed["route"] == owner.name
    assert "not routed" in not_routed["title"] and "HTTP 403" in not_routed["title"]
    assert "unknown path" in not_routed["detail"]
    assert "not the origin validator" in not_routed["detail"]
    if foreign_origin == "accepted":
        assert "a foreign Origin (http://evil.example) is accepted" in not_routed["detail"]
    else:
        assert "accepted without an Origin" in not_routed["detail"]
    assert "websocket_urlpatterns" in not_routed["fix"]


def test_a_403_with_a_foreign_origin_accepted_is_not_the_origin_validator(
    refusing_asgi: Callable[[], str], capsys: Any
) -> None:
    """A route whose app closes before accept (Daphne: 403) on a server without an origin
    validator (a foreign Origin is accepted on another route), unknown paths 500: the doctor
    names the refusal before accept, not the validator."""
    url = refusing_asgi()
    report = doctor_fails(capsys, url, "--no-contract", "--route", "/open/", "--route", "/refuse/")
    assert rules(report) == {"refused_before_accept"}, text(report)
    refused = finding(report, "refused_before_accept")
    assert refused["title"] == "HTTP 403 on /refuse/ is not the origin validator"
    assert "a foreign Origin (http://evil.example) is accepted on /open/" in refused["detail"]
    assert "close() before accept()" in refused["detail"]
    assert [v["route"] for v in report["routes"] if not v["healthy"]] == ["/refuse/"]


def assert_names_the_missing_channel_layer(report: dict[str, Any]) -> None:
    """Every accepted connection closes 1011: connect() is named, with the log's exception."""
    closed = finding(report, "closed_after_accept")
    assert closed["title"].startswith("every connection the server accepts closes with 1011")
    assert "connect()" in closed["detail"]
    assert "AttributeError: 'NoneType' object has no attribute 'group_add'" in closed["detail"]
    assert "No route found" not in closed["detail"]  # the doctor's own unknown path: expected
    assert "CHANNEL_LAYERS" in closed["fix"]
    assert len([f for f in report["findings"] if f["rule"] == "closed_after_accept"]) == 1


def test_every_route_closing_after_accept_shows_the_exception_of_the_command(
    capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--command: the doctor starts the server, probes it, stops it and reads its output."""
    monkeypatch.chdir(REPO)
    port = free_port()
    command = "{python} -m target serve --host {host} --port {port} --faults no_channel_layer"
    report = doctor_fails(capsys, f"ws://127.0.0.1:{port}", "--command", command)
    assert_names_the_missing_channel_layer(report)
    assert report["observations"]["server_log"]["source"].startswith("--command")
    assert not port_accepts("127.0.0.1", port)  # stopped after the probes


def test_every_route_closing_after_accept_shows_the_exception_of_the_log(
    start_target: Callable[..., str], tmp_path: Any, capsys: Any
) -> None:
    """--log FILE: the part the server wrote while the doctor probed."""
    log = tmp_path / "server.log"
    url = start_target("no_channel_layer", log=log)
    report = doctor_fails(capsys, url, "--log", str(log))
    assert_names_the_missing_channel_layer(report)


def test_without_a_log_the_close_after_accept_still_names_connect(
    start_target: Callable[..., str], capsys: Any
) -> None:
    url = start_target("no_channel_layer")
    report = doctor_fails(capsys, url)
    closed = finding(report, "closed_after_accept")
    assert closed["title"].startswith("every connection the server accepts closes with 1011")
    assert "connect()" in closed["detail"] and "--log" in closed["fix"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--log", "/nonexistent/server.log"], "cannot read the server log"),
        (["--command", "no-such-server-binary --port {port}"], "cannot run the start command"),
        (["--command", "  "], "the start command is empty"),
        (["--log", "x.log", "--command", "daphne app:app"], "--log and --command exclude"),
    ],
)
def test_bad_log_or_command_is_one_line(args: list[str], message: str, capsys: Any) -> None:
    assert main(["doctor", f"ws://127.0.0.1:{free_port()}", *args]) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert err.count("\n") == 1 and "Traceback" not in err
