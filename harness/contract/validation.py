"""Check a received frame against the contract.

Returns violations rather than raising, so the scenario engine can fold them into its
verdict; each names the JSON path of the offending field (``$.data.user_id``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from harness.contract.model import Contract, Direction

_CONTRACT_URI = "urn:ws-harness:contract"


@dataclass(frozen=True)
class Violation:
    """One way a frame breaks the contract."""

    message: str  # the frame's type, or "" when it has none
    path: str  # JSON path of the offending field, "$" for the whole frame
    problem: str

    def __str__(self) -> str:
        subject = f"{self.message!r} " if self.message else ""
        return f"{subject}frame at {self.path}: {self.problem}"


class FrameValidator:
    """Validates frames of one direction against the contract's message schemas."""

    def __init__(self, contract: Contract, direction: Direction = "server") -> None:
        self.contract = contract
        self.direction = direction

    @cached_property
    def _registry(self) -> Registry:
        resource = Resource.from_contents(
            dict(self.contract.document), default_specification=DRAFT7
        )
        return Registry().with_resource(_CONTRACT_URI, resource)

    @cached_property
    def _validators(self) -> dict[str, Draft7Validator]:
        return {
            message.name: Draft7Validator(
                {"$ref": f"{_CONTRACT_URI}#{message.schema_pointer}"}, registry=self._registry
            )
            for message in self.contract.messages.values()
            if message.direction == self.direction
        }

    def known_types(self) -> list[str]:
        return sorted(self._validators)

    def validate_text(self, text: str) -> tuple[Any, list[Violation]]:
        """Parse a text frame and validate it; returns the parsed value (or None) and violations."""
        try:
            value = json.loads(text)
        except ValueError as exc:
            return None, [Violation("", "$", f"not JSON: {exc}")]
        return value, self.validate(value)

    def validate(self, frame: Any) -> list[Violation]:
        type_field = self.contract.type_field
        if not isinstance(frame, dict):
            return [Violation("", "$", f"expected a JSON object, got {type(frame).__name__}")]
        message_type = frame.get(type_field)
        validator = self._validators.get(message_type) if isinstance(message_type, str) else None
        if validator is None:
            return [
                Violation(
                    str(message_type) if message_type is not None else "",
                    f"$.{type_field}",
                    f"unknown message type {message_type!r}; the contract documents "
                    f"{', '.join(self.known_types())}",
                )
            ]
        return [
            Violation(message_type, _json_path(error.absolute_path), error.message)
            for error in sorted(
                validator.iter_errors(frame), key=lambda e: list(map(str, e.absolute_path))
            )
        ]


def _json_path(parts: Any) -> str:
    path = "$"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path
