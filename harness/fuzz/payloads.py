"""What one fuzz example sends, and what the contract demands back (pure data, no I/O).

A ``Payload`` is a single frame plus an ``Expectation``. The expectation is decided by
``classify`` from the contract alone, so strategies never hard-code the answers:

* ``reply``           a valid client message: its documented reply (or nothing, for
                      messages without one), never an error;
* ``error``           the contract names the error: non-JSON text (``invalid_json``), an
                      unknown or missing type (``unknown_type``);
* ``reply_or_error``  schema-invalid input of a known type, for which the contract names no
                      specific error; input whose meaning RFC 8259 leaves to the
                      implementation (numbers beyond +-2**53, NaN, lone surrogates, deep
                      nesting, duplicate keys); and valid input so large that a reply
                      echoing it could not fit under ``max_message_bytes``: the documented
                      reply or an error frame;
* ``close``           frames the contract refuses with a close code (binary: 1003, over
                      ``max_message_bytes``: 1009).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from harness.contract import Contract, FrameValidator

ExpectKind = Literal["reply", "error", "reply_or_error", "close"]

#: RFC 8259 section 6: integers in this range are interoperable; beyond it, behaviour varies.
SAFE_INTEGER = 2**53 - 1
#: Nesting beyond this is allowed to be refused (RFC 8259 section 9 lets parsers limit depth).
SAFE_DEPTH = 64
#: Room for the fields a reply adds to what it echoes (type, timestamp, flags).
ECHO_MARGIN = 512


@dataclass(frozen=True)
class Expectation:
    """What the contract demands in answer to one frame."""

    kind: ExpectKind
    reply_types: tuple[str, ...] = ()  # kind reply / reply_or_error: the documented replies
    error_codes: tuple[str, ...] = ()  # kind error: acceptable codes ("" = any documented)
    close_codes: tuple[int, ...] = ()  # kind close
    silence_ok: bool = False  # reply_or_error for a message that has no reply (connect)
    why: str = ""

    def describe(self) -> str:
        if self.kind == "close":
            return f"close {'/'.join(map(str, self.close_codes))} ({self.why})"
        if self.kind == "error":
            codes = "/".join(self.error_codes) or "a documented code"
            return f"one error frame with {codes} ({self.why})"
        replies = "/".join(self.reply_types) or "no reply"
        if self.kind == "reply_or_error":
            return f"{replies} or one error frame, connection open ({self.why})"
        return f"{replies}, no error, connection open ({self.why})"


@dataclass(frozen=True)
class Payload:
    """One frame to send (text or binary), labelled with how it was made."""

    frame: str | bytes
    expect: Expectation
    mutation: str  # e.g. "valid <message type>", "wrong type at $.types"
    # What the frame encodes, as far as the harness knows it (None: not a JSON value it
    # built). The driver registers it with the protocol session, which then knows the
    # request's type and correlation id and so which reply answers it.
    message: Any = None

    @property
    def size(self) -> int:
        return (
            len(self.frame)
            if isinstance(self.frame, bytes)
            else len(self.frame.encode("utf-8", "surrogatepass"))
        )

    @property
    def is_valid(self) -> bool:
        return self.expect.kind == "reply"

    def __repr__(self) -> str:
        shown = self.frame if len(self.frame) <= 300 else self.frame[:300]
        more = "" if len(self.frame) <= 300 else f"... ({self.size} bytes)"
        return f"Payload({self.mutation}: {shown!r}{more}; expects {self.expect.describe()})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """What Hypothesis prints for the shrunk example (it would list every field)."""
        printer.text(repr(self))


def encode(value: Any, ascii_only: bool = False) -> str:
    """JSON text for ``value``; escapes non-ASCII when asked or when it cannot be UTF-8."""
    text = json.dumps(value, ensure_ascii=ascii_only, allow_nan=True)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: only the \\u escape can carry them
        text = json.dumps(value, ensure_ascii=True, allow_nan=True)
    return text


def unusual(value: Any, depth: int = 0) -> str | None:
    """Why ``value`` holds something RFC 8259 leaves to the implementation, or None."""
    if depth > SAFE_DEPTH:
        return f"nesting deeper than {SAFE_DEPTH}"
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return None if abs(value) <= SAFE_INTEGER else "an integer beyond +-2**53"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "NaN or Infinity (not JSON)"
        return None if abs(value) <= SAFE_INTEGER else "a number beyond +-2**53"
    if isinstance(value, str):
        return _surrogate(value)
    if isinstance(value, Mapping):
        for key, item in value.items():
            found = _surrogate(str(key)) or unusual(item, depth + 1)
            if found:
                return found
        return None
    if isinstance(value, list | tuple):
        for item in value:
            found = unusual(item, depth + 1)
            if found:
                return found
    return None


_SURROGATE = re.compile("[\ud800-\udfff]")


def _surrogate(text: str) -> str | None:
    # A regex, not a loop over characters: padded strings run to twice max_message_bytes.
    return "a lone surrogate in a string" if _SURROGATE.search(text) else None


class Classifier:
    """Decides the ``Expectation`` for a frame from the contract (see the module docstring)."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        self.validator = FrameValidator(contract, "client")
        self.client_types = frozenset(m.name for m in contract.client_messages())

    def too_big(self, size: int) -> Expectation | None:
        limit = self.contract.max_message_bytes
        if limit is not None and size > limit:
            code = self.contract.close_code("message_too_big")
            return Expectation("close", close_codes=(code,), why=f"{size} bytes > {limit}")
        return None

    def binary(self) -> Expectation:
        code = self.contract.close_code("unsupported_data")
        return Expectation("close", close_codes=(code,), why="binary frame")

    def not_json(self, why: str = "not JSON") -> Expectation:
        return Expectation(
            "error", error_codes=(self.contract.error_code("invalid_json"),), why=why
        )

    def lenient(self, value: Any, why: str) -> Expectation:
        message_type = value.get(self.contract.type_field) if isinstance(value, Mapping) else None
        known = isinstance(message_type, str) and message_type in self.client_types
        replies = tuple(self.contract.replies.get(message_type, ())) if known else ()
        silence_ok = known and not replies
        return Expectation("reply_or_error", reply_types=replies, silence_ok=silence_ok, why=why)

    def value(self, value: Any, text: str) -> Expectation:
        """The expectation for ``text``, the JSON encoding of ``value``."""
        big = self.too_big(len(text.encode("utf-8", "surrogatepass")))
        if big is not None:
            return big
        type_field = self.contract.type_field
        if not isinstance(value, Mapping):
            codes = (
                self.contract.error_code("invalid_json"),
                self.contract.error_code("unknown_type"),
            )
            return Expectation("error", error_codes=codes, why="JSON but not an object")
        odd = unusual(value)
        if odd is not None:
            return self.lenient(value, odd)
        message_type = value.get(type_field)
        if not isinstance(message_type, str) or message_type not in self.client_types:
            return Expectation(
                "error",
                error_codes=(self.contract.error_code("unknown_type"),),
                why=f"unknown {type_field} {message_type!r}",
            )
        violations = self.validator.validate(dict(value))
        if violations:
            return self.lenient(value, f"schema: {violations[0].path} {violations[0].problem[:80]}")
        limit = self.contract.max_message_bytes
        if limit is not None and len(encode(value, ascii_only=True)) + ECHO_MARGIN > limit:
            # A reply echoing these fields cannot fit in one message under the same limit
            # once the server escapes non-ASCII (x3 to x6): an error is a fair answer.
            return self.lenient(value, "its echo may exceed max_message_bytes")
        # Which reply answers it (by correlation id, where the contract has one) is the
        # protocol session's judgement when the answer arrives.
        return Expectation(
            "reply",
            reply_types=tuple(self.contract.replies.get(message_type, ())),
            why=f"valid {message_type}",
        )

    def payload(self, value: Any, mutation: str, ascii_only: bool = False) -> Payload:
        text = encode(value, ascii_only)
        return Payload(text, self.value(value, text), mutation, value)
