"""Where the microsecond percentiles go: files next to Locust's CSV/HTML, the terminal, and a
tab in the web UI.

* ``--csv PREFIX``  -> ``PREFIX_hdr.csv`` and ``PREFIX_hdr.json``
* ``--html FILE``   -> ``FILE`` minus ``.html`` plus ``_hdr.json``
* ``--hdr-json PATH`` -> exactly there
* web UI: a "Latency (us)" tab (Locust's extended-tab hook) plus ``/ws-harness/hdr.json``
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.locust.hdr import FIELDS, Summary, rows_for_csv

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


def write_reports(
    summaries: list[Summary],
    figures: dict[str, Any],
    csv_file: Path | None,
    json_files: Iterable[Path],
) -> None:
    if csv_file is not None:
        csv_file.parent.mkdir(parents=True, exist_ok=True)
        with csv_file.open("w", newline="") as handle:
            csv.writer(handle).writerows(rows_for_csv(summaries))
    document = {"unit": "microseconds", "metrics": [s.as_dict() for s in summaries], **figures}
    for path in json_files:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=2) + "\n")


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


def install_web_tab(web_ui: Any, summaries: Any) -> None:
    """Add the tab and the JSON route; ``summaries()`` is called on every UI refresh."""
    from flask import jsonify, request

    web_ui.template_args["extendedTabs"] = [{"title": "Latency (us)", "key": TAB_KEY}]
    web_ui.template_args["extendedTables"] = [
        {"key": TAB_KEY, "structure": [{"key": f, "title": _TITLES[f]} for f in FIELDS]}
    ]

    @web_ui.app.route("/ws-harness/hdr.json")
    def hdr_json() -> Any:
        return jsonify({"unit": "microseconds", "metrics": [s.as_dict() for s in summaries()]})

    @web_ui.app.after_request
    def extend_stats(response: Any) -> Any:
        if request.path != "/stats/requests" or not response.is_json:
            return response
        body = response.get_json()
        body["extended_stats"] = [{"key": TAB_KEY, "data": [s.as_dict() for s in summaries()]}]
        response.set_data(json.dumps(body))
        return response
