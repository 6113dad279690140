"""Request frames of the contract's templates, rendered once per user for the load hot path.

``harness.protocol.fill`` plus ``json.dumps`` cost about 4.5 us per request (measured on the
development VM), as much as a sixth of a whole heartbeat round trip under Locust. A
liveness template is the same on every request but for ``${now_ms}``; so ``FrameTemplate``
fills it once, with a marker number where the time goes, and keeps the JSON text as a
``%``-format: each request then costs one ``%d``. A template that asks for ``${uuid}`` (a
fresh value per request) is filled and encoded on every call, like any other template.

Pure: no I/O, no Locust. The session still registers every request (``session.send`` with
the text rendered here), so correlation and reply matching stay the session's.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.protocol import fill

_TIME_MARK = 7355608007355608  # a number no template yields by chance
_FRESH_MARK = "ws-harness-fresh-value-7355608"


@dataclass(frozen=True)
class FrameTemplate:
    """A contract template filled for one user; ``render()`` gives (message, text) to send.

    ``message`` of a pre-rendered template is the template as filled when it was compiled:
    the session reads only its type and correlation field, which do not change between
    requests; the text on the wire carries the current time.
    """

    template: Any
    user: Any
    message: Any
    text_format: str | None  # None: filled and encoded on every render
    timed: bool = False  # text_format holds one %d for ${now_ms}

    @classmethod
    def compile(cls, template: Any, user: Any = None) -> FrameTemplate:
        """Prepare ``template`` (a contract ``send`` template) for ``user`` (None: anonymous)."""
        marked = json.dumps(fill(template, user, {"now_ms": _TIME_MARK, "uuid": _FRESH_MARK}))
        message = fill(template, user)
        if _FRESH_MARK in marked:
            return cls(template, user, message, None)
        mark = str(_TIME_MARK)
        if mark not in marked:
            return cls(template, user, message, marked)
        return cls(template, user, message, marked.replace("%", "%%").replace(mark, "%d"), True)

    def render(self) -> tuple[Any, str]:
        """The message and its JSON text for one request."""
        if self.text_format is None:
            message = fill(self.template, self.user)
            return message, json.dumps(message)
        if self.timed:
            return self.message, self.text_format % int(time.time() * 1000)
        return self.message, self.text_format


def type_of(message: Any, type_field: str) -> str | None:
    """The message's type (the value of the contract's type field), if it has one."""
    value = message.get(type_field) if isinstance(message, Mapping) else None
    return value if isinstance(value, str) else None
