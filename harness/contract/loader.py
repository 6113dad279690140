"""Load an AsyncAPI 3.0 document into a ``Contract``.

Only the parts the harness needs are read; anything missing or mistyped raises a
ContractError that names the file, the line and the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.bundled import DEFAULT_CONTRACT, bundled
from harness.contract.model import Contract, Message, MessageKind, Route
from harness.errors import ContractError
from harness.yamlfile import line_of, load_yaml

_AUTH_MODES = ("optional", "owner", "anonymous", "required")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_KIND_TAGS: tuple[MessageKind, ...] = ("confirmation", "reply", "push", "error")


def load_contract(path: str | Path | None = None) -> Contract:
    """Load the contract at ``path`` (``None``: the bundled permissions contract)."""
    file = Path(path) if path is not None else bundled(DEFAULT_CONTRACT)
    document = load_yaml(file, ContractError)
    return _Reader(file, document).contract()


class _Reader:
    def __init__(self, file: Path, document: Any) -> None:
        self.file = file
        self.document = document

    def fail(self, node: Any, field: str, problem: str) -> ContractError:
        line = line_of(node)
        where = f"{self.file}:{line}" if line else str(self.file)
        return ContractError(f"{where}: {field}: {problem}")

    def mapping(self, node: Any, field: str) -> Mapping[str, Any]:
        if not isinstance(node, Mapping):
            raise self.fail(node, field, f"expected a mapping, got {type(node).__name__}")
        return node

    def contract(self) -> Contract:
        doc = self.mapping(self.document, "document")
        version = str(doc.get("asyncapi", ""))
        if not version.startswith("3."):
            raise self.fail(
                doc, "asyncapi", f"expected an AsyncAPI 3.x document, got {version or 'nothing'!r}"
            )
        info = self.mapping(doc.get("info", {}), "info")
        components = self.mapping(doc.get("components", {}), "components")
        raw_messages = self.mapping(components.get("messages", {}), "components.messages")
        directions, replies, kinds = self.operations(doc)
        messages = {
            key: self.message(key, raw, directions, kinds) for key, raw in raw_messages.items()
        }
        by_name = {m.name: m for m in messages.values()}
        replies_by_name = {
            messages[request].name: tuple(messages[r].name for r in reply_keys)
            for request, reply_keys in replies.items()
        }
        errors = self.mapping(doc.get("x-errors", {}), "x-errors")
        limits = self.mapping(doc.get("x-limits", {}), "x-limits")
        roles = self.roles(doc, by_name)
        return Contract(
            source=str(self.file),
            title=str(info.get("title", self.file.name)),
            version=str(info.get("version", "")),
            document=doc,
            routes=self.routes(doc),
            messages=by_name,
            replies=replies_by_name,
            close_codes=self.close_codes(doc),
            error_message=str(errors.get("message", "error")),
            error_code_field=str(errors.get("code_field", "error_code")),
            error_codes={
                str(k): str(v)
                for k, v in self.mapping(errors.get("codes", {}), "x-errors.codes").items()
            },
            type_field=str(doc.get("x-message-type-field", "type")),
            max_message_bytes=limits.get("max_message_bytes"),
            roles=roles,
            push_data_field=doc.get("x-push-data-field"),
            unsolicited=tuple(str(t) for t in doc.get("x-unsolicited") or ()),
        )

    def roles(self, doc: Mapping[str, Any], messages: Mapping[str, Message]) -> dict[str, Any]:
        """``x-roles``: each role a mapping whose ``send`` is a message the contract documents."""
        raw = self.mapping(doc.get("x-roles", {}), "x-roles")
        type_field = str(doc.get("x-message-type-field", "type"))
        roles: dict[str, Any] = {}
        for name, role in raw.items():
            role = self.mapping(role, f"x-roles.{name}")
            send = role.get("send")
            if send is not None:
                send = self.mapping(send, f"x-roles.{name}.send")
                sent_type = send.get(type_field)
                if sent_type not in messages or messages[sent_type].direction != "client":
                    raise self.fail(
                        send,
                        f"x-roles.{name}.send.{type_field}",
                        f"{sent_type!r} is not a client message of this contract",
                    )
            roles[str(name)] = role
        return roles

    def close_codes(self, doc: Mapping[str, Any]) -> dict[str, int]:
        codes = self.mapping(doc.get("x-close-codes", {}), "x-close-codes")
        for name, code in codes.items():
            if isinstance(code, bool) or not isinstance(code, int) or not 1000 <= code <= 4999:
                raise self.fail(
                    codes, f"x-close-codes.{name}", f"{code!r} is not a close code (1000-4999)"
                )
        return {str(name): code for name, code in codes.items()}

    def routes(self, doc: Mapping[str, Any]) -> dict[str, Route]:
        channels = self.mapping(doc.get("channels"), "channels")
        routes = {}
        for name, raw in channels.items():
            raw = self.mapping(raw, f"channels.{name}")
            address = raw.get("address")
            if not isinstance(address, str) or not address:
                raise self.fail(
                    raw, f"channels.{name}.address", "a route needs its path, e.g. ws/notify/"
                )
            auth = raw.get("x-auth", "optional")
            if auth not in _AUTH_MODES:
                raise self.fail(
                    raw,
                    f"channels.{name}.x-auth",
                    f"{auth!r} is not one of {', '.join(_AUTH_MODES)}",
                )
            parameters = tuple(
                self.mapping(raw.get("parameters", {}), f"channels.{name}.parameters")
            )
            placeholders = set(_PLACEHOLDER.findall(address))
            if placeholders != set(parameters):
                shown = ", ".join(sorted(placeholders)) or "none"
                raise self.fail(
                    raw,
                    f"channels.{name}.address",
                    f"{address!r} has placeholders {shown} but 'parameters' declares "
                    f"{', '.join(parameters) or 'none'}; declare each placeholder once",
                )
            owner = raw.get("x-owner-parameter")
            if auth == "owner" and owner not in parameters:
                raise self.fail(
                    raw,
                    f"channels.{name}.x-owner-parameter",
                    "an owner route must name one of its parameters",
                )
            routes[name] = Route(
                name=name,
                address=address,
                auth=auth,
                owner_parameter=owner,
                trailing_slash_optional=raw.get("x-trailing-slash") == "optional",
                parameters=parameters,
                title=str(raw.get("title", "")),
                path_regex=raw.get("x-path-regex"),
            )
        return routes

    def operations(
        self, doc: Mapping[str, Any]
    ) -> tuple[dict[str, str], dict[str, list[str]], dict[str, MessageKind]]:
        """Who sends each message (by component key), and which replies answer which request."""
        directions: dict[str, str] = {}
        replies: dict[str, list[str]] = {}
        kinds: dict[str, MessageKind] = {}
        operations = self.mapping(doc.get("operations", {}), "operations")
        for op_name, op in operations.items():
            op = self.mapping(op, f"operations.{op_name}")
            action = op.get("action")
            if action not in ("send", "receive"):
                raise self.fail(op, f"operations.{op_name}.action", "must be 'send' or 'receive'")
            keys = [
                self.message_key(ref, f"operations.{op_name}.messages")
                for ref in op.get("messages", [])
            ]
            for key in keys:
                directions[key] = "client" if action == "receive" else "server"
            reply = op.get("reply")
            if reply:
                reply_keys = [
                    self.message_key(ref, f"operations.{op_name}.reply.messages")
                    for ref in reply.get("messages", [])
                ]
                for request in keys:
                    replies[request] = reply_keys
                for key in reply_keys:
                    directions[key] = "client" if action == "send" else "server"
                    kinds.setdefault(key, "reply")
        return directions, replies, kinds

    def message_key(self, ref: Any, field: str) -> str:
        """The components.messages key a ``$ref`` (to a channel or component message) ends at."""
        target = ref.get("$ref") if isinstance(ref, Mapping) else None
        if not isinstance(target, str) or not target.startswith("#/"):
            raise self.fail(ref, field, "expected {$ref: '#/channels/<c>/messages/<m>'}")
        node: Any = self.document
        for part in target[2:].split("/"):
            if not isinstance(node, Mapping) or part not in node:
                raise self.fail(ref, field, f"$ref {target!r} points nowhere")
            node = node[part]
        if isinstance(node, Mapping) and "$ref" in node:
            return self.message_key(node, field)
        return target.rsplit("/", 1)[-1]

    def message(
        self, key: str, raw: Any, directions: Mapping[str, str], kinds: Mapping[str, MessageKind]
    ) -> Message:
        raw = self.mapping(raw, f"components.messages.{key}")
        if "payload" not in raw:
            raise self.fail(
                raw, f"components.messages.{key}.payload", "every message needs a payload schema"
            )
        direction = directions.get(key)
        if direction is None:
            raise self.fail(
                raw, f"components.messages.{key}", "no operation sends or receives this message"
            )
        tags = [t.get("name") for t in raw.get("tags", []) if isinstance(t, Mapping)]
        tagged = [t for t in _KIND_TAGS if t in tags]
        kind: MessageKind = (
            tagged[0] if tagged else kinds.get(key, "request" if direction == "client" else "push")
        )
        return Message(
            name=str(raw.get("name", key)),
            direction="client" if direction == "client" else "server",
            kind=kind,
            schema_pointer=f"/components/messages/{key}/payload",
            correlation_field=raw.get("x-correlation-field"),
            delivered_to=raw.get("x-delivered-to"),
            summary=str(raw.get("summary", "")),
            user_field=raw.get("x-user-field"),
            anonymous_values=tuple(raw.get("x-anonymous-values", (None,))),
            examples=tuple(
                example["payload"]
                for example in raw.get("examples", ())
                if isinstance(example, Mapping) and isinstance(example.get("payload"), Mapping)
            ),
        )
