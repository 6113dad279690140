"""Hypothesis strategies for frames the server must survive: invalid, odd, huge or binary.

Each family starts from a valid message (``strategies``) or from raw text/bytes, changes one
thing, and lets the ``Classifier`` decide what the contract demands back; the family name and
the changed JSON path go into ``Payload.mutation`` so a failure says what was done.

Families: wrong types, missing fields, null, extra fields, huge strings and arrays, deep
nesting, numbers at the edges, unicode edge cases, non-JSON text, binary frames, and frames
at and just above the size limit.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from harness.fuzz.payloads import SAFE_DEPTH, Classifier, Payload
from harness.fuzz.strategies import MessageStrategies, built_once

Draw = Callable[[st.SearchStrategy[Any]], Any]

#: One value of each JSON type; "wrong type" picks one whose type differs from the original.
JSON_SAMPLES: tuple[Any, ...] = (None, True, 0, -1, 1.5, "", "x", [], [1, "a"], {}, {"a": 1})

EDGE_NUMBERS: tuple[Any, ...] = (
    0,
    -0.0,
    1,
    -1,
    2**31 - 1,
    -(2**31),
    2**31,
    2**53 - 1,
    2**53,
    2**53 + 1,
    -(2**53) - 1,
    2**63 - 1,
    2**63,
    -(2**63) - 1,
    2**64,
    10**308,
    10**4000,
    1e308,
    -1e308,
    5e-324,
    1.7976931348623157e308,
    0.1,
    1e-7,
    float("nan"),
    float("inf"),
    float("-inf"),
)

EDGE_STRINGS: tuple[str, ...] = (
    "",
    "\x00",
    "a\x00b",
    "\ud800",  # lone high surrogate (only expressible as a JSON \u escape)
    "\udfff",
    "\ud83d\ude00",  # a surrogate *pair* written as two escapes: valid, the emoji U+1F600
    "\u202eevil\u202c",  # RTL override
    "\u200b\u200c\u200d\u2060",  # zero-width space, non-joiners, word joiner
    "\ufeff",  # BOM
    "\uffff\ufffe",  # non-characters
    "e\u0301\u0301\u0301",  # stacked combining marks
    "\U0001f600\U0001f468\u200d\U0001f469\u200d\U0001f467",  # emoji and a ZWJ sequence
    "\u0627\u0644\u0639\u0631\u0628\u064a\u0629",  # Arabic (RTL) text
    "\n\r\t\x0b\x0c\x1b[31m",  # control characters and an ANSI escape
    "' OR '1'='1",
    "../../etc/passwd",
    "%s%n%x",
    "<script>alert(1)</script>",
    "${jndi:ldap://x}",
)

# Text that is not one JSON object. ``@T`` stands for the contract's type field and ``@N``
# for one of its client message names (``texts_for`` fills them in), so the near-misses look
# like the contract's own messages.
NON_JSON_TEXTS: tuple[str, ...] = (
    "",
    " ",
    "{",
    "}",
    "[",
    "{'@T': '@N'}",
    '{"@T": "@N"',
    '{"@T":}',
    "@N",
    "undefined",
    "NaN",
    "-Infinity",
    "{}garbage",
    '{"a":1}{"b":2}',
    "\x00",
    '{"@T": "@N",}',
    "[1,]",
    "0x10",
    "01",
    "1e",
    '"\\x41"',
    "\ufeff{}",
)

JSON_NON_OBJECTS: tuple[str, ...] = (
    "null",
    "true",
    "0",
    "-1.5",
    '"@N"',
    "[]",
    '[{"@T": "@N"}]',
)


def texts_for(texts: tuple[str, ...], type_field: str, name: str) -> tuple[str, ...]:
    """``texts`` with ``@T`` and ``@N`` replaced by a contract's type field and message name."""
    return tuple(text.replace("@T", type_field).replace("@N", name) for text in texts)


class Mutations:
    """Strategies for invalid and odd frames, built on one contract's valid messages."""

    def __init__(self, messages: MessageStrategies) -> None:
        self.messages = messages
        self.classifier: Classifier = messages.classifier
        contract = messages.contract
        self.type_field = contract.type_field
        self.limit = contract.max_message_bytes or 65536
        liveness = contract.liveness_request
        name = (
            str(liveness.get(self.type_field))
            if liveness is not None
            else next((m.name for m in contract.client_messages()), "message")
        )
        self.non_json_texts = texts_for(NON_JSON_TEXTS, self.type_field, name)
        self.json_non_objects = texts_for(JSON_NON_OBJECTS, self.type_field, name)

    # -- helpers ----------------------------------------------------------------------

    def _base(self, draw: Draw) -> dict[str, Any]:
        return dict(draw(self.messages.message()))

    def _path(self, draw: Draw, value: dict[str, Any]) -> list[str]:
        """A path to change: a top-level key, or a key one level down in an object value."""
        paths = [[key] for key in value]
        paths += [
            [key, sub] for key, item in value.items() if isinstance(item, dict) for sub in item
        ]
        return list(draw(st.sampled_from(sorted(paths, key=lambda p: (len(p), p)))))

    @staticmethod
    def _set(value: dict[str, Any], path: list[str], new: Any) -> dict[str, Any]:
        changed = json.loads(json.dumps(value))  # a deep copy that keeps JSON semantics
        node = changed
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = new
        return changed

    @staticmethod
    def _delete(value: dict[str, Any], path: list[str]) -> dict[str, Any]:
        changed = json.loads(json.dumps(value))
        node = changed
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
        return changed

    def _at(self, draw: Draw, value: dict[str, Any]) -> list[str]:
        """An existing path, or a new top-level key (so every family also hits extras)."""
        if draw(st.booleans()):
            return self._path(draw, value)
        return [draw(st.sampled_from(["x", "data", "extra", "__proto__", "constructor"]))]

    # -- families ---------------------------------------------------------------------

    @built_once
    def wrong_type(self) -> st.SearchStrategy[Payload]:
        @st.composite
        def build(draw: Draw) -> Payload:
            value = self._base(draw)
            path = self._path(draw, value)
            old = self._get(value, path)
            new = draw(st.sampled_from([s for s in JSON_SAMPLES if type(s) is not type(old)]))
            return self.classifier.payload(
                self._set(value, path, new), f"wrong type at $.{'.'.join(path)}: {new!r}"
            )

        return build()

    @built_once
    def missing(self) -> st.SearchStrategy[Payload]:
        @st.composite
        def build(draw: Draw) -> Payload:
            value = self._base(draw)
            path = self._path(draw, value)
            return self.classifier.payload(self._delete(value, path), f"missing $.{'.'.join(path)}")

        return build()

    @built_once
    def null(self) -> st.SearchStrategy[Payload]:
        @st.composite
        def build(draw: Draw) -> Payload:
            value = self._base(draw)
            path = self._path(draw, value)
            return self.classifier.payload(
                self._set(value, path, None), f"null at $.{'.'.join(path)}"
            )

        return build()

    @built_once
    def extra(self) -> st.SearchStrategy[Payload]:
        json_values = st.recursive(
            st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(st.text(max_size=8), inner, max_size=4)
            ),
            max_leaves=10,
        )

        @st.composite
        def build(draw: Draw) -> Payload:
            value = self._base(draw)
            key = draw(st.text(min_size=1, max_size=12).filter(lambda k: k not in value))
            return self.classifier.payload(
                self._set(value, [key], draw(json_values)), f"extra field {key!r}"
            )

        return build()

    @built_once
    def huge(self) -> st.SearchStrategy[Payload]:
        """Long strings and arrays, sized around the limit so both sides of it get hit."""

        @st.composite
        def build(draw: Draw) -> Payload:
            value = self._base(draw)
            path = self._at(draw, value)
            size = draw(
                st.sampled_from([1_000, 10_000, self.limit // 2, self.limit - 200, self.limit + 10])
            )
            if draw(st.booleans()):
                new: Any = draw(st.sampled_from(["x", "\u00e9", "\U0001f600"])) * size
                what = f"string of {size} chars"
            else:
                new = [draw(st.sampled_from([0, "a", None, {}]))] * (size // 4)
                what = f"array of {size // 4} items"
            return self.classifier.payload(
                self._set(value, path, new), f"huge {what} at $.{'.'.join(path)}"
            )

        return build()

    @built_once
    def deep(self) -> st.SearchStrategy[Payload]:
        """Nesting far past any sane depth, built as text (json.dumps would recurse)."""

        @st.composite
        def build(draw: Draw) -> Payload:
            value = self._base(draw)
            depth = draw(st.sampled_from([SAFE_DEPTH + 1, 1_000, 10_000, self.limit // 2 - 100]))
            opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
            nested = opener * depth + "0" + closer * depth
            base = json.dumps(value)
            text = base[:-1] + (", " if len(value) else "") + '"deep": ' + nested + "}"
            expect = self.classifier.too_big(len(text.encode())) or self.classifier.lenient(
                value, f"nesting {depth} deep"
            )
            return Payload(text, expect, f"{depth} levels of {opener} nesting", value)

        return build()

    @built_once
    def edge_numbers(self) -> st.SearchStrategy[Payload]:
        @st.composite
        def build(draw: Draw) -> Payload:
            value = self._base(draw)
            path = self._at(draw, value)
            number = draw(st.sampled_from(EDGE_NUMBERS))
            shown = (
                repr(number)
                if not isinstance(number, int) or abs(number) < 10**20
                else f"int of {number.bit_length()} bits"
            )
            return self.classifier.payload(
                self._set(value, path, number), f"number {shown} at $.{'.'.join(path)}"
            )

        return build()

    @built_once
    def unicode(self) -> st.SearchStrategy[Payload]:
        """Edge strings as a value, as a key, or as the message type itself."""

        @st.composite
        def build(draw: Draw) -> Payload:
            value = self._base(draw)
            text = draw(st.sampled_from(EDGE_STRINGS) | st.text(max_size=8))
            where = draw(st.sampled_from(["value", "key", "type", "type suffix"]))
            if where == "value":
                path = self._at(draw, value)
                changed = self._set(value, path, text)
                label = f"$.{'.'.join(path)}"
            elif where == "key":
                changed = self._set(value, [text or "\x00"], "x")
                label = "a key"
            elif where == "type":
                changed = self._set(value, [self.type_field], text)
                label = f"$.{self.type_field}"
            else:
                changed = self._set(value, [self.type_field], str(value[self.type_field]) + text)
                label = f"the end of $.{self.type_field}"
            ascii_only = draw(st.booleans())
            return self.classifier.payload(changed, f"unicode {text!r} at {label}", ascii_only)

        return build()

    @built_once
    def non_json(self) -> st.SearchStrategy[Payload]:
        """Text that is not a JSON object: broken, truncated, trailing garbage, scalars."""

        @st.composite
        def truncated(draw: Draw) -> str:
            text = json.dumps(self._base(draw))
            return text[: draw(st.integers(0, len(text) - 1))]

        @st.composite
        def duplicate_type(draw: Draw) -> str:
            text = json.dumps(self._base(draw))
            return text[:-1] + f', "{self.type_field}": "ws-harness-duplicate"}}'

        texts = st.one_of(
            st.sampled_from(self.non_json_texts),
            st.sampled_from(self.json_non_objects),
            truncated(),
            duplicate_type(),
            st.text(max_size=40),
        )
        return texts.map(self._classify_text)

    def _classify_text(self, text: str) -> Payload:
        try:
            value = json.loads(text, parse_constant=_reject_constant)
        except ValueError:
            expect = self.classifier.too_big(len(text.encode())) or self.classifier.not_json()
            return Payload(text, expect, "non-JSON text")
        if '"ws-harness-duplicate"' in text:
            return Payload(
                text, self.classifier.lenient(value, "duplicate keys"), "duplicate type key", value
            )
        return Payload(text, self.classifier.value(value, text), "JSON text", value)

    @built_once
    def binary(self) -> st.SearchStrategy[Payload]:
        """Binary frames: random bytes, or a perfectly valid message sent as bytes."""

        @st.composite
        def build(draw: Draw) -> Payload:
            if draw(st.booleans()):
                data = draw(st.binary(max_size=256))
                label = "random bytes"
            else:
                data = json.dumps(self._base(draw)).encode()
                label = "a valid message as bytes"
            return Payload(data, self.classifier.binary(), f"binary frame: {label}")

        return build()

    @built_once
    def size_edges(self) -> st.SearchStrategy[Payload]:
        """A valid message padded to exactly limit-1, limit, limit+1 or 2*limit bytes."""

        @st.composite
        def build(draw: Draw) -> Payload:
            value = self._base(draw)
            target = self.limit + draw(st.sampled_from([-1, 0, 1, self.limit]))
            wide = draw(st.booleans())  # pad with 2-byte characters: bytes != characters
            text = _padded(value, target, "\u00e9" if wide else "x")
            if text is None:
                text = _padded(value, target, "x") or json.dumps(value)
            return self.classifier.payload(
                json.loads(text), f"padded to {target} bytes", ascii_only=False
            )

        return build()

    @built_once
    def all(self) -> st.SearchStrategy[Payload]:
        """Every text-frame family (binary and size edges are separate: they close)."""
        return st.one_of(
            self.non_json(),
            self.wrong_type(),
            self.missing(),
            self.null(),
            self.extra(),
            self.edge_numbers(),
            self.unicode(),
            self.huge(),
            self.deep(),
        )

    @built_once
    def closing(self) -> st.SearchStrategy[Payload]:
        """Frames the contract answers with a close code, and the ones just under the limit."""
        return st.one_of(self.binary(), self.size_edges())

    @staticmethod
    def _get(value: dict[str, Any], path: list[str]) -> Any:
        node: Any = value
        for key in path:
            node = node[key]
        return node


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _padded(value: dict[str, Any], size: int, char: str) -> str | None:
    """``value`` plus a ``pad`` field making its UTF-8 encoding exactly ``size`` bytes."""
    base = json.dumps({**value, "pad": ""}, ensure_ascii=False)
    room = size - len(base.encode())
    width = len(char.encode())
    if room < 0 or room % width:
        return None
    return json.dumps({**value, "pad": char * (room // width)}, ensure_ascii=False)
