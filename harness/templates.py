"""``${...}`` templates in scenario and config values, resolved at run time. Pure, no I/O.

Used by the scenario engine and by every place that sends the config's ``connect_message``
(readiness, fuzzing, Locust), so all of them fill ``${user.*}`` alike.

A value that is exactly one template keeps the type of what it resolves to (``"${user.user_id}"``
gives the integer 2); a template inside a longer string is interpolated as text.

Names a template can use (the runner builds the namespace):
    route, auth            the ``each`` case values
    user.*                 the connecting user's config (``user.user_id``, ``user.role``...)
    users.<name>.*         any configured user
    sent.*                 the last message sent on the connection
    now_ms, uuid           the current time in ms since the epoch, a fresh id
    holds:<permission>     whether the connecting user holds it (true/false)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

_TEMPLATE = re.compile(r"\$\{([^}]+)\}")


class TemplateError(KeyError):
    """A template names something the namespace does not have."""


def resolve(value: Any, lookup: Callable[[str], Any]) -> Any:
    """Resolve every template in ``value`` (recursing into lists and mappings)."""
    if isinstance(value, str):
        whole = _TEMPLATE.fullmatch(value)
        if whole:
            return lookup(whole.group(1).strip())
        return _TEMPLATE.sub(lambda m: _text(lookup(m.group(1).strip())), value)
    if isinstance(value, Mapping):
        return {resolve(k, lookup): resolve(v, lookup) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [resolve(item, lookup) for item in value]
    return value


def dotted(namespace: Mapping[str, Any], expression: str) -> Any:
    """Look up ``a.b.c`` in nested mappings / objects; TemplateError names what is missing."""
    current: Any = namespace
    walked = []
    for part in expression.split("."):
        walked.append(part)
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif not isinstance(current, Mapping) and hasattr(current, part):
            current = getattr(current, part)
        else:
            raise TemplateError(f"${{{expression}}}: nothing named {'.'.join(walked)!r}")
    return current


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def for_user(value: Any, user: Any) -> Any:
    """Resolve the ``${user.*}`` templates of ``value`` for one user (anonymous: None -> null)."""

    def look(expression: str) -> Any:
        if not expression.startswith("user."):
            raise TemplateError(f"${{{expression}}}: only user.* is known here")
        return None if user is None else dotted({"user": user}, expression)

    return resolve(value, look)


SLOT = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")  # a {slot} in a pattern such as x-roles'


def split(pattern: str, value: str) -> dict[str, str] | None:
    """``{resource}.{action}`` against ``grades.view`` -> {"resource": ..., "action": ...};
    None when ``value`` does not fit or the pattern has no slot."""
    if not SLOT.search(pattern):
        return None
    regex = ""
    for index, part in enumerate(SLOT.split(pattern)):
        regex += re.escape(part) if index % 2 == 0 else f"(?P<{part}>.+?)"
    match = re.fullmatch(regex, value)
    return match.groupdict() if match else None
