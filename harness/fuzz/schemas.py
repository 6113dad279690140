"""Self-contained JSON Schemas for the contract's messages.

The contract's payload schemas point into the document (``$ref: '#/components/schemas/...'``)
and hypothesis-jsonschema's ``from_schema`` needs a schema with no outside references, so we
inline every local ``$ref``. A ``$ref`` with sibling keywords becomes an ``allOf`` of the
target and the siblings, which is what Draft 7 validators do in practice for this document.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.contract import Contract
from harness.errors import ContractError

_MAX_DEPTH = 32  # deeper than any sane contract; stops a $ref cycle with a clear error


def resolve_pointer(document: Mapping[str, Any], pointer: str) -> Any:
    """The value at a JSON pointer (``/components/schemas/push``) inside ``document``."""
    node: Any = document
    for raw in pointer.lstrip("#").strip("/").split("/"):
        if not raw:
            continue
        part = raw.replace("~1", "/").replace("~0", "~")
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError, TypeError):
            raise ContractError(
                f"$ref {pointer!r} does not resolve ({part!r} is missing); fix the pointer "
                "in the contract"
            ) from None
    return node


def inline_refs(schema: Any, document: Mapping[str, Any], depth: int = 0) -> Any:
    """``schema`` with every local ``$ref`` replaced by the schema it points to."""
    if depth > _MAX_DEPTH:
        raise ContractError(
            f"$ref chain deeper than {_MAX_DEPTH} levels (a cycle?); the fuzzer needs "
            "non-recursive message schemas"
        )
    if isinstance(schema, list):
        return [inline_refs(item, document, depth) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    ref = schema.get("$ref")
    if isinstance(ref, str):
        if not ref.startswith("#"):
            raise ContractError(f"$ref {ref!r} is not local; the fuzzer inlines '#/...' refs only")
        target = inline_refs(resolve_pointer(document, ref), document, depth + 1)
        siblings = {k: v for k, v in schema.items() if k != "$ref"}
        if not siblings:
            return target
        return {"allOf": [target, inline_refs(siblings, document, depth)]}
    return {key: inline_refs(value, document, depth) for key, value in schema.items()}


def message_schema(contract: Contract, name: str) -> dict[str, Any]:
    """The self-contained payload schema of the contract message ``name``."""
    message = contract.message(name)
    raw = resolve_pointer(contract.document, message.schema_pointer)
    return inline_refs(raw, contract.document)
