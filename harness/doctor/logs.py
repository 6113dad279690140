"""Reading a server's log: the exceptions in it, and what the known ones mean. No I/O here.

A closed-after-accept handshake says *where* a server fails (its consumer's connect()); the
server's log says *why*. ``parse_exceptions`` turns the Python tracebacks in a log (Daphne
logs "Exception inside application: ..." and the traceback) into ``LoggedException``s,
counted, in order of first appearance. ``hint_for`` matches one against ``EXCEPTION_HINTS``,
a table like ``servers.SIGNATURES``: teaching the doctor a new known cause is one row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from harness.doctor.observations import LoggedException

_TRACEBACK = "Traceback (most recent call last):"
_FRAME = re.compile(r'^\s+File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<func>\S+)')
_EXCEPTION = re.compile(r"^(?P<kind>[A-Za-z_][\w.]*)(?::\s?(?P<message>.*))?$")
_INSTALLED = re.compile(r"[/\\](site-packages|dist-packages|lib[/\\]python\d[\d.]*)[/\\]")
_CHAINED = ("During handling of the above exception", "The above exception was the direct cause")
_PATH_PARTS = 2  # a frame's file as "package/module.py"


def parse_exceptions(text: str) -> tuple[LoggedException, ...]:
    """Every traceback's final exception, the same ones merged (``count``), first seen first.

    Of a chain ("During handling of the above exception ...") only the last one is kept:
    it is the one that ended the request. A traceback cut off before its exception line
    (a log still being written) is skipped.
    """
    lines = text.splitlines()
    found: dict[tuple[str, str, str], LoggedException] = {}
    index = 0
    while index < len(lines):
        if _TRACEBACK not in lines[index]:
            index += 1
            continue
        context = _context_before(lines, index)
        exception, index = _read_traceback(lines, index + 1, context)
        if exception is None:
            continue
        if index < len(lines) and _chained(lines, index):
            continue  # the next traceback in the chain replaces this one
        key = (exception.kind, exception.message, exception.where)
        seen = found.get(key)
        found[key] = replace(seen, count=seen.count + 1) if seen else exception
    return tuple(found.values())


def _context_before(lines: list[str], index: int) -> str:
    """The log line that introduced the traceback (blank lines and chain notes skipped)."""
    for line in reversed(lines[max(index - 3, 0) : index]):
        if line.strip() and not line.startswith(_CHAINED):
            return line.strip()
    return ""


def _read_traceback(
    lines: list[str], index: int, context: str
) -> tuple[LoggedException | None, int]:
    """Frames from ``index`` up to the exception line; (exception or None, the next index)."""
    frames: list[tuple[str, str, str]] = []  # (where, code, file)
    while index < len(lines):
        line = lines[index]
        frame = _FRAME.match(line)
        if frame:
            code = lines[index + 1].strip() if index + 1 < len(lines) else ""
            if _FRAME.match(code) or code.startswith("^"):
                code = ""
            frames.append((_frame_label(frame), code, frame["file"]))
            index += 1
            continue
        if line.startswith((" ", "\t")) or not line.strip():
            index += 1  # a source line, a ^^^ marker, or an exception group's box
            continue
        match = _EXCEPTION.match(line.strip())
        if match is None or not frames:
            return None, index
        own = [f for f in frames if not _INSTALLED.search(f[2])]
        where, code, _ = (own or frames)[-1]
        kind = match["kind"]
        message = (match["message"] or "").strip()
        return LoggedException(kind, message, where, code, context), index + 1
    return None, index


def _frame_label(frame: re.Match[str]) -> str:
    parts = re.split(r"[/\\]", frame["file"])
    return f"{'/'.join(parts[-_PATH_PARTS:])}:{frame['line']} in {frame['func']}"


def _chained(lines: list[str], index: int) -> bool:
    """True when a chain note follows (within a couple of blank lines)."""
    for line in lines[index : index + 3]:
        if line.startswith(_CHAINED):
            return True
        if line.strip():
            return False
    return False


@dataclass(frozen=True)
class ExceptionHint:
    """A pattern searched in ``Kind: message`` and what it means."""

    pattern: str
    cause: str
    fix: str

    def matches(self, exception: LoggedException) -> bool:
        text = f"{exception.summary} {exception.code}"
        return re.search(self.pattern, text) is not None


# First match wins. Channels and Django knowledge only: no project's names.
EXCEPTION_HINTS: tuple[ExceptionHint, ...] = (
    ExceptionHint(
        r"'NoneType' object has no attribute 'group_(add|discard|send)'"
        r"|InvalidChannelLayerError|channel_layer\.\w+\(",
        "no channel layer: the consumer's self.channel_layer is None, as when the settings "
        "have no CHANNEL_LAYERS",
        'add CHANNEL_LAYERS to the settings: {"default": {"BACKEND": '
        '"channels.layers.InMemoryChannelLayer"}} for one process, channels_redis for several',
    ),
    ExceptionHint(
        r"No route found for path",
        "URLRouter matched no route (Daphne answers the handshake with HTTP 500)",
        "check websocket_urlpatterns: the regexes match the path without its leading slash",
    ),
    ExceptionHint(
        r"OperationalError: no such table",
        "the database has no tables: migrations were not run",
        "run `python manage.py migrate` with the server's settings",
    ),
    ExceptionHint(
        r"SynchronousOnlyOperation",
        "a database (ORM) call made directly in an async consumer",
        "wrap it in channels.db.database_sync_to_async",
    ),
    ExceptionHint(
        r"(ConnectionRefusedError|ConnectionError|OSError).*(6379|[Rr]edis)",
        "the channel layer's Redis is not reachable",
        "start Redis or fix CHANNEL_LAYERS' hosts",
    ),
    ExceptionHint(
        r"ImproperlyConfigured|AppRegistryNotReady",
        "the Django settings are incomplete, or models were imported before django.setup()",
        "check DJANGO_SETTINGS_MODULE, and get the Django ASGI app before importing consumers",
    ),
)


def hint_for(
    exception: LoggedException, hints: tuple[ExceptionHint, ...] = EXCEPTION_HINTS
) -> ExceptionHint | None:
    """The first known cause matching ``exception``; None when it is not a known one."""
    return next((hint for hint in hints if hint.matches(exception)), None)
