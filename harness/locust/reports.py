"""Where the microsecond percentiles go: files next to Locust's CSV/HTML, the terminal, and a
tab in the web UI.

* ``--csv PREFIX``  -> ``PREFIX_hdr.csv``, ``PREFIX_hdr.json`` and ``PREFIX_latency.svg``
* ``--html FILE``   -> ``FILE`` minus ``.html`` plus ``_hdr.json`` and ``_latency.svg``, and a
  section (the plot and the gate verdicts) added to Locust's report itself
* ``--hdr-json PATH`` -> exactly there
* web UI: a "Latency (us)" tab (Locust's extended-tab hook) with the live plot under its table,
  ``/ws-harness/hdr.json`` and ``/ws-harness/latency.svg``

The JSON carries the gates: ``{"gates": {"passed": bool, "verdicts": [{option, limit, measured,
unit, passed}], "reasons": [...]}}`` (reasons: every message that failed the run, including
failed requests that no ``--max-fail-ratio`` allows).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.locust.hdr import FIELDS, Summary, rows_for_csv
from harness.locust.plot import format_us
from harness.locust.thresholds import Verdict

TAB_KEY = "ws-harness-hdr"
_TITLES = {
    "name": "Metric",
    "count": "Count",
    "min_us": "Min (us)",
    "p50_us": "p50 (us)",
    "p90_us": "p90 (us)",
    "p99_us": "p99 (us)",
    "p999_us": "p99.9 (us)",
    "max_us": "Max (us)",
    "mean_us": "Mean (us)",
}


def report_paths(parsed: Any, hdr_json: str | None) -> tuple[Path | None, list[Path]]:
    """(the CSV file or None, the JSON files) asked for by ``--csv``, ``--html``, ``--hdr-json``."""
    csv_file = None
    json_files = []
    prefix = getattr(parsed, "csv_prefix", None)
    if prefix:
        csv_file = Path(f"{prefix}_hdr.csv")
        json_files.append(Path(f"{prefix}_hdr.json"))
    html = getattr(parsed, "html_file", None)
    if html:
        json_files.append(Path(str(html).removesuffix(".html") + "_hdr.json"))
    if hdr_json:
        json_files.append(Path(hdr_json))
    return csv_file, json_files


def plot_paths(parsed: Any) -> list[Path]:
    """Where the SVG goes: next to the CSVs (``PREFIX_latency.svg``) and the HTML report."""
    paths = []
    prefix = getattr(parsed, "csv_prefix", None)
    if prefix:
        paths.append(Path(f"{prefix}_latency.svg"))
    html = getattr(parsed, "html_file", None)
    if html:
        paths.append(Path(str(html).removesuffix(".html") + "_latency.svg"))
    return paths


def gates_document(verdicts: list[Verdict], reasons: list[str]) -> dict[str, Any]:
    """The ``gates`` entry of the JSON: each threshold's verdict and what failed the run."""
    return {
        "passed": not reasons,
        "verdicts": [v.as_dict() for v in verdicts],
        "reasons": list(reasons),
    }


def write_reports(
    summaries: list[Summary],
    figures: dict[str, Any],
    csv_file: Path | None,
    json_files: Iterable[Path],
    gates: dict[str, Any] | None = None,
) -> None:
    if csv_file is not None:
        csv_file.parent.mkdir(parents=True, exist_ok=True)
        with csv_file.open("w", newline="") as handle:
            csv.writer(handle).writerows(rows_for_csv(summaries))
    document = {"unit": "microseconds", "metrics": [s.as_dict() for s in summaries], **figures}
    if gates is not None:
        document["gates"] = gates
    for path in json_files:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=2) + "\n")


def write_plots(svg: str, paths: Iterable[Path]) -> None:
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(svg)


_SECTION_START = "<!-- ws-harness latency -->"
_SECTION_END = "<!-- /ws-harness latency -->"
_STYLE = (
    "#ws-harness-latency{font-family:Helvetica,Arial,sans-serif;margin:24px 32px;color:#222}"
    "#ws-harness-latency h2{font-size:22px;font-weight:500}"
    "#ws-harness-latency svg{max-width:100%;height:auto;border:1px solid #ddd}"
    "#ws-harness-latency table{border-collapse:collapse;margin:12px 0}"
    "#ws-harness-latency td,#ws-harness-latency th{border:1px solid #ccc;padding:4px 10px;"
    "text-align:left}"
    "#ws-harness-latency tr.passed td:last-child{color:#1b7f2a;font-weight:bold}"
    "#ws-harness-latency tr.failed td:last-child{color:#c62828;font-weight:bold}"
)


def _measure_text(value: float | None, unit: str) -> str:
    if value is None:
        return "not measured"
    return f"{value:.4g} {unit}".strip()


def html_section(svg: str, verdicts: list[Verdict], reasons: list[str]) -> str:
    """The block added to Locust's HTML report: the plot and the gates, self-contained."""
    from html import escape

    rows = "".join(
        f'<tr class="{"passed" if v.passed else "failed"}"><td>{escape(v.option)}</td>'
        f"<td>{escape(_measure_text(v.limit, v.unit))}</td>"
        f"<td>{escape(_measure_text(v.measured, v.unit))}</td>"
        f"<td>{'passed' if v.passed else 'failed'}</td></tr>"
        for v in verdicts
    )
    gates = (
        "<table><thead><tr><th>Gate</th><th>Limit</th><th>Measured</th><th>Verdict</th></tr>"
        f"</thead><tbody>{rows}</tbody></table>"
        if verdicts
        else "<p>No thresholds were set (--max-p99-heartbeat-ms, --min-connect-rate, "
        "--max-fail-ratio, --max-lost-pushes).</p>"
    )
    outcome = "".join(f"<li>{escape(reason)}</li>" for reason in reasons)
    verdict = (
        f"<p><strong>The run failed:</strong></p><ul>{outcome}</ul>"
        if reasons
        else "<p><strong>Every gate passed.</strong></p>"
    )
    return (
        f'{_SECTION_START}<section id="ws-harness-latency"><style>{_STYLE}</style>'
        "<h2>ws-harness: latency percentiles (microseconds, HDR)</h2>"
        f"{svg}<h2>Gates</h2>{gates}{verdict}</section>{_SECTION_END}"
    )


def embed_in_html(html: str, section: str) -> str:
    """``html`` with ``section`` before its last ``</body>``, replacing an earlier one."""
    start, end = html.find(_SECTION_START), html.find(_SECTION_END)
    if start != -1 and end > start:
        html = html[:start] + html[end + len(_SECTION_END) :]
    at = html.rfind("</body>")
    if at == -1:
        return html + section
    return html[:at] + section + "\n" + html[at:]


def embed_in_html_file(path: Path, section: str) -> None:
    """Add the section to the report Locust wrote (it is written before ``quitting`` fires,
    and Locust's report template has no slot for extensions: hence the edit of the file)."""
    path.write_text(embed_in_html(path.read_text(encoding="utf-8"), section), encoding="utf-8")


def progress_line(
    *,
    elapsed: float,
    users: int,
    connect_rate: float | None,
    metric: str | None,
    p50_us: int | None,
    p99_us: int | None,
    failures: int,
    requests: int,
) -> str:
    """One line of a running test, e.g. ``ws-harness: 12s users 50 conn/s 48.2 WS heartbeat
    p50 812 us p99 2.3 ms failures 1/812 (0.12%)``."""
    parts = [f"ws-harness: {elapsed:.0f}s users {users}"]
    parts.append(f"conn/s {connect_rate:.1f}" if connect_rate is not None else "conn/s -")
    if metric is not None and p50_us is not None and p99_us is not None:
        parts.append(f"{metric} p50 {format_us(p50_us)} p99 {format_us(p99_us)}")
    share = failures / requests * 100 if requests else 0.0
    parts.append(f"failures {failures}/{requests} ({share:.2f}%)")
    return " ".join(parts)


def format_table(summaries: list[Summary]) -> str:
    """The terminal summary printed at the end of a run."""
    header = f"{'metric':<32} {'count':>8} {'p50':>9} {'p90':>9} {'p99':>9} {'p99.9':>9} {'max':>9}"
    lines = ["ws-harness latency (microseconds, HDR histograms)", header, "-" * len(header)]
    for s in summaries:
        lines.append(
            f"{s.name:<32} {s.count:>8} {s.p50_us:>9} {s.p90_us:>9} {s.p99_us:>9} "
            f"{s.p999_us:>9} {s.max_us:>9}"
        )
    return "\n".join(lines)


# The web UI's extended tabs render tables of text only. The plot goes below the tab's table:
# React leaves a node it did not create alone and drops it with the table when the tab is
# left; the script puts it back while the tab is shown (else at the end of the page).
_TAB_SCRIPT = f"""<script>
(function () {{
  var box = document.createElement("div");
  box.id = "ws-harness-latency-plot";
  box.style.cssText = "padding:16px 0";
  var img = document.createElement("img");
  img.alt = "Latency percentiles (HDR)";
  img.style.maxWidth = "100%";
  box.appendChild(img);
  var shown = 0;
  function update() {{
    var on = new URLSearchParams(location.search).get("tab") === "{TAB_KEY}";
    if (!on) {{ box.remove(); return; }}
    var table = document.querySelector("#root .MuiTableContainer-root");
    if (table && box.previousSibling !== table) table.after(box);
    else if (!table && !box.parentNode) document.body.appendChild(box);
    if (Date.now() - shown > 2000) {{
      shown = Date.now();
      img.src = "./ws-harness/latency.svg?t=" + shown;
    }}
  }}
  setInterval(update, 500);
}})();
</script>"""


def install_web_tab(
    web_ui: Any,
    summaries: Any,
    svg: Any = None,
    section: Any = None,
) -> None:
    """Add the tab and the JSON route; ``summaries()`` is called on every UI refresh.
    ``svg()`` (the plot) is served at ``/ws-harness/latency.svg`` and shown in the tab;
    ``section()`` (plot and gates) goes into the report the UI's "Download Report" renders."""
    from flask import Response, jsonify, request

    web_ui.template_args["extendedTabs"] = [{"title": "Latency (us)", "key": TAB_KEY}]
    web_ui.template_args["extendedTables"] = [
        {"key": TAB_KEY, "structure": [{"key": f, "title": _TITLES[f]} for f in FIELDS]}
    ]

    @web_ui.app.route("/ws-harness/hdr.json")
    def hdr_json() -> Any:
        return jsonify({"unit": "microseconds", "metrics": [s.as_dict() for s in summaries()]})

    if svg is not None:
        files = web_ui.template_args.setdefault("extendedCsvFiles", [])
        files.append({"href": "./ws-harness/latency.svg", "title": "Latency percentiles (SVG)"})

        @web_ui.app.route("/ws-harness/latency.svg")
        def latency_svg() -> Any:
            return Response(svg(), mimetype="image/svg+xml", headers={"Cache-Control": "no-store"})

    @web_ui.app.after_request
    def extend(response: Any) -> Any:
        if request.path == "/stats/requests" and response.is_json:
            body = response.get_json()
            body["extended_stats"] = [{"key": TAB_KEY, "data": [s.as_dict() for s in summaries()]}]
            response.set_data(json.dumps(body))
        elif response.mimetype == "text/html" and response.status_code == 200:
            if request.path == "/" and svg is not None:
                response.direct_passthrough = False
                response.set_data(embed_in_html(response.get_data(as_text=True), _TAB_SCRIPT))
            elif request.path == "/stats/report" and section is not None:
                response.direct_passthrough = False
                response.set_data(embed_in_html(response.get_data(as_text=True), section()))
        return response
