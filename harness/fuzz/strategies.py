"""Hypothesis strategies for *valid* client messages, generated from the contract's schemas.

Each client message's payload schema (``$ref``s inlined by ``schemas``) is compiled into
plain strategies (``compiled``: fast, for the usual subset) or else goes through
hypothesis-jsonschema's ``from_schema``. The result is re-checked with the contract's own
client-side ``FrameValidator``, so a generator quirk can never pass an invalid message off
as valid (the test would then blame the server for our mistake).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from functools import cached_property
from typing import Any, TypeVar

from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from harness.contract import Contract
from harness.fuzz.compiled import canonical, compile_schema
from harness.fuzz.payloads import Classifier, Payload
from harness.fuzz.schemas import message_schema

F = TypeVar("F", bound=Callable[..., Any])


def built_once(method: F) -> F:
    """Cache a strategy-building method per instance (and per arguments).

    Building a strategy is not free: ``st.composite`` reads its function's source (about a
    millisecond each), hypothesis-jsonschema canonicalises schemas. Built once, a test's
    examples only draw; built per example, that cost was half of every example's time.
    """

    @functools.wraps(method)
    def cached(self: Any, *args: Any) -> Any:
        store = self.__dict__.setdefault("_built_strategies", {})
        key = (method.__name__, *args)
        if key not in store:
            store[key] = method(self, *args)
        return store[key]

    return cached  # type: ignore[return-value]


class MessageStrategies:
    """Valid client messages of one contract, as values and as ``Payload``s."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        self.classifier = Classifier(contract)

    @cached_property
    def _per_type(self) -> dict[str, st.SearchStrategy[dict[str, Any]]]:
        validator = self.classifier.validator
        return {
            message.name: self._generator(message.name).filter(
                lambda value: isinstance(value, dict) and not validator.validate(value)
            )
            for message in self.contract.client_messages()
        }

    def _generator(self, name: str) -> st.SearchStrategy[Any]:
        """The compiled strategy where the schema allows (fast), else ``from_schema``."""
        schema = message_schema(self.contract, name)
        fast = compile_schema(canonical(schema))
        return fast if fast is not None else from_schema(schema)

    @built_once
    def message(self, name: str | None = None) -> st.SearchStrategy[dict[str, Any]]:
        """A valid client message (of type ``name``, or of any client type)."""
        if name is not None:
            return self._per_type[name]
        return st.one_of(*self._per_type.values())

    @built_once
    def payloads(self) -> st.SearchStrategy[Payload]:
        """Valid messages as payloads; the classifier decides what answer they deserve.

        A generated value can still be lenient (a timestamp beyond 2**53, say): the
        classifier says so, and the property then accepts an error frame for it.
        """
        return st.builds(
            lambda value, ascii_only: self.classifier.payload(
                value, f"valid {value.get(self.contract.type_field)}", ascii_only
            ),
            self.message(),
            st.booleans(),
        )
