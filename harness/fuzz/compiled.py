"""Fast strategies for the JSON Schema subset message contracts use, compiled once.

hypothesis-jsonschema's ``from_schema`` handles all of JSON Schema, but its object strategy
rebuilds and re-merges its sub-strategies on every draw: about 10 ms per message, twice
the time the server takes to answer one. Message schemas mostly use a small subset (objects
with properties / required / additionalProperties, arrays with items, scalars with bounds,
const and enum), so ``compile_schema`` turns that subset into plain Hypothesis strategies
built once (a few hundred microseconds per draw), and returns None for anything else, which
``strategies`` then leaves to ``from_schema``. ``allOf`` is merged first by
hypothesis-jsonschema's own canonicaliser (the pair is pinned together in pyproject).

The values are re-checked by the contract's validator either way (``strategies``), so a
mistake here can cost examples, never a false verdict.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from hypothesis import strategies as st

#: Keywords that only annotate; they never constrain a value.
_ANNOTATIONS = frozenset(
    {"title", "description", "examples", "default", "$comment", "$schema", "$id", "deprecated"}
)
_BY_TYPE: dict[str, frozenset[str]] = {
    "null": frozenset(),
    "boolean": frozenset(),
    "integer": frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}),
    "number": frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}),
    "string": frozenset({"minLength", "maxLength"}),
    "array": frozenset({"items", "minItems", "maxItems"}),
    "object": frozenset({"properties", "required", "additionalProperties"}),
}
_EXTRA_ROOM = 3  # items or extra keys beyond the minimum: enough to vary, cheap to send

_SCALARS: st.SearchStrategy[Any] = (
    st.none()
    | st.booleans()
    | st.integers(-(2**31), 2**31)
    | st.floats(-1e9, 1e9, allow_nan=False)
    | st.text(max_size=12)
)
#: Any JSON value, kept small and one level deep: extra fields and unconstrained schemas.
#: (``st.recursive`` cost half of all generation time; the mutation families nest deeply.)
JSON_VALUES: st.SearchStrategy[Any] = (
    _SCALARS
    | st.lists(_SCALARS, max_size=3)
    | st.dictionaries(st.text(max_size=6), _SCALARS, max_size=3)
)


def canonical(schema: Any) -> Any:
    """``schema`` with ``allOf`` merged and types normalised, where hypothesis-jsonschema can."""
    try:
        from hypothesis_jsonschema._canonicalise import canonicalish
    except ImportError:  # another version: compile the schema as written
        return schema
    try:
        return canonicalish(schema)
    except Exception:  # a schema it cannot canonicalise: from_schema reports it later
        return schema


def compile_schema(schema: Any) -> st.SearchStrategy[Any] | None:
    """A strategy for values valid under ``schema``, or None outside the supported subset."""
    if schema is True or schema == {}:
        return JSON_VALUES
    if schema is False:
        return st.nothing()
    if not isinstance(schema, Mapping):
        return None
    keys = set(schema) - _ANNOTATIONS
    if "const" in keys:
        return st.just(schema["const"]) if keys <= {"const", "type"} else None
    if "enum" in keys:
        return st.sampled_from(list(schema["enum"])) if keys <= {"enum", "type"} else None
    types = schema.get("type", list(_BY_TYPE))
    types = [types] if isinstance(types, str) else list(types)
    allowed = {"type"}.union(*(_BY_TYPE.get(t, frozenset()) for t in types))
    if not keys <= allowed or any(t not in _BY_TYPE for t in types):
        return None
    options = [_typed(kind, schema) for kind in types]
    if any(option is None for option in options):
        return None
    return st.one_of(*options)  # type: ignore[arg-type]


def _typed(kind: str, schema: Mapping[str, Any]) -> st.SearchStrategy[Any] | None:
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind in ("integer", "number"):
        return _number(kind, schema)
    if kind == "string":
        low = int(schema.get("minLength", 0))
        high = schema.get("maxLength")
        return st.text(min_size=low, max_size=int(high) if high is not None else low + 16)
    if kind == "array":
        items = compile_schema(schema.get("items", True))
        if items is None:
            return None
        low = int(schema.get("minItems", 0))
        high = schema.get("maxItems")
        return st.lists(items, min_size=low, max_size=int(high) if high is not None else low + 4)
    return _object(schema)


def _number(kind: str, schema: Mapping[str, Any]) -> st.SearchStrategy[Any] | None:
    low, high = schema.get("minimum"), schema.get("maximum")
    low_open, high_open = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if isinstance(low_open, bool) or isinstance(high_open, bool):
        return None  # draft 4 booleans: rare, leave them to from_schema
    if kind == "integer":
        if low_open is not None:
            low = (
                max(low, math.floor(low_open) + 1) if low is not None else math.floor(low_open) + 1
            )
        if high_open is not None:
            top = math.ceil(high_open) - 1
            high = min(high, top) if high is not None else top
        bottom = math.ceil(low) if low is not None else None
        top = math.floor(high) if high is not None else None
        if bottom is not None and top is not None and bottom > top:
            return st.nothing()  # no integer in the range (a number schema still has floats)
        return st.integers(bottom, top)
    return st.floats(
        low if low is not None else low_open,
        high if high is not None else high_open,
        exclude_min=low is None and low_open is not None,
        exclude_max=high is None and high_open is not None,
        allow_nan=False,
        allow_infinity=False,
    ) | _number("integer", schema)


def _object(schema: Mapping[str, Any]) -> st.SearchStrategy[Any] | None:
    properties = schema.get("properties", {})
    required = list(schema.get("required", []))
    compiled = {name: compile_schema(sub) for name, sub in properties.items()}
    if any(value is None for value in compiled.values()):
        return None
    for name in required:
        compiled.setdefault(name, JSON_VALUES)
    fixed = st.fixed_dictionaries(
        {name: compiled[name] for name in required},
        optional={name: value for name, value in compiled.items() if name not in required},
    )
    additional = schema.get("additionalProperties", True)
    if additional is False:
        return fixed
    values = compile_schema(additional)
    if values is None:
        return None
    names = st.text(min_size=1, max_size=8).filter(lambda key: key not in compiled)
    extra = st.dictionaries(names, values, max_size=_EXTRA_ROOM)
    return st.builds(lambda base, more: {**more, **base}, fixed, extra)
