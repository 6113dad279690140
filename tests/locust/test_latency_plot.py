"""The latency picture (an SVG of HDR percentile distributions), the gate verdicts, and their
place in Locust's HTML report: pure functions, no Locust run."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.locust import plot, reports
from harness.locust.hdr import HdrRecorder
from harness.locust.thresholds import Measured, Thresholds, evaluate, verdicts

SVG = "{http://www.w3.org/2000/svg}"


def recorder() -> HdrRecorder:
    """Two metrics: heartbeats of 1..1000 us (uniform), connects of 5 ms with a 40 ms tail."""
    r = HdrRecorder()
    for us in range(1, 1001):
        r.record("WS heartbeat", us)
    for i in range(1000):
        r.record("WS connect", 40_000 if i % 100 == 0 else 5_000)
    return r


def points(svg: str) -> dict[str, list[tuple[float, int, float, float]]]:
    """{metric: [(percentile, us, x, y)]} of the marked points."""
    root = ET.fromstring(svg)
    found: dict[str, list[tuple[float, int, float, float]]] = {}
    for c in root.iter(f"{SVG}circle"):
        found.setdefault(c.get("data-metric", ""), []).append(
            (
                float(c.get("data-percentile", "nan")),
                int(c.get("data-us", "-1")),
                float(c.get("cx", "nan")),
                float(c.get("cy", "nan")),
            )
        )
    return found


def test_curves_hold_the_hdr_percentiles() -> None:
    curves = {c.name: c for c in plot.curves_of(recorder())}
    beats = dict(curves["WS heartbeat"].points)
    assert beats[50.0] == pytest.approx(500, abs=1)
    assert beats[99.0] == pytest.approx(990, abs=1)
    assert beats[99.99] == pytest.approx(1000, abs=1)
    percentiles = [p for p, _ in curves["WS heartbeat"].points]
    assert percentiles[0] == 50.0 and percentiles[-1] == 99.99
    assert len(percentiles) >= 40  # a curve, not five dots
    assert dict(curves["WS connect"].points)[99.9] == pytest.approx(40_000, rel=0.001)


def test_svg_is_self_contained_and_marks_the_percentiles() -> None:
    svg = plot.render_svg(plot.curves_of(recorder()))
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "")  # nothing fetched
    marked = points(svg)
    assert set(marked) == {"WS heartbeat", "WS connect"}
    beats = marked["WS heartbeat"]
    assert [p for p, *_ in beats] == [50.0, 90.0, 99.0, 99.9, 99.99]
    xs = [x for *_, x, _ in beats]
    # log scale of 1/(1-p): each nine is the same width; p50 sits log10(2) of a nine from p90's left
    nine = xs[2] - xs[1]
    assert nine > 0
    assert xs[3] - xs[2] == pytest.approx(nine, abs=0.5) and xs[4] - xs[3] == pytest.approx(
        nine, abs=0.5
    )
    assert xs[1] - xs[0] == pytest.approx(nine * (1 - math.log10(2)), abs=0.5)
    ys = [y for *_, y in beats]
    assert ys == sorted(ys, reverse=True)  # slower is higher up (smaller y)
    assert len(ET.fromstring(svg).findall(f".//{SVG}polyline")) == 2
    # the axis says what it shows
    assert "99.99%" in svg and "us" in svg


def test_svg_draws_the_heartbeat_limit() -> None:
    svg = plot.render_svg(plot.curves_of(recorder()), limit=("p99 limit 2 ms", 2_000))
    assert 'class="limit"' in svg and "p99 limit 2 ms" in svg


def test_svg_without_samples_says_so() -> None:
    svg = plot.render_svg([])
    ET.fromstring(svg)
    assert "no samples" in svg


def test_metric_names_are_escaped() -> None:
    r = HdrRecorder()
    r.record("WS <a&b>", 10)
    svg = plot.render_svg(plot.curves_of(r))
    assert points(svg)["WS <a&b>"]  # parsed back intact


def test_verdicts_name_limit_measured_and_outcome() -> None:
    limits = Thresholds(max_p99_heartbeat_ms=50, min_connect_rate=100)
    measured = Measured(p99_heartbeat_ms=75.5, connect_rate=None, fail_ratio=0, lost_pushes=None)
    found = verdicts(limits, measured)
    assert [v.as_dict() for v in found] == [
        {
            "option": "--max-p99-heartbeat-ms",
            "limit": 50,
            "measured": 75.5,
            "unit": "ms",
            "passed": False,
        },
        {
            "option": "--min-connect-rate",
            "limit": 100,
            "measured": None,
            "unit": "connections/s",
            "passed": False,
        },
    ]
    assert evaluate(limits, measured) == [
        "threshold --max-p99-heartbeat-ms 50 failed: measured 75.5 ms",
        "threshold --min-connect-rate 100 failed: not measured (no samples)",
    ]


def test_html_report_gets_one_section_before_body_end(tmp_path: Path) -> None:
    report = tmp_path / "r.html"
    report.write_text("<html><body><div id='root'></div><script>x</script>\n</body>\n</html>\n")
    gates = verdicts(
        Thresholds(max_p99_heartbeat_ms=50),
        Measured(p99_heartbeat_ms=1.2, connect_rate=None, fail_ratio=0, lost_pushes=None),
    )
    section = reports.html_section(plot.render_svg(plot.curves_of(recorder())), gates, [])
    reports.embed_in_html_file(report, section)
    reports.embed_in_html_file(report, section)  # a second finish (web UI) replaces, never doubles
    html = report.read_text()
    assert html.count('id="ws-harness-latency"') == 1
    assert html.index('id="ws-harness-latency"') > html.index("<script>x</script>")
    assert html.rstrip().endswith("</body>\n</html>")
    row = re.search(r"<tr class=\"(passed|failed)\">.*?</tr>", html, re.S)
    assert row and row.group(1) == "passed" and "--max-p99-heartbeat-ms" in row.group(0)
    assert ">50 ms<" in row.group(0) and ">1.2 ms<" in row.group(0)


def test_plot_paths_follow_csv_and_html() -> None:
    class Parsed:
        csv_prefix = "out/hb"
        html_file = "out/report.html"

    assert reports.plot_paths(Parsed()) == [
        Path("out/hb_latency.svg"),
        Path("out/report_latency.svg"),
    ]


def test_progress_line() -> None:
    line = reports.progress_line(
        elapsed=12.4,
        users=50,
        connect_rate=48.25,
        metric="WS heartbeat",
        p50_us=812,
        p99_us=2_300,
        failures=1,
        requests=812,
    )
    assert line == (
        "ws-harness: 12s users 50 conn/s 48.2 WS heartbeat p50 812 us p99 2.3 ms "
        "failures 1/812 (0.12%)"
    )


def test_web_ui_serves_the_plot_and_adds_it_to_the_tab_and_the_report() -> None:
    """Locust's web UI is a Flask app: the hooks, on a stand-in with Locust's three routes."""
    from types import SimpleNamespace

    from flask import Flask, jsonify

    app = Flask("stand-in")
    page = "<html><body><div id='root'></div></body></html>"
    app.add_url_rule("/", "index", lambda: page)
    app.add_url_rule("/stats/report", "report", lambda: page)
    app.add_url_rule("/stats/requests", "requests", lambda: jsonify({"stats": []}))
    web_ui = SimpleNamespace(app=app, template_args={})
    data = recorder()
    reports.install_web_tab(
        web_ui,
        data.summary,
        svg=lambda: plot.render_svg(plot.curves_of(data)),
        section=lambda: reports.html_section(plot.render_svg([]), [], ["gate X failed"]),
    )
    client = app.test_client()
    svg = client.get("/ws-harness/latency.svg")
    assert svg.mimetype == "image/svg+xml" and points(svg.get_data(as_text=True))["WS heartbeat"]
    index = client.get("/").get_data(as_text=True)
    assert "ws-harness-latency-plot" in index and "./ws-harness/latency.svg" in index
    assert index.index("ws-harness-latency-plot") < index.index("</body>")
    report = client.get("/stats/report").get_data(as_text=True)
    assert 'id="ws-harness-latency"' in report and "gate X failed" in report
    stats = client.get("/stats/requests").get_json()
    assert stats["extended_stats"][0]["key"] == reports.TAB_KEY
    assert {"href": "./ws-harness/latency.svg", "title": "Latency percentiles (SVG)"} in (
        web_ui.template_args["extendedCsvFiles"]
    )
