"""Wires ws-harness into Locust's events: options, HDR recording, worker reports, reports at
the end, and the CI gates (process exit code).

``install(events)`` registers only the two hooks Locust needs before a test exists
(``init_command_line_parser`` and ``init``); everything else is bound to the environment in
``init``. It is idempotent, and ``harness.locust.users`` calls it on import, because Locust
builds its parser while importing locustfiles: a locustfile that imports our users gets the
options without further ceremony.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from harness.locust.batch import RequestBatch, batchable
from harness.locust.context import RunContext
from harness.locust.hdr import Summary
from harness.locust.options import add_options
from harness.locust.plot import curves_of, format_us, render_svg
from harness.locust.reports import (
    embed_in_html_file,
    format_table,
    gates_document,
    html_section,
    install_web_tab,
    plot_paths,
    progress_line,
    report_paths,
    write_plots,
    write_reports,
)
from harness.locust.thresholds import Measured, Verdict, unallowed_failures, verdicts

REQUEST_TYPE = "WS"  # the request type of WebSocketUser's measurements
CONNECT_KEY = ("connect", REQUEST_TYPE)
_HDR_KEY = "ws_harness_hdr"
_PUSH_KEY = "ws_harness_pushes"
_INSTALLED = "_ws_harness_installed"


def install(events: Any) -> None:
    if getattr(events, _INSTALLED, False):
        return
    setattr(events, _INSTALLED, True)
    events.init_command_line_parser.add_listener(add_options)
    events.init.add_listener(_on_init)


def _on_init(environment: Any, **_: Any) -> None:
    """Bind the per-environment listeners (the request event carries no environment)."""
    import gevent

    # Locust arms its --run-time timer soon after this event, on the event loop's cached
    # clock, which stands still while nothing yields: after a locustfile import of 2.4 s
    # (a loaded machine) a 3 s run stopped after 0.6 s. Read the clock anew.
    gevent.get_hub().loop.update_now()
    events = environment.events

    def on_request(
        request_type: str, name: str, response_time: float, exception: Any = None, **_: Any
    ) -> None:
        if exception is None and response_time is not None:
            context = getattr(environment, "ws_harness", None) or RunContext.of(environment)
            context.recorder.record(f"{request_type} {name}", response_time * 1000)

    flusher: list[Any] = []  # the greenlet applying batches every second during a test
    progress: list[Any] = []  # the greenlet printing a progress line (--ws-progress)

    def on_test_start(**_: Any) -> None:
        import gevent

        context = RunContext.restart(environment)
        batch = context.batch = RequestBatch(environment.stats, context.recorder)
        batch.enabled = batchable(events, environment.stats)
        if batch.enabled and not flusher:
            flusher.append(gevent.spawn(_flush_every_second, environment))
        every = getattr(environment.parsed_options, "ws_progress", None)
        if every and not progress and not _is_worker(environment):
            progress.append(gevent.spawn(_print_progress, environment, float(every)))

    def on_test_stop(**_: Any) -> None:
        while flusher:
            flusher.pop().kill(block=False)
        while progress:
            progress.pop().kill(block=False)
        _flush(environment)  # what the users did until they stopped

    def on_reset_stats(**_: Any) -> None:
        context = RunContext.of(environment)
        context.recorder.reset()
        if context.batch is not None:
            context.batch.discard()  # made before the reset

    def on_report_to_master(client_id: str, data: dict[str, Any], **_: Any) -> None:
        context = RunContext.of(environment)
        _flush(environment)  # Locust's own report may have gone first: these go with the next
        data[_HDR_KEY] = context.recorder.take_encoded()
        data[_PUSH_KEY] = context.ledger.take_report()

    def on_worker_report(client_id: str, data: dict[str, Any], **_: Any) -> None:
        context = RunContext.of(environment)
        context.recorder.merge_encoded(data.get(_HDR_KEY) or {})
        context.ledger.merge_report(data.get(_PUSH_KEY) or {})

    def on_quitting(environment: Any, **_: Any) -> None:
        if _is_worker(environment):
            return
        finish(environment)

    events.request.add_listener(on_request)
    events.test_start.add_listener(on_test_start)
    events.test_stop.add_listener(on_test_stop)
    events.reset_stats.add_listener(on_reset_stats)
    events.report_to_master.add_listener(on_report_to_master)
    events.worker_report.add_listener(on_worker_report)
    events.quitting.add_listener(on_quitting)
    web_ui = getattr(environment, "web_ui", None)
    if web_ui is not None:
        install_web_tab(
            web_ui,
            lambda: RunContext.of(environment).recorder.summary(),
            svg=lambda: latency_svg(environment),
            section=lambda: report_section(environment),
        )


def _flush(environment: Any) -> None:
    """Apply the pending batch of successful requests (``harness.locust.batch``)."""
    context = getattr(environment, "ws_harness", None)
    if context is not None and context.batch is not None:
        context.batch.flush()


def _flush_every_second(environment: Any) -> None:
    """Keep Locust's figures at most a second behind while users run slowly or not at all."""
    import gevent

    while True:
        gevent.sleep(1.0)
        _flush(environment)


def _print_progress(environment: Any, every: float) -> None:
    """A line every ``every`` seconds while the test runs: users, connections per second since
    the last line, p50/p99 so far of the gated heartbeat (else of the connects, else of the
    busiest metric), failures."""
    import gevent

    started = last = time.monotonic()
    connected = 0
    while True:
        gevent.sleep(every)
        _flush(environment)
        context = RunContext.of(environment)
        recorder = context.recorder
        names = recorder.names()
        metric = next(
            (
                m
                for m in (heartbeat_metric(context), f"{REQUEST_TYPE} {CONNECT_KEY[0]}")
                if m in names
            ),
            max(names, key=recorder.count) if names else None,
        )
        values = recorder.percentiles_us(metric, (50.0, 99.0)) if metric else {}
        entry = environment.stats.entries.get(CONNECT_KEY)
        now = time.monotonic()
        total_connects = 0 if entry is None else entry.num_requests - entry.num_failures
        rate = (total_connects - connected) / (now - last) if now > last else None
        connected, last = total_connects, now
        total = environment.stats.total
        print(
            progress_line(
                elapsed=now - started,
                users=environment.runner.user_count,
                connect_rate=rate,
                metric=metric,
                p50_us=values.get(50.0),
                p99_us=values.get(99.0),
                failures=total.num_failures,
                requests=total.num_requests,
            ),
            file=sys.stderr,
            flush=True,
        )


def _is_worker(environment: Any) -> bool:
    from locust.runners import WorkerRunner

    return isinstance(environment.runner, WorkerRunner)


def measure(environment: Any) -> tuple[list[Summary], Measured]:
    """The run's HDR summaries and the figures the thresholds look at."""
    _flush(environment)
    context = RunContext.of(environment)
    p99 = context.recorder.percentile_us(heartbeat_metric(context), 99.0)
    lost = None
    if context.ledger.sends:
        lost, _ = context.ledger.lost(context.config.timeouts.push, time.time())
    return context.recorder.summary(), Measured(
        p99_heartbeat_ms=None if p99 is None else p99 / 1000,
        connect_rate=connect_rate(environment.stats),
        fail_ratio=environment.stats.total.fail_ratio,
        lost_pushes=lost,
        requests=environment.stats.total.num_requests,
        failures=environment.stats.total.num_failures,
    )


def heartbeat_metric(context: RunContext) -> str:
    """The HDR metric ``--max-p99-heartbeat-ms`` gates: WebSocketUser.heartbeat()'s requests,
    named after the contract's liveness request (e.g. ``WS heartbeat``)."""
    return f"{REQUEST_TYPE} {context.liveness_name}"


def connect_rate(stats: Any) -> float | None:
    """Successful connections per second, from the first to the last connect of the run."""
    entry = stats.entries.get(CONNECT_KEY)
    if entry is None:
        return None
    successes = entry.num_requests - entry.num_failures
    elapsed = (entry.last_request_timestamp or 0) - entry.start_time
    if successes <= 0 or elapsed <= 0:
        return None
    return successes / elapsed


def latency_svg(environment: Any, gates: list[Verdict] | None = None) -> str:
    """The plot of every metric recorded so far, with the heartbeat p99 limit when set."""
    context = RunContext.of(environment)
    limit_ms = context.options.thresholds.max_p99_heartbeat_ms
    limit = None
    if limit_ms is not None:
        limit = (
            f"{heartbeat_metric(context)} p99 limit {format_us(limit_ms * 1000)}",
            limit_ms * 1000,
        )
    return render_svg(curves_of(context.recorder), limit=limit)


def report_section(environment: Any) -> str:
    """The plot and the gate verdicts as they stand, for an HTML report."""
    context = RunContext.of(environment)
    _, measured = measure(environment)
    limits = context.options.thresholds
    reasons = [v.message() for v in verdicts(limits, measured) if not v.passed]
    unallowed = unallowed_failures(limits, measured)
    if unallowed:
        reasons.append(unallowed)
    return html_section(latency_svg(environment), verdicts(limits, measured), reasons)


def finish(environment: Any) -> list[str]:
    """Print and write the figures, the plot and the gate verdicts, apply the thresholds, set
    the exit code; returns the reasons the run failed (failed thresholds, failed requests
    nothing allows).

    Exit codes: 1 when a threshold fails; Locust's ``--exit-code-on-error`` (default 1) when
    requests failed and no ``--max-fail-ratio`` is given, whatever other thresholds say;
    otherwise Locust's own rules (crashed tasks, unhandled greenlet errors), except that
    failures within ``--max-fail-ratio`` do not fail the run.
    """
    context = RunContext.of(environment)
    summaries, measured = measure(environment)
    figures = {
        "connect_rate_per_s": measured.connect_rate,
        "fail_ratio": measured.fail_ratio,
        "lost_pushes": measured.lost_pushes,
        "pushes_sent": len(context.ledger.sends),
    }
    limits = context.options.thresholds
    gates = verdicts(limits, measured)
    reasons = [verdict.message() for verdict in gates if not verdict.passed]
    unallowed = unallowed_failures(limits, measured)
    if unallowed:
        reasons.append(unallowed)
    parsed = environment.parsed_options
    csv_file, json_files = report_paths(parsed, context.options.hdr_json)
    write_reports(summaries, figures, csv_file, json_files, gates_document(gates, reasons))
    _write_pictures(environment, gates, reasons)
    print(format_table(summaries), flush=True)
    extras = [f"{name}={value:.4g}" for name, value in figures.items() if value is not None]
    print("ws-harness: " + " ".join(extras), flush=True)
    for reason in reasons:
        print(f"ws-harness: {reason}", file=sys.stderr, flush=True)
    if unallowed and reasons == [unallowed]:
        environment.process_exit_code = getattr(parsed, "exit_code_on_error", 1)
    elif reasons:
        environment.process_exit_code = 1
    elif any(value is not None for value in vars(limits).values()):
        # Every threshold is met and --max-fail-ratio (if given) allowed the failed requests,
        # which Locust alone would count as errors (exit 1). Crashed tasks still fail.
        environment.process_exit_code = _locust_exit_code(environment)
        if environment.process_exit_code == 0:
            print("ws-harness: all thresholds met", flush=True)
    return reasons


def _write_pictures(environment: Any, gates: list[Verdict], reasons: list[str]) -> None:
    """The SVG next to the CSVs and the HTML report, and the section inside that report
    (Locust has written it by now: it saves the report before firing ``quitting``)."""
    parsed = environment.parsed_options
    paths = plot_paths(parsed)
    html = getattr(parsed, "html_file", None)
    if not paths and not html:
        return
    svg = latency_svg(environment)
    write_plots(svg, paths)
    if html and Path(html).is_file():
        embed_in_html_file(Path(html), html_section(svg, gates, reasons))


def _locust_exit_code(environment: Any) -> int:
    """Locust's exit code for a run whose failed requests were allowed: its code for crashed
    tasks (``--exit-code-on-error``) or unhandled greenlet errors (2), else 0."""
    from locust import log

    if getattr(environment.runner, "exceptions", None):
        return getattr(environment.parsed_options, "exit_code_on_error", 1)
    return 2 if log.unhandled_greenlet_exception else 0
