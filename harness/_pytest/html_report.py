"""The conformance report as one self-contained HTML page (Autobahn's report is the model).

Rendered here, in Python, from the same dict the JSON report holds (``report_files``), so
the page reads without JavaScript and the two files cannot disagree. CSS and the little
JavaScript (a matrix cell opens the scenarios behind it, a link opens its test, filters) are
inline: the page loads nothing from the network, so a CI artifact opens anywhere.

Layout: the run (exit code, counts, time, command, targets), the root causes, the route x
message x auth matrix, then one ``<details id="t-N">`` per test with its verdict, failure
(Received / Documented / At), frame transcript and, for failures, the server's log tail.
"""

from __future__ import annotations

from html import escape
from typing import Any

_CSS = """
:root { --pass: #2e9b48; --fail: #d2302c; --error: #e8871e; --skip: #9aa0a6; --ink: #1d2330;
  --line: #d9dde3; --soft: #f4f6f8; font-family: system-ui, -apple-system, "Segoe UI",
  "DejaVu Sans", sans-serif; color: var(--ink); }
body { margin: 0 auto; max-width: 1400px; padding: 16px 24px 64px; }
h1 { font-size: 22px; margin: 4px 0 12px; } h2 { font-size: 17px; margin: 28px 0 8px;
  border-bottom: 1px solid var(--line); padding-bottom: 4px; }
code, pre, .mono { font-family: "DejaVu Sans Mono", ui-monospace, Menlo, Consolas, monospace;
  font-size: 12px; }
pre { background: var(--soft); padding: 8px; overflow-x: auto; white-space: pre-wrap;
  word-break: break-all; margin: 6px 0; }
.run { display: flex; flex-wrap: wrap; gap: 12px; align-items: stretch; }
.box { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; min-width: 90px; }
.box b { display: block; font-size: 20px; } .box span { font-size: 12px; color: #5a6270; }
.exit-0 { border-color: var(--pass); } .exit-0 b { color: var(--pass); }
.exit-bad { border-color: var(--fail); } .exit-bad b { color: var(--fail); }
table { border-collapse: collapse; } th, td { border: 1px solid var(--line); padding: 3px 6px; }
th { background: var(--soft); font-weight: 600; font-size: 12px; }
table.kv td:first-child { color: #5a6270; white-space: nowrap; }
table.matrix td.cell { min-width: 56px; text-align: center; cursor: pointer; font-weight: 600;
  font-size: 12px; color: #fff; }
table.matrix td.none { background: #fff; cursor: default; }
table.matrix th.message { text-align: left; }
td.passed, .badge.passed { background: var(--pass); } td.failed, .badge.failed {
  background: var(--fail); } td.error, .badge.error { background: var(--error); }
td.skipped, .badge.skipped { background: var(--skip); }
td.cell.selected { outline: 3px solid var(--ink); outline-offset: -3px; }
.legend span { display: inline-block; padding: 1px 8px; margin-right: 6px; color: #fff;
  border-radius: 3px; font-size: 12px; }
.badge { color: #fff; border-radius: 3px; padding: 1px 6px; font-size: 11px;
  text-transform: uppercase; display: inline-block; min-width: 48px; text-align: center; }
#cell-panel { margin: 10px 0; padding: 8px 12px; border: 2px solid var(--ink);
  border-radius: 6px; background: #fff; }
#cell-panel ul { margin: 4px 0; padding-left: 20px; }
details.test { border: 1px solid var(--line); border-radius: 4px; margin: 4px 0; }
details.test > summary { padding: 4px 8px; cursor: pointer; list-style-position: inside; }
details.test[open] > summary { background: var(--soft); border-bottom: 1px solid var(--line); }
details.test .body { padding: 6px 12px 10px; }
details.test:target, details.test.flash { box-shadow: 0 0 0 3px #7aa7ff; }
.dur { color: #5a6270; font-size: 12px; margin-left: 8px; }
.cause { color: #5a6270; font-size: 12px; margin-left: 8px; }
.failure { border-left: 4px solid var(--fail); padding: 4px 10px; background: #fdf1f0; }
.failure.error { border-color: var(--error); background: #fdf5ec; }
table.frames { width: 100%; table-layout: fixed; }
table.frames td { vertical-align: top; font-size: 12px; }
table.frames td.at { width: 70px; text-align: right; } table.frames td.conn { width: 110px; }
table.frames td.dir { width: 24px; text-align: center; font-weight: 700; }
table.frames td.text { white-space: pre-wrap; word-break: break-all; }
tr.sent td.dir { color: #2456c7; } tr.received td.dir { color: #7a3fbf; }
tr.note td { color: #5a6270; font-style: italic; }
.bad { color: var(--fail); font-weight: 600; display: block; }
.filters button { margin-right: 4px; border: 1px solid var(--line); background: #fff;
  border-radius: 4px; padding: 2px 10px; cursor: pointer; }
.filters button.on { background: var(--ink); color: #fff; }
body[data-filter="failed"] details.test:not(.failed):not(.error),
body[data-filter="passed"] details.test:not(.passed),
body[data-filter="skipped"] details.test:not(.skipped) { display: none; }
.muted { color: #5a6270; }
"""

_JS = """
(function () {
  function openTest(id, flash) {
    var el = document.getElementById(id);
    if (!el) { return null; }
    el.open = true;
    if (flash) {
      el.classList.add('flash');
      setTimeout(function () { el.classList.remove('flash'); }, 1500);
    }
    return el;
  }
  function showCell(td) {
    var ids = td.getAttribute('data-tests').split(' ');
    var panel = document.getElementById('cell-panel');
    var list = document.getElementById('cell-tests');
    document.querySelectorAll('td.cell.selected').forEach(function (c) {
      c.classList.remove('selected');
    });
    td.classList.add('selected');
    document.getElementById('cell-title').textContent = td.getAttribute('data-label');
    list.innerHTML = '';
    var bad = ids.filter(function (id) {
      var el = document.getElementById(id);
      return el && (el.classList.contains('failed') || el.classList.contains('error'));
    });
    ids.forEach(function (id) {
      var el = document.getElementById(id);
      if (!el) { return; }
      var li = document.createElement('li');
      var a = document.createElement('a');
      a.href = '#' + id;
      a.textContent = el.getAttribute('data-name') + ' (' + el.getAttribute('data-outcome') + ')';
      li.appendChild(a);
      list.appendChild(li);
    });
    panel.hidden = false;
    document.body.setAttribute('data-filter', 'all');
    markFilter('all');
    var shown = (bad.length ? bad : ids).map(function (id) { return openTest(id, true); });
    if (shown[0]) { shown[0].scrollIntoView({block: 'start'}); }
  }
  function markFilter(name) {
    document.querySelectorAll('.filters button').forEach(function (b) {
      b.classList.toggle('on', b.getAttribute('data-filter') === name);
    });
  }
  document.querySelectorAll('td.cell[data-tests]').forEach(function (td) {
    td.addEventListener('click', function () { showCell(td); });
    td.addEventListener('keydown', function (event) {
      if (event.key === 'Enter' || event.key === ' ') { event.preventDefault(); showCell(td); }
    });
  });
  document.querySelectorAll('.filters button').forEach(function (b) {
    b.addEventListener('click', function () {
      document.body.setAttribute('data-filter', b.getAttribute('data-filter'));
      markFilter(b.getAttribute('data-filter'));
    });
  });
  function fromHash() {
    if (location.hash.length > 1) { openTest(location.hash.slice(1), true); }
  }
  window.addEventListener('hashchange', fromHash);
  fromHash();
})();
"""


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _duration(seconds: float) -> str:
    if seconds >= 60:
        return f"{int(seconds // 60)}m {seconds % 60:.0f}s"
    return f"{seconds:.2f}s" if seconds < 10 else f"{seconds:.1f}s"


def _run_section(data: dict[str, Any]) -> str:
    summary = data["summary"]
    code = data["exit_code"]
    boxes = [
        f'<div class="box {"exit-0" if code == 0 else "exit-bad"}" id="exit-code">'
        f"<b>exit {code}</b><span>{_e(data['exit_meaning'])}</span></div>"
    ]
    for outcome in ("total", "passed", "failed", "error", "skipped"):
        boxes.append(
            f'<div class="box" id="count-{outcome}"><b>{summary[outcome]}</b>'
            f"<span>{outcome}</span></div>"
        )
    boxes.append(
        f'<div class="box"><b>{_duration(data["duration_seconds"])}</b>'
        f"<span>run time, started {_e(data['started_at'])}</span></div>"
    )
    rows = [("command", f"<code>{_e(' '.join(['pytest', *data['command']]))}</code>")]
    out = ['<div class="run">', *boxes, "</div>", '<table class="kv" style="margin-top:10px">']
    out += [f"<tr><td>{name}</td><td>{value}</td></tr>" for name, value in rows]
    out.append("</table>")
    out.append("<h2>Target</h2>")
    if not data["targets"]:
        out.append('<p class="muted">No target was started in this run.</p>')
    else:
        out.append('<table class="kv" id="targets">')
        out.append(
            "<tr><th>backend</th><th>url</th><th>pid</th><th>instance</th><th>image</th>"
            "<th>worker</th><th>description</th></tr>"
        )
        for target in data["targets"]:
            out.append(
                "<tr>"
                + "".join(
                    f"<td class='mono'>{_e(target.get(key) if target.get(key) is not None else '-')}</td>"
                    for key in (
                        "backend",
                        "ws_url",
                        "pid",
                        "instance",
                        "image",
                        "worker",
                        "description",
                    )
                )
                + "</tr>"
            )
        out.append("</table>")
    return "\n".join(out)


def _causes_section(data: dict[str, Any], ids: dict[str, str], names: dict[str, str]) -> str:
    causes = data["causes"]
    if not causes:
        return ""
    out = ['<h2>Root causes</h2><div id="causes">']
    for group in causes:
        count = len(group["tests"])
        head = f"{count} failures share one cause" if count > 1 else "1 failure"
        links = ", ".join(
            f'<a href="#{ids[nodeid]}">{_e(names[nodeid])}</a>' for nodeid in group["tests"]
        )
        out.append(
            f'<div class="failure cause-group"><b>{head}:</b> <code>{_e(group["cause"])}</code>'
            f"<br>{links}</div>"
        )
    out.append("</div>")
    return "\n".join(out)


def _matrix_section(data: dict[str, Any], ids: dict[str, str]) -> str:
    matrix = data["matrix"]
    if not matrix["cells"]:
        return '<h2>Coverage</h2><p class="muted">No scenario carried a coverage cell.</p>'
    columns = [(c["route"], c["auth"]) for c in matrix["columns"]]
    cells = {(c["route"], c["message"], c["auth"]): c for c in matrix["cells"]}
    routes: list[tuple[str, int]] = []
    for route, _ in columns:
        if routes and routes[-1][0] == route:
            routes[-1] = (route, routes[-1][1] + 1)
        else:
            routes.append((route, 1))
    out = [
        "<h2>Coverage: message x route x auth</h2>",
        '<p class="legend">'
        + "".join(
            f'<span class="badge {status}">{status}</span>'
            for status in ("passed", "failed", "error", "skipped")
        )
        + ' <span class="muted" style="color:#5a6270">click a cell for its scenarios</span></p>',
        '<table class="matrix" id="matrix">',
        '<tr><th rowspan="2" class="message">message</th>'
        + "".join(f'<th colspan="{span}">{_e(route)}</th>' for route, span in routes)
        + "</tr>",
        "<tr>" + "".join(f"<th>{_e(auth)}</th>" for _, auth in columns) + "</tr>",
    ]
    for message in matrix["messages"]:
        row = [f'<tr><th class="message">{_e(message)}</th>']
        for route, auth in columns:
            cell = cells.get((route, message, auth))
            if cell is None:
                row.append('<td class="cell none"></td>')
                continue
            tests = " ".join(ids[nodeid] for nodeid in cell["tests"])
            count = len(cell["tests"])
            text = {"passed": "ok", "failed": "FAIL", "error": "ERROR", "skipped": "skip"}[
                cell["status"]
            ]
            label = f"{message} on {route} / {auth}: {cell['status']} ({count} scenarios)"
            row.append(
                f'<td class="cell {cell["status"]}" data-tests="{tests}" tabindex="0" '
                f'data-label="{_e(label)}" title="{_e(label)}">{text}'
                f"{f' {count}' if count > 1 else ''}</td>"
            )
        out.append("".join(row) + "</tr>")
    out.append("</table>")
    out.append('<div id="cell-panel" hidden><b id="cell-title"></b><ul id="cell-tests"></ul></div>')
    return "\n".join(out)


def _frames(test: dict[str, Any]) -> str:
    if not test["frames"]:
        return '<p class="muted">No frames.</p>'
    out = ['<table class="frames">']
    if test.get("frames_omitted"):
        out.append(
            f'<tr class="note"><td colspan="4">... {test["frames_omitted"]} earlier frames</td></tr>'
        )
    for frame in test["frames"]:
        kind = frame["kind"]
        if kind == "close":
            code = frame["close_code"] if frame["close_code"] is not None else "(no close frame)"
            body = f"CLOSE {code} {frame['text']}".rstrip()
        elif kind == "binary":
            body = f"BINARY {frame['size']} bytes"
        else:
            body = frame["text"]
        marks = "".join(
            f'<span class="bad">!! contract: {_e(v)}</span>' for v in frame.get("violations", [])
        )
        if frame.get("unexplained"):
            marks += f'<span class="bad">!! unexplained: {_e(frame["unexplained"])}</span>'
        css = "note" if kind == "note" else frame["direction"]
        arrow = "" if kind == "note" else (">>" if frame["direction"] == "sent" else "&lt;&lt;")
        out.append(
            f'<tr class="{css}"><td class="at mono">{frame["at"]:.3f}s</td>'
            f'<td class="conn mono">{_e(frame["connection"])}</td><td class="dir">{arrow}</td>'
            f'<td class="text mono">{_e(body)}{marks}</td></tr>'
        )
    out.append("</table>")
    return "\n".join(out)


def _test(test: dict[str, Any]) -> str:
    outcome = test["outcome"]
    failure = test.get("failure")
    cause = ""
    if failure:
        cause = f'<span class="cause">{_e(failure["title"])}</span>'
    elif test.get("skip_reason"):
        cause = f'<span class="cause">{_e(test["skip_reason"])}</span>'
    body = []
    scenario = test.get("scenario")
    body.append(f'<div class="muted mono">{_e(test["nodeid"])}</div>')
    if scenario and scenario.get("description"):
        body.append(f"<p>{_e(scenario['description'])}</p>")
    if test.get("cell"):
        cell = test["cell"]
        body.append(
            f'<p class="muted">cell: {_e(cell["message"])} on {_e(cell["route"])} / {_e(cell["auth"])}</p>'
        )
    if failure:
        lines = [f"<b>{_e(failure['title'])}</b>"]
        for label, key in (("Received", "received"), ("Documented", "documented"), ("At", "step")):
            if failure.get(key):
                lines.append(f"{label}: <code>{_e(failure[key])}</code>")
        body.append(f'<div class="failure {outcome}">' + "<br>".join(lines) + "</div>")
    elif test.get("message"):
        body.append(f"<pre>{_e(test['message'])}</pre>")
    if test.get("skip_reason"):
        body.append(f"<p>skipped: {_e(test['skip_reason'])}</p>")
    if test["frames"] or outcome != "skipped":
        body.append("<h4>Frames (&gt;&gt; sent, &lt;&lt; received)</h4>")
        body.append(_frames(test))
    if test.get("log_tail"):
        body.append("<h4>Server log tail</h4>")
        body.append(f'<pre class="log">{_e(test["log_tail"])}</pre>')
    return (
        f'<details class="test {outcome}" id="{test["id"]}" data-outcome="{outcome}" '
        f'data-name="{_e(test["name"])}"><summary><span class="badge {outcome}">{outcome}</span> '
        f'<b class="mono">{_e(test["name"])}</b><span class="dur">'
        f"{_duration(test['duration_seconds'])}</span>{cause}</summary>"
        f'<div class="body">{"".join(body)}</div></details>'
    )


def render_html(data: dict[str, Any]) -> str:
    """The whole page for a report dict (``report_files.REPORT_SCHEMA``)."""
    ids = {test["nodeid"]: test["id"] for test in data["tests"]}
    names = {test["nodeid"]: test["name"] for test in data["tests"]}
    order = {"failed": 0, "error": 1, "passed": 2, "skipped": 3}
    tests = sorted(data["tests"], key=lambda test: order[test["outcome"]])
    errors = ""
    if data["collection_errors"]:
        errors = "<h2>Collection errors</h2>" + "".join(
            f'<div class="failure error"><b>{_e(e["nodeid"])}</b><pre>{_e(e["message"])}</pre></div>'
            for e in data["collection_errors"]
        )
    title = f"ws-harness report: exit {data['exit_code']}, {data['summary']['failed']} failed"
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_e(title)}</title>",
            f"<style>{_CSS}</style></head>",
            '<body data-filter="all">',
            "<h1>ws-harness conformance report</h1>",
            _run_section(data),
            errors,
            _causes_section(data, ids, names),
            _matrix_section(data, ids),
            "<h2>Tests</h2>",
            '<p class="filters">'
            + "".join(
                f'<button type="button" data-filter="{name}" class="{"on" if name == "all" else ""}">'
                f"{name}</button>"
                for name in ("all", "failed", "passed", "skipped")
            )
            + "</p>",
            '<div id="tests">',
            *(_test(test) for test in tests),
            "</div>",
            f"<script>{_JS}</script>",
            "</body></html>",
            "",
        ]
    )
