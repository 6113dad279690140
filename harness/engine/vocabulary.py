"""What a scenario file may say instead of a service's names, resolved from contract + config.

The bundled scenarios fit any app a contract and a config describe, so they never name a
route, a message or a field. They say instead:

    route: "@optional"         the first route whose x-auth is optional (@owner, @anonymous,
                               @required; @slashless: one whose trailing slash is optional)
    ${confirmation} ${error} ${liveness} ${type_field}
                               the contract's confirmation, error and liveness request names
    ${user_push} ${global_push}   a push delivered to a user / to everyone
    send_role / expect_reply role   a message built from the contract's x-roles
    each_request / each_push / each_unknown_path / each_required   cases from the contract
    probe: held | not_held     a permission from the config the primary user holds / lacks
    size: over_limit | at_limit   frame sizes from x-limits

Everything here is pure: no I/O, no service names. What cannot be resolved comes back as
a reason, and the scenario case is skipped at collection with it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.config import HarnessConfig
from harness.contract import Contract
from harness.contract.model import Message, Route
from harness.templates import split

# The x-roles the bundled scenarios use; a contract without one skips those scenarios.
ROLES = ("hello", "liveness", "permission", "subscribe", "unsubscribe")


class Unresolved(Exception):
    """The contract or config does not say what a scenario needs; str() is the skip reason."""


@dataclass(frozen=True)
class Vocabulary:
    contract: Contract
    config: HarnessConfig | None = None

    # -- routes ----------------------------------------------------------------------------

    def route(self, selector: str) -> str:
        """A route name: itself, or the first route a ``@role`` selector picks."""
        if not selector.startswith("@"):
            return selector
        role = selector[1:]
        if role == "slashless":
            found = [r for r in self.contract.routes.values() if r.trailing_slash_optional]
        else:
            found = self.contract.routes_with_auth(role)
        if not found:
            raise Unresolved(
                f"the contract has no route for {selector} (x-auth / x-trailing-slash)"
            )
        return found[0].name

    def unknown_paths(self) -> list[dict[str, str]]:
        """Paths no route of the contract matches, derived from its routes' addresses."""
        routes = list(self.contract.routes.values())
        first = routes[0]
        base = "/" + first.address.split("{", 1)[0].strip("/")
        segments = [s for s in base.split("/") if s]
        candidates = [
            ("unknown_suffix", f"{base}/ws-harness-unknown/"),
            ("other_prefix", "/ws-harness-unknown/" + "/".join(segments[1:]) + "/"),
            ("no_prefix", "/" + "/".join(segments[1:]) + "/" if len(segments) > 1 else ""),
        ]
        for route in routes:
            if route.parameters:
                bad = {name: "not-a-valid-value!" for name in route.parameters}
                candidates.append(("non_matching_parameter", route.path(**bad)))
                break
        for route in routes:
            if not route.parameters and not route.trailing_slash_optional:
                candidates.append(("missing_slash", route.path().rstrip("/")))
                break
        paths, seen = [], set()
        for case_id, path in candidates:
            if path and path not in seen and not any(_matches(r, path) for r in routes):
                seen.add(path)
                paths.append({"id": case_id, "path": path})
        return paths

    # -- messages --------------------------------------------------------------------------

    def names(self) -> dict[str, Any]:
        """Variables every scenario may use: the contract's names for the harness's notions."""
        contract = self.contract
        confirmation = contract.confirmation()
        liveness = contract.liveness_request
        pushes = {audience: self.pushes(audience) for audience in ("user", "global")}
        names: dict[str, Any] = {
            "type_field": contract.type_field,
            "error": contract.error_message,
            "confirmation": confirmation.name if confirmation else None,
            "liveness": liveness.get(contract.type_field) if liveness else None,
            "user_push": pushes["user"][0]["push"] if pushes["user"] else None,
            "global_push": pushes["global"][0]["push"] if pushes["global"] else None,
        }
        names["push"] = names["user_push"]  # the push a subscription role subscribes to
        for role in (*ROLES, *contract.roles):  # ${subscribe}: the message a role sends
            send = contract.roles.get(role, {}).get("send")
            names.setdefault(role, send.get(contract.type_field) if send else None)
        return names

    def requests(self) -> list[dict[str, Any]]:
        """Every client message with a documented reply, with the payload scenarios send."""
        return [
            {"request": message.name, "payload": self.payload(message)}
            for message in self.contract.client_messages()
            if self.contract.replies.get(message.name)
        ]

    def pushes(self, audience: str | None) -> list[dict[str, Any]]:
        """The pushes delivered to ``audience`` (user | global), with data from their examples."""
        field = self.contract.push_data_field
        found = []
        for message in self.contract.pushes():
            if message.delivered_to != audience:
                continue
            payload = self.payload(message)
            data = payload.get(field, {}) if field else payload
            found.append(
                {"push": message.name, "data": dict(data) if isinstance(data, Mapping) else {}}
            )
        return found

    def push_data(self, name: str) -> dict[str, Any]:
        """The data a push of type ``name`` carries in its example (empty without one)."""
        for audience in ("user", "global", "subscribers", None):
            for push in self.pushes(audience):
                if push["push"] == name:
                    return push["data"]
        return {}

    def payload(self, message: Message) -> dict[str, Any]:
        """The message's first example payload, or the smallest one its schema allows."""
        if message.examples:
            return dict(message.examples[0])
        schema = _at(self.contract.document, message.schema_pointer)
        value = _minimal(self.contract.document, schema)
        value = value if isinstance(value, dict) else {}
        value[self.contract.type_field] = message.name
        return value

    # -- roles -----------------------------------------------------------------------------

    def role(self, name: str) -> Mapping[str, Any]:
        role = self.contract.roles.get(name)
        if role is None or "send" not in role:
            raise Unresolved(f"the contract declares no x-roles.{name}.send")
        return role

    def required(self, role_name: str) -> list[dict[str, str]]:
        """Cases dropping one field the role declares required (``missing_parameters``)."""
        fields = self.role(role_name).get("required") or []
        if not fields:
            raise Unresolved(f"the contract's x-roles.{role_name} declares no required fields")
        return [{"drop": str(field)} for field in fields]

    def probe(self, kind: str) -> dict[str, Any]:
        """Slots for a permission probe: one the primary user holds, or one it lacks."""
        role = self.role("permission")
        pattern = str(role.get("pattern", ""))
        users = self.config.users if self.config is not None else {}
        primary = users.get("primary")
        if kind == "held":
            held = sorted(primary.permissions) if primary else []
            if not held:
                raise Unresolved("the config's primary user declares no permissions to probe")
            permission = held[0]
        else:
            others = sorted({p for u in users.values() for p in u.permissions})
            lacking = [p for p in others if primary is None or not primary.holds(p)]
            if not lacking:
                raise Unresolved(
                    "no configured user holds a permission the primary user lacks; "
                    "declare one under another user's permissions"
                )
            permission = lacking[0]
        slots = split(pattern, permission)
        if slots is None:
            raise Unresolved(
                f"permission {permission!r} does not fit x-roles.permission.pattern {pattern!r}"
            )
        return {**slots, "probed": permission, "granted": f"${{holds:{permission}}}"}

    # -- limits ----------------------------------------------------------------------------

    def size(self, name: str) -> int:
        limit = self.contract.max_message_bytes
        if limit is None:
            raise Unresolved("the contract declares no x-limits.max_message_bytes")
        return limit + 1 if name == "over_limit" else limit


def _matches(route: Route, path: str) -> bool:
    """Whether ``path`` (with its leading slash) would reach ``route``."""
    regex = route.path_regex or _address_regex(route)
    return re.search(regex, path.lstrip("/")) is not None


def _address_regex(route: Route) -> str:
    pattern = re.escape(route.address.lstrip("/"))
    pattern = re.sub(r"\\\{[A-Za-z_][A-Za-z0-9_]*\\\}", "[^/]+", pattern)
    if route.trailing_slash_optional and pattern.endswith("/"):
        pattern += "?"
    return f"^{pattern}$"


def _at(document: Mapping[str, Any], pointer: str) -> Any:
    node: Any = document
    for part in pointer.strip("/").split("/"):
        node = node[part]
    return node


def _minimal(document: Mapping[str, Any], schema: Any) -> Any:
    """The smallest value a (simple) JSON Schema accepts: required properties only."""
    if not isinstance(schema, Mapping):
        return None
    if "$ref" in schema:
        return _minimal(document, _at(document, schema["$ref"].lstrip("#")))
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in [*schema["allOf"], {k: v for k, v in schema.items() if k != "allOf"}]:
            value = _minimal(document, part)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        return {
            name: _minimal(document, properties.get(name, {}))
            for name in schema.get("required", [])
        }
    defaults = {
        "string": "x" * int(schema.get("minLength", 1)),
        "integer": 0,
        "number": 0,
        "boolean": False,
        "array": [],
        "null": None,
    }
    return defaults.get(kind)
