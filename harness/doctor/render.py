"""Print a doctor ``Report``: rich tables for people, JSON for scripts. No probing, no rules.

The terminal form leads with the findings' evidence (listeners, handshakes) and ends with the
diagnosis, so the last thing on screen is what to do. The JSON form is the same data as the
dataclasses (``dataclasses.asdict``), plus the verdicts and the exit code.
"""

from __future__ import annotations

import dataclasses
import json
from typing import IO, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.doctor.observations import HandshakeProbe, Observations
from harness.doctor.rules import Report

_SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
_LOG_WIDTH = 140
_CELL = 60  # characters of a body or frame shown in a table cell


def to_json(report: Report) -> dict[str, Any]:
    """The report as plain JSON-able data."""
    return {
        "url": report.observations.url,
        "healthy": report.healthy,
        "exit_code": report.exit_code,
        "routes": [dataclasses.asdict(v) for v in report.verdicts],
        "findings": [dataclasses.asdict(f) for f in report.findings],
        "observations": dataclasses.asdict(report.observations),
    }


def print_json(report: Report, stream: IO[str]) -> None:
    json.dump(to_json(report), stream, indent=2)
    stream.write("\n")


def print_report(report: Report, stream: IO[str] | None = None) -> None:
    """The readable form: listeners, HTTP, handshakes, findings, verdict."""
    console = Console(file=stream, highlight=False, soft_wrap=False)
    if not console.is_terminal:
        console.width = _LOG_WIDTH  # CI logs: rich's default 80 columns would fold every path
    obs = report.observations
    console.print(f"[bold]ws-harness doctor[/bold] {escape(obs.url)}")
    if obs.contract is not None:
        console.print(f"judged by the contract {escape(obs.contract)}")
    else:
        console.print("no contract: plain WebSocket checks (handshake, first frame, close codes)")
    console.print(_listeners_table(obs))
    console.print(_http_line(obs))
    if obs.server_log is not None:
        console.print(_log_line(obs))
    console.print(_handshakes_table(report))
    _print_findings(console, report)
    if report.healthy:
        console.print(f"[bold green]healthy[/bold green]: all {len(report.verdicts)} routes")
    else:
        bad = [v.route for v in report.verdicts if not v.healthy]
        what = f"route(s) {', '.join(bad)}" if bad else "see the errors above"
        console.print(f"[bold red]NOT healthy[/bold red]: {escape(what)}")


def _listeners_table(obs: Observations) -> Table | str:
    if obs.listeners is None:
        return f"listeners on port {obs.port}: not checked ({escape(obs.listeners_note)})"
    if not obs.listeners:
        return f"listeners on port {obs.port}: [red]none[/red]"
    table = Table(title=f"Listening on port {obs.port}", title_justify="left")
    for column in ("pid", "user", "address", "server", "command line"):
        table.add_column(column, overflow="fold")
    for listener in obs.listeners:
        server = listener.server or "?"
        style = {"asgi": "green", "http_only": "red"}.get(listener.kind, "yellow")
        table.add_row(
            str(listener.pid) if listener.pid is not None else "?",
            escape(listener.username or "?"),
            escape(listener.address),
            f"[{style}]{escape(server)} ({listener.kind})[/{style}]",
            escape(listener.cmdline or "?"),
        )
    return table


def _http_line(obs: Observations) -> str:
    http = obs.http
    if http is None:
        return "HTTP GET: not tried"
    if http.status is None:
        return f"HTTP GET {escape(http.url)}: [red]no answer[/red] ({escape(http.error)})"
    server = f" (Server: {escape(http.server_header)})" if http.server_header else ""
    return f"HTTP GET {escape(http.url)}: HTTP {http.status}{server}"


def _log_line(obs: Observations) -> str:
    """Whose output was read and how many exceptions it holds (the findings say which)."""
    log = obs.server_log
    assert log is not None
    total = sum(e.count for e in log.exceptions)
    causes = sum(e.count for e in obs.logged_causes())
    found = f"{causes} exception(s)" if causes else "no exception"
    if total > causes:
        found += f" (and {total - causes} from the doctor's probes of paths that must fail)"
    when = ", written before this run" if log.before_run else ""
    ended = f"; the command ended ({log.exit_status})" if log.exit_status else ""
    return f"server log {escape(log.source)}: {found}{when}{escape(ended)}"


def _handshakes_table(report: Report) -> Table:
    obs = report.observations
    table = Table(title="WebSocket handshakes", title_justify="left")
    columns = ("route", "path", "probe", "handshake", "first frame", obs.heartbeat or "liveness")
    for column in columns:
        table.add_column(column, overflow="fold")
    verdicts = {v.route: v for v in report.verdicts}
    for route in obs.routes:
        verdict = verdicts.get(route.name)
        mark = ""
        if verdict is not None:
            mark = " [green]ok[/green]" if verdict.healthy else " [red]FAIL[/red]"
        for index, probe in enumerate(route.handshakes):
            name = f"{escape(route.name)}{mark}" if index == 0 else ""
            table.add_row(name, *_cells(probe, obs))
    for probe in (*obs.origins, *([obs.unknown_path] if obs.unknown_path else [])):
        table.add_row("", *_cells(probe, obs))
    return table


def _cells(probe: HandshakeProbe, obs: Observations) -> list[str]:
    kind = probe.variant if probe.expected else f"[dim]{probe.variant}[/dim]"
    if probe.origin:
        kind += f"\nOrigin: {escape(probe.origin)}"
    if probe.accepted:
        handshake = "[green]101[/green]"
    elif probe.status is not None:
        body = f" {probe.body[:_CELL]!r}" if probe.body else ""
        style = "red" if probe.expected else "dim"
        handshake = f"[{style}]HTTP {probe.status}[/{style}]{escape(body)}"
    else:
        handshake = f"[red]{probe.error_kind or 'failed'}[/red] {escape(probe.error[:_CELL])}"
    if probe.first_frame is not None:
        first = escape(probe.first_frame)
    elif probe.close_code is not None:
        first = f"close {escape(obs.close_name(probe.close_code))}"
    else:
        first = "-"
    if probe.heartbeat_ms is not None:
        heartbeat = f"{probe.heartbeat_ms:.1f} ms"
    elif probe.heartbeat_error:
        heartbeat = f"[red]{escape(probe.heartbeat_error[:_CELL])}[/red]"
    else:
        heartbeat = "-"
    return [escape(probe.path), kind, handshake, first, heartbeat]


def _print_findings(console: Console, report: Report) -> None:
    if not report.findings:
        return
    console.print("[bold]Diagnosis[/bold]")
    for finding in report.findings:
        style = _SEVERITY_STYLE[finding.severity]
        console.print(f"[{style}]{finding.severity.upper():7}[/{style}] {escape(finding.title)}")
        if finding.detail:
            console.print(f"        {escape(finding.detail)}")
        if finding.fix:
            console.print(f"        [bold]fix:[/bold] {escape(finding.fix)}")
