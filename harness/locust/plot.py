"""The latency picture: each metric's HDR percentile distribution in one self-contained SVG.

The usual HDR percentile plot (HdrHistogram's plotter, wrk2): the x axis is ``1 / (1 - p)`` on
a log scale, so every "nine" (90 %, 99 %, 99.9 %, 99.99 %) gets the same width and the tail is
as readable as the median; y is latency. y is linear from 0, unless the curves span more than
two decades (a 100 us ping beside a 40 ms connect), then log, or the fast curves would lie flat
on the axis.

Pure string building (no plotting library, nothing fetched): the same text is written next to
the CSVs, inlined in Locust's HTML report and served to the web UI. The marked points carry
``data-metric``, ``data-percentile`` and ``data-us``, so tests and scripts can read them back.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape

from harness.locust.hdr import HdrRecorder

MARKED = (50.0, 90.0, 99.0, 99.9, 99.99)
_LOWEST_NINES = math.log10(2)  # p50: 1/(1-0.5) = 2
_HIGHEST_NINES = 4.0  # p99.99
# Marked percentiles plus 20 points per nine between them: a smooth curve, ~75 points.
PERCENTILES: tuple[float, ...] = tuple(
    sorted({*MARKED, *(round(100 * (1 - 10 ** -(k / 20)), 6) for k in range(7, 80))})
)
_COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
_WIDTH, _HEIGHT = 820, 400
_LEFT, _RIGHT, _TOP, _BOTTOM = 80, 590, 40, 345  # the plot area; the legend is to the right


@dataclass(frozen=True)
class Curve:
    """One metric: (percentile, microseconds) from p50 to p99.99, ascending."""

    name: str
    count: int
    points: tuple[tuple[float, int], ...]


def curves_of(recorder: HdrRecorder, names: Iterable[str] | None = None) -> list[Curve]:
    """The curves of the recorder's metrics (all, or ``names``) that have samples."""
    curves = []
    for name in recorder.names() if names is None else names:
        values = recorder.percentiles_us(name, PERCENTILES)
        if values:
            curves.append(Curve(name, recorder.count(name), tuple(sorted(values.items()))))
    return curves


def format_us(us: float) -> str:
    """``812 us``, ``2.3 ms``, ``1.5 s``: three significant digits."""
    if us < 1000:
        return f"{us:.3g} us"
    if us < 1_000_000:
        return f"{us / 1000:.3g} ms"
    return f"{us / 1_000_000:.3g} s"


def _x(percentile: float) -> float:
    nines = math.log10(1 / (1 - percentile / 100))
    share = (nines - _LOWEST_NINES) / (_HIGHEST_NINES - _LOWEST_NINES)
    return _LEFT + share * (_RIGHT - _LEFT)


def _nice_step(span: float) -> float:
    """A step of 1, 2, 2.5 or 5 times a power of ten giving about five ticks over ``span``."""
    raw = span / 5
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)


class _Scale:
    """Microseconds -> y, linear from 0 or log by decades; and the ticks to label."""

    def __init__(self, low: float, high: float) -> None:
        high = max(high, 1.0)
        self.log = high / max(low, 1.0) > 100
        if self.log:
            self.low = 10 ** math.floor(math.log10(max(low, 1.0)))
            self.high = 10 ** math.ceil(math.log10(high))
            decades = range(round(math.log10(self.low)), round(math.log10(self.high)) + 1)
            self.ticks = [10.0**d for d in decades]
        else:
            step = _nice_step(high)
            self.low, self.high = 0.0, math.ceil(high / step) * step
            self.ticks = [i * step for i in range(round(self.high / step) + 1)]

    def y(self, us: float) -> float:
        if self.log:
            share = (math.log10(max(us, self.low)) - math.log10(self.low)) / (
                math.log10(self.high) - math.log10(self.low)
            )
        else:
            share = us / self.high
        return _BOTTOM - share * (_BOTTOM - _TOP)


def render_svg(
    curves: Sequence[Curve],
    limit: tuple[str, float] | None = None,
    title: str = "Latency by percentile (HDR histograms)",
) -> str:
    """The SVG document. ``limit`` = (label, microseconds): a dashed line, e.g. the p99 gate
    on heartbeats, drawn when it falls near the curves (else named in the legend)."""
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{_HEIGHT}" '
        f'viewBox="0 0 {_WIDTH} {_HEIGHT}" font-family="Helvetica, Arial, sans-serif" '
        'font-size="12">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{_WIDTH}" height="{_HEIGHT}" fill="#ffffff"/>',
        f'<text x="{_LEFT}" y="24" font-size="15" font-weight="bold">{escape(title)}</text>',
    ]
    if not curves:
        out.append(
            f'<text x="{(_LEFT + _RIGHT) / 2}" y="{(_TOP + _BOTTOM) / 2}" text-anchor="middle" '
            'fill="#666">no samples: no request succeeded</text></svg>'
        )
        return "\n".join(out)
    values = [us for curve in curves for _, us in curve.points]
    high = max(values)
    drawn_limit = limit is not None and limit[1] <= 4 * high
    if drawn_limit and limit is not None:
        high = max(high, limit[1])
    scale = _Scale(min(values), high)
    out += _axes(scale)
    for index, curve in enumerate(curves):
        out += _curve(curve, _COLOURS[index % len(_COLOURS)], scale)
    if limit is not None and drawn_limit:
        y = scale.y(limit[1])
        out.append(
            f'<g class="limit"><line x1="{_LEFT}" x2="{_RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#d62728" stroke-width="1.5" stroke-dasharray="6 4"/>'
            f'<text x="{_LEFT + 6}" y="{y - 5:.1f}" fill="#d62728" stroke="#ffffff" '
            f'stroke-width="3" paint-order="stroke">{escape(limit[0])}</text></g>'
        )
    out += _legend(curves, None if drawn_limit else limit)
    out.append("</svg>")
    return "\n".join(out)


def _axes(scale: _Scale) -> list[str]:
    out = [
        f'<rect x="{_LEFT}" y="{_TOP}" width="{_RIGHT - _LEFT}" height="{_BOTTOM - _TOP}" '
        'fill="none" stroke="#999"/>'
    ]
    for percentile in MARKED:
        x = _x(percentile)
        out.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{_TOP}" y2="{_BOTTOM}" stroke="#e3e3e3"/>'
            f'<text x="{x:.1f}" y="{_BOTTOM + 16}" text-anchor="middle">{percentile:g}%</text>'
        )
    for tick in scale.ticks:
        y = scale.y(tick)
        out.append(
            f'<line x1="{_LEFT}" x2="{_RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e3e3"/>'
            f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{format_us(tick)}</text>'
        )
    axis = "latency (log scale)" if scale.log else "latency"
    middle = (_TOP + _BOTTOM) / 2
    out.append(
        f'<text x="{(_LEFT + _RIGHT) / 2}" y="{_BOTTOM + 36}" text-anchor="middle" fill="#444">'
        "percentile (log scale of 1/(1-p): one step per nine)</text>"
        f'<text x="16" y="{middle}" text-anchor="middle" fill="#444" '
        f'transform="rotate(-90 16 {middle})">{axis}</text>'
    )
    return out


def _curve(curve: Curve, colour: str, scale: _Scale) -> list[str]:
    name = escape(curve.name)
    line = " ".join(f"{_x(p):.1f},{scale.y(us):.1f}" for p, us in curve.points)
    out = [
        f'<polyline class="curve" data-metric="{name}" fill="none" stroke="{colour}" '
        f'stroke-width="2" points="{line}"><title>{name}</title></polyline>'
    ]
    values = dict(curve.points)
    for percentile in MARKED:
        us = values.get(percentile)
        if us is None:
            continue
        out.append(
            f'<circle data-metric="{name}" data-percentile="{percentile:g}" data-us="{us}" '
            f'cx="{_x(percentile):.1f}" cy="{scale.y(us):.1f}" r="3.5" fill="{colour}">'
            f"<title>{name} p{percentile:g}: {format_us(us)}</title></circle>"
        )
    return out


def _legend(curves: Sequence[Curve], limit: tuple[str, float] | None) -> list[str]:
    x = _RIGHT + 16
    out = []
    y = _TOP + 8
    for index, curve in enumerate(curves):
        colour = _COLOURS[index % len(_COLOURS)]
        p99 = dict(curve.points).get(99.0)
        detail = f"n={curve.count}" + (f", p99 {format_us(p99)}" if p99 is not None else "")
        out.append(
            f'<line x1="{x}" x2="{x + 18}" y1="{y}" y2="{y}" stroke="{colour}" stroke-width="3"/>'
            f'<text x="{x + 24}" y="{y + 4}">{escape(curve.name)}</text>'
            f'<text x="{x + 24}" y="{y + 18}" fill="#666" font-size="11">{escape(detail)}</text>'
        )
        y += 38
    if limit is not None:
        out.append(
            f'<text x="{x}" y="{y + 4}" fill="#d62728" font-size="11">'
            f"{escape(limit[0])} (above the chart)</text>"
        )
    return out
