"""Does a received frame satisfy an expectation? Pure functions, no I/O.

A ``match`` mapping names fields by dotted path (``data.user_id``) and gives either the
expected value or one operator:

    {"$contains": x}   the field is a list holding x (or a string containing x)
    {"$in": [a, b]}    the field equals one of the values
    {"$type": name}    string | integer | number | boolean | array | object | null
    {"$absent": true}  the field is missing
    {"$not": v}        the field is present and differs from v

Each mismatch comes back as one line, "field: received X, documented Y".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MISSING = object()  # what field_at returns for an absent field

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}


def field_at(value: Any, path: str) -> Any:
    """The value at a dotted path, or the ``MISSING`` sentinel."""
    current = value
    for part in path.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return MISSING
    return current


def mismatches(frame: Any, expected: Mapping[str, Any]) -> list[str]:
    """Every way ``frame`` differs from ``expected``; empty when it matches."""
    problems = []
    for path, want in expected.items():
        got = field_at(frame, path)
        problem = _compare(got, want)
        if problem:
            problems.append(f"{path}: {problem}")
    return problems


def _compare(got: Any, want: Any) -> str | None:
    shown = "nothing (field missing)" if got is MISSING else repr(got)
    if isinstance(want, Mapping) and len(want) == 1 and next(iter(want)).startswith("$"):
        operator, operand = next(iter(want.items()))
        return (
            _operators[operator](got, operand, shown)
            if operator in _operators
            else (f"unknown operator {operator!r}; use $contains, $in, $type, $absent or $not")
        )
    if got is MISSING or not _equal(got, want):
        return f"received {shown}, documented {want!r}"
    return None


def _equal(got: Any, want: Any) -> bool:
    """JSON equality: Python's True == 1 must not hold, at any depth."""
    if isinstance(got, bool) or isinstance(want, bool):
        return type(got) is type(want) and got == want
    if isinstance(got, list) and isinstance(want, list | tuple):
        return len(got) == len(want) and all(_equal(g, w) for g, w in zip(got, want, strict=True))
    if isinstance(got, Mapping) and isinstance(want, Mapping):
        return got.keys() == want.keys() and all(_equal(got[k], want[k]) for k in got)
    return bool(got == want)


def _contains(got: Any, operand: Any, shown: str) -> str | None:
    if isinstance(got, str):
        if not isinstance(operand, str):
            return f"$contains on a string needs a string operand, not {operand!r}"
        if operand in got:
            return None
    elif isinstance(got, list) and any(_equal(item, operand) for item in got):
        return None
    return f"received {shown}, documented a value containing {operand!r}"


def _in(got: Any, operand: Any, shown: str) -> str | None:
    if not isinstance(operand, list | tuple):
        return f"$in needs a list of values, not {operand!r}"
    if got is not MISSING and any(_equal(got, option) for option in operand):
        return None
    return f"received {shown}, documented one of {operand!r}"


def _type(got: Any, operand: Any, shown: str) -> str | None:
    if operand not in _TYPES:
        return f"unknown type {operand!r}; use {', '.join(_TYPES)}"
    if (
        got is not MISSING
        and isinstance(got, _TYPES[operand])
        and not (operand in ("integer", "number") and isinstance(got, bool))
    ):
        return None
    return f"received {shown}, documented a value of type {operand}"


def _absent(got: Any, operand: Any, shown: str) -> str | None:
    if (got is MISSING) == bool(operand):
        return None
    return f"received {shown}, documented {'no such field' if operand else 'a value'}"


def _not(got: Any, operand: Any, shown: str) -> str | None:
    if got is not MISSING and not _equal(got, operand):
        return None
    return f"received {shown}, documented anything but {operand!r}"


_operators = {"$contains": _contains, "$in": _in, "$type": _type, "$absent": _absent, "$not": _not}
