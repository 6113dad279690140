"""One-line commands that replay a failing frame against the server.

A shrunk payload is often large (a 64 KiB string, 10 000 levels of nesting), so frames are
written as Python expressions with long runs folded (``'[' * 10000``); the line stays short
enough to paste. Tokens never appear: the URL says ``$WS_TOKEN`` and the shell expands it.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

_MIN_RUN = 24  # repeats of a unit before it is folded into ``unit * n``
_MAX_UNIT = 8  # longest repeating unit looked for


def fold(frame: str | bytes) -> str:
    """A Python expression equal to ``frame``, with long repetitions folded."""
    parts: list[str] = []
    literal_start = 0
    index = 0
    while index < len(frame):
        unit, count = _run_at(frame, index)
        if count * len(unit) >= _MIN_RUN and count > 1:
            if literal_start < index:
                parts.append(repr(frame[literal_start:index]))
            parts.append(f"{unit!r} * {count}")
            index += count * len(unit)
            literal_start = index
        else:
            index += 1
    if literal_start < len(frame) or not parts:
        parts.append(repr(frame[literal_start:]))
    return " + ".join(parts)


def _run_at(frame: str | bytes, index: int) -> tuple[str | bytes, int]:
    best: tuple[str | bytes, int] = (frame[index : index + 1], 1)
    for width in range(1, _MAX_UNIT + 1):
        unit = frame[index : index + width]
        if len(unit) < width:
            break
        count = 1
        while frame[index + count * width : index + (count + 1) * width] == unit:
            count += 1
        if count * width > best[1] * len(best[0]) and count > 1:
            best = (unit, count)
    return best


def python_line(url: str, frames: Sequence[str | bytes], reads: int = 4) -> str:
    """``python -c`` that connects, sends ``frames`` and prints what comes back.

    It prints up to ``reads`` frames; the exception at the end shows the close code
    (``received 1011 (internal error)``) or the timeout.
    """
    sends = "; ".join(f"w.send({fold(frame)})" for frame in frames)
    code = (
        "from websockets.sync.client import connect; "
        f"w = connect({url!r}, max_size=None); "
        f"{sends}; [print(repr(w.recv(timeout=3))) for _ in range({reads})]"
    )
    return f"python -c {_double_quoted(code)}"


def _double_quoted(text: str) -> str:
    """``text`` in shell double quotes, where only ``$WS_TOKEN`` is expanded."""
    escaped = "".join("\\" + c if c in '\\"$`' else c for c in text)
    return '"' + escaped.replace("\\$WS_TOKEN", "$WS_TOKEN") + '"'


def websocat_line(url: str, frame: str | bytes) -> str | None:
    """A ``websocat`` line for short single-line text frames (None otherwise)."""
    if isinstance(frame, bytes) or "\n" in frame or len(frame) > 500 or not frame.isprintable():
        return None
    return f"echo {shlex.quote(frame)} | websocat {_double_quoted(url)}"


def describe(url: str, frames: Sequence[str | bytes]) -> str:
    """The reproducer block shown with a failure."""
    lines = [
        "Reproduce (set WS_TOKEN to the user's token first; frames printed until close/timeout):"
    ]
    lines.append("  " + python_line(url, frames))
    if len(frames) == 1:
        other = websocat_line(url, frames[0])
        if other:
            lines.append("  " + other)
    return "\n".join(lines)
