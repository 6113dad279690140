"""The "renamed" dialect: the reference protocol with every route, message type and field renamed.

The harness claims to have nothing of the reference service hard-wired. To prove it, the
reference target can speak a dialect in which every name a client could see is different, and
the renamers below turn the bundled contract and config into their renamed twins. A harness
that passes the bundled scenarios against both pairs has learnt every name from its contract.

One map, :data:`RENAMED`, from reference names to new names, covers:

* every message type (``heartbeat`` -> ``beat``, ``connection_confirmed`` -> ``welcome``...),
* every JSON field the consumer sends or reads (``type`` -> ``kind``, ``data`` -> ``body``...),
* the route path segments (``ws/permissions/anonymous/`` -> ``rt/grants/guest/``), the route
  (channel) names of the contract and its path parameter (``user_id`` -> ``member_no``).

The map is bijective and no new name is also a reference name, so the renaming can be applied
as a *swap*: :func:`to_wire` and :func:`from_wire` exchange each reference name with its new
name in both directions. They are therefore the same involution, and any frame round-trips
exactly (what a client sends is what an echo gives back), while a client that still speaks the
reference names is not understood by a renamed server: ``{"type": "heartbeat"}`` reads as a
frame without a type field there.

Server side: ``TARGET_DIALECT=renamed`` (or ``python -m target serve --dialect renamed``)
renames the consumer's frames, routes, the ready line, and the push type / data names the
notify endpoint and ``notify`` command accept. Test side: :func:`rename_contract` and
:func:`rename_config`. Nothing here imports Django at module level.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

REFERENCE = "reference"
RENAMED_DIALECT = "renamed"
DIALECTS: tuple[str, ...] = (REFERENCE, RENAMED_DIALECT)

#: Message types of the reference protocol (values of the type field are renamed, too).
MESSAGE_TYPES: tuple[str, ...] = (
    "connect",
    "heartbeat",
    "ping",
    "permission_check",
    "subscribe_notifications",
    "unsubscribe_notifications",
    "connection_confirmed",
    "heartbeat_response",
    "permission_check_response",
    "subscription_confirmed",
    "unsubscription_confirmed",
    "error",
    "permission_changed",
    "role_updated",
    "menu_access_changed",
    "cache_invalidation",
    "system_notification",
)
#: The segments of the reference WebSocket paths (``ws/permissions/anonymous``).
PATH_SEGMENTS: tuple[str, ...] = ("ws", "permissions", "anonymous")

RENAMED: dict[str, str] = {
    # --- message types -------------------------------------------------------------------
    "connect": "hello",
    "heartbeat": "beat",  # also a feature key
    "ping": "tick",
    "permission_check": "acl_probe",
    "subscribe_notifications": "watch",
    "unsubscribe_notifications": "unwatch",
    "connection_confirmed": "welcome",
    "heartbeat_response": "beat_ack",
    "permission_check_response": "acl_verdict",
    "subscription_confirmed": "watch_ack",
    "unsubscription_confirmed": "unwatch_ack",
    "error": "fault",  # also the error_shape fault's free-text field
    "permission_changed": "grant_moved",
    "role_updated": "rank_moved",
    "menu_access_changed": "nav_moved",
    "cache_invalidation": "purge",  # also a feature key
    "system_notification": "bulletin",
    # --- fields: envelope -------------------------------------------------------------------
    "type": "kind",
    "data": "body",
    "timestamp": "at",
    # --- fields: connection_confirmed ---------------------------------------------------------
    "user_id": "member_no",  # also the contract's path parameter
    "groups": "rooms",  # also inside menuChanges
    "server_time": "clock",
    "sessionId": "linkId",
    "features": "caps",
    "permission_notifications": "grant_news",
    "role_updates": "rank_news",
    "menu_access_updates": "nav_news",
    # --- fields: requests and replies -----------------------------------------------------------
    "resource": "subject",
    "action": "verb",
    "request_id": "ticket",
    "has_permission": "allowed",
    "types": "topics",
    "subscribed_types": "watching",
    "unsubscribed_types": "unwatched",
    "error_code": "fault_code",
    "message": "text",
    # --- fields: pushes ---------------------------------------------------------------------
    "userId": "memberNo",
    "permissions": "grants",  # also the route path segment and route name
    "permission": "grant",
    "oldRole": "rankBefore",
    "newRole": "rankAfter",
    "menuChanges": "navDelta",
    "change": "op",
    "currentGroups": "roomsNow",
    "cacheKeys": "purgeKeys",
    "priority": "urgency",
    "trace_id": "probe_tag",  # the harness's push trace field (config push.trace_field)
    # --- routes: path segments and the contract's route names ------------------------------------
    "ws": "rt",
    "anonymous": "guest",
    "permissions_user": "grants_member",
    "permissions_anonymous": "grants_guest",
}
INVERSE: dict[str, str] = {new: old for old, new in RENAMED.items()}


def _check_map() -> None:
    if len(INVERSE) != len(RENAMED):
        clashes = sorted(n for n in INVERSE if list(RENAMED.values()).count(n) > 1)
        raise AssertionError(f"dialect map is not bijective: {clashes} are used twice")
    overlap = sorted(set(RENAMED) & set(INVERSE))
    if overlap:
        raise AssertionError(f"dialect map: new names that are also reference names: {overlap}")
    missing = sorted(set(MESSAGE_TYPES + PATH_SEGMENTS) - set(RENAMED))
    if missing:
        raise AssertionError(f"dialect map misses: {missing}")


_check_map()

_SWAP_NAMES: dict[str, str] = {**RENAMED, **INVERSE}
_SWAP_TYPES: dict[str, str] = {
    **{t: RENAMED[t] for t in MESSAGE_TYPES},
    **{RENAMED[t]: t for t in MESSAGE_TYPES},
}


# ------------------------------------------------------------------------------- frames
def _swap(node: Any) -> Any:
    """Keys through the whole map, string values that name a message type through the types."""
    if isinstance(node, dict):
        return {
            (_SWAP_NAMES.get(k, k) if isinstance(k, str) else k): _swap(v) for k, v in node.items()
        }
    if isinstance(node, list):
        return [_swap(item) for item in node]
    if isinstance(node, str):
        return _SWAP_TYPES.get(node, node)
    return node


def to_wire(frame: Any) -> Any:
    """A reference frame as the renamed dialect sends it (a new object; the input is kept).

    Dict keys are renamed recursively; string values that equal a message type (the type
    field's value, the entries of ``types`` / ``subscribed_types``...) are renamed. Applied as a
    swap, so ``to_wire(from_wire(x)) == x`` for every JSON value ``x``.
    """
    return _swap(frame)


def from_wire(frame: Any) -> Any:
    """A renamed-dialect frame in reference names: the inverse of :func:`to_wire`."""
    return _swap(frame)


def wire_name(name: str) -> str:
    """One name (message type, field, route segment) in the renamed dialect."""
    return _SWAP_NAMES.get(name, name)


def reference_name(name: str) -> str:
    """One renamed-dialect name in reference names (the inverse of :func:`wire_name`)."""
    return _SWAP_NAMES.get(name, name)


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def rename_path(path: str, names: Mapping[str, str] | None = None) -> str:
    """A route path or regex with its identifier tokens renamed (default: path segments only).

    ``^ws/permissions/(?P<user_id>\\d+)/$`` -> ``^rt/grants/(?P<user_id>\\d+)/$``: the regex
    group keeps its name unless ``names`` (e.g. :data:`RENAMED`) says otherwise.
    """
    table = {s: RENAMED[s] for s in PATH_SEGMENTS} if names is None else names
    return _IDENTIFIER.sub(lambda m: table.get(m.group(), m.group()), path)


def notify_body_from_wire(body: Mapping[str, Any]) -> dict[str, Any]:
    """A notify request body written in the renamed dialect, in reference names.

    Only the push ``type`` value and the ``data`` object are translated; the body's own keys
    (``type``, ``data``, ``user_id``, ``role``, ``global``, ``subscribers``) stay as they are.
    """
    translated = dict(body)
    if isinstance(translated.get("type"), str):
        translated["type"] = _SWAP_TYPES.get(translated["type"], translated["type"])
    if isinstance(translated.get("data"), Mapping):
        translated["data"] = from_wire(dict(translated["data"]))
    return translated


# ------------------------------------------------------------------------------- activation
class UnknownDialectError(ValueError):
    """Raised for a dialect name that is not in :data:`DIALECTS`."""


def parse(name: str | None) -> str:
    """Validate a dialect name (``None`` or empty: the reference dialect)."""
    chosen = (name or "").strip().lower() or REFERENCE
    if chosen not in DIALECTS:
        raise UnknownDialectError(
            f"unknown dialect {name!r}; valid dialects: {', '.join(DIALECTS)}"
        )
    return chosen


def active() -> bool:
    """True when this process serves the renamed dialect (read at call time: tests override)."""
    from django.conf import settings

    return getattr(settings, "TARGET_DIALECT", REFERENCE) == RENAMED_DIALECT


# ------------------------------------------------------------------------------- renamers
_PROSE = frozenset({"description", "summary", "title"})


def _name(value: Any) -> Any:
    """A reference name renamed (reference -> new only), anything else unchanged."""
    return RENAMED.get(value, value) if isinstance(value, str) else value


def _prose(text: Any) -> Any:
    return rename_path(text, RENAMED) if isinstance(text, str) else text


def _frame(node: Any) -> Any:
    """A frame or frame template: keys renamed, message-type values renamed, ``${...}`` kept."""
    if isinstance(node, Mapping):
        return {_name(k): _frame(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_frame(item) for item in node]
    if isinstance(node, str) and node in MESSAGE_TYPES:
        return RENAMED[node]
    return node


def _values(node: Any) -> Any:
    """Vocabulary keys kept, string values that are protocol names renamed (recursively)."""
    if isinstance(node, Mapping):
        return {k: (_prose(v) if k in _PROSE else _values(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_values(item) for item in node]
    return _name(node)


def _ref(ref: Any) -> Any:
    if not isinstance(ref, str) or not ref.startswith("#"):
        return ref
    return "/".join(_name(part) for part in ref.split("/"))


def _refs(node: Any) -> Any:
    """A copy with every ``$ref`` renamed and everything else kept."""
    if isinstance(node, Mapping):
        return {k: (_ref(v) if k == "$ref" else _refs(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_refs(item) for item in node]
    return node


def _schema(node: Any) -> Any:
    """A JSON Schema: property names, ``required``, ``const``/``enum`` and ``$ref`` renamed."""
    if isinstance(node, list):
        return [_schema(item) for item in node]
    if not isinstance(node, Mapping):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties", "dependentSchemas") and isinstance(
            value, Mapping
        ):
            out[key] = {_name(k): _schema(v) for k, v in value.items()}
        elif key in ("required", "enum") and isinstance(value, list):
            out[key] = [_name(item) for item in value]
        elif key == "const":
            out[key] = _name(value)
        elif key == "$ref":
            out[key] = _ref(value)
        elif key in _PROSE:
            out[key] = _prose(value)
        elif key in ("examples", "default"):
            out[key] = _frame(value)
        elif key == "type":
            out[key] = copy.deepcopy(value)
        else:
            out[key] = _schema(value)
    return out


def _dotted(path: Any) -> Any:
    return ".".join(_name(p) for p in path.split(".")) if isinstance(path, str) else path


def _location(location: Any) -> Any:
    """``$message.payload#/request_id`` -> ``$message.payload#/ticket``."""
    if not isinstance(location, str) or "#" not in location:
        return location
    head, pointer = location.split("#", 1)
    return head + "#" + "/".join(_name(part) for part in pointer.split("/"))


def _message(node: Any) -> Any:
    if not isinstance(node, Mapping):
        return _refs(node)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "name":
            out[key] = _name(value)
        elif key == "payload":
            out[key] = _schema(value)
        elif key == "examples" and isinstance(value, list):
            out[key] = [
                {k: (_frame(v) if k == "payload" else _prose(v)) for k, v in example.items()}
                if isinstance(example, Mapping)
                else example
                for example in value
            ]
        elif key in ("x-correlation-field",):
            out[key] = _name(value)
        elif key == "x-user-field":
            out[key] = _dotted(value)
        elif key == "correlationId" and isinstance(value, Mapping):
            out[key] = {
                k: (_location(v) if k == "location" else _prose(v) if k in _PROSE else _refs(v))
                for k, v in value.items()
            }
        elif key in _PROSE:
            out[key] = _prose(value)
        else:  # tags (harness vocabulary), x-delivered-to, x-anonymous-values, bindings...
            out[key] = _refs(value)
    return out


def _channel(node: Any) -> Any:
    if not isinstance(node, Mapping):
        return _refs(node)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("address", "x-path-regex") and isinstance(value, str):
            out[key] = rename_path(value, RENAMED)
        elif key == "x-owner-parameter":
            out[key] = _name(value)
        elif key == "parameters" and isinstance(value, Mapping):
            out[key] = {_name(k): _values(v) for k, v in value.items()}
        elif key == "messages" and isinstance(value, Mapping):
            out[key] = {_name(k): _refs(v) for k, v in value.items()}
        elif key in _PROSE:
            out[key] = _prose(value)
        else:  # x-auth, x-trailing-slash (harness vocabulary), bindings, messages as a list
            out[key] = _refs(value)
    return out


def _operation(node: Any) -> Any:
    if not isinstance(node, Mapping):
        return _refs(node)
    return {k: (_prose(v) if k in _PROSE else _refs(v)) for k, v in node.items()}


def _roles(node: Any) -> Any:
    """``x-roles``: role names and role keys are harness vocabulary; ``send``/``reply`` frames."""
    if not isinstance(node, Mapping):
        return _values(node)
    roles: dict[str, Any] = {}
    for role, spec in node.items():
        if not isinstance(spec, Mapping):
            roles[role] = _values(spec)
            continue
        roles[role] = {
            key: (
                _frame(value)
                if key in ("send", "reply")
                else _prose(value)
                if key in _PROSE
                # a pattern like "{resource}.{action}" names template slots, not fields
                else copy.deepcopy(value)
                if key == "permission"
                else _values(value)
            )
            for key, value in spec.items()
        }
    return roles


def _components(node: Any) -> Any:
    if not isinstance(node, Mapping):
        return _refs(node)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "messages" and isinstance(value, Mapping):
            out[key] = {_name(k): _message(v) for k, v in value.items()}
        elif key == "schemas" and isinstance(value, Mapping):
            out[key] = {_name(k): _schema(v) for k, v in value.items()}
        else:
            out[key] = _refs(value)
    return out


def rename_contract(document: Mapping[str, Any]) -> dict[str, Any]:
    """The bundled AsyncAPI contract (as loaded by ``yaml.safe_load``) in the renamed dialect.

    Renamed: channel keys (route names), ``address`` / ``x-path-regex`` segments and the path
    parameter, component message and schema keys and message ``name``, every ``$ref`` segment,
    schema ``properties`` / ``required`` / ``const`` / ``enum``, ``x-message-type-field``,
    ``x-push-data-field``, ``x-correlation-field``, ``correlationId.location``, ``x-user-field``,
    ``x-errors.message`` / ``code_field``, examples' payloads and the ``send`` / ``reply``
    templates of ``x-roles``. Kept: harness vocabulary (role names, tags, ``x-auth``,
    ``x-delivered-to``, close-code and error-code names), error code values and ``${...}``
    templates. Prose (description/summary/title) has its protocol names replaced.
    The input is not modified.
    """
    out: dict[str, Any] = {}
    for key, value in document.items():
        if key == "channels" and isinstance(value, Mapping):
            out[key] = {_name(k): _channel(v) for k, v in value.items()}
        elif key == "operations" and isinstance(value, Mapping):
            out[key] = {k: _operation(v) for k, v in value.items()}
        elif key == "components":
            out[key] = _components(value)
        elif key == "info" and isinstance(value, Mapping):
            info = {k: (_prose(v) if k in _PROSE else copy.deepcopy(v)) for k, v in value.items()}
            info["title"] = f"{info.get('title', 'contract')} (renamed dialect)"
            out[key] = info
        elif key == "x-roles":
            out[key] = _roles(value)
        elif key == "x-errors" and isinstance(value, Mapping):
            out[key] = {
                k: (copy.deepcopy(v) if k == "codes" else _values(v)) for k, v in value.items()
            }
        elif key in ("x-liveness",) and isinstance(value, Mapping):  # the older form of roles
            out[key] = {k: (_frame(v) if k == "send" else _values(v)) for k, v in value.items()}
        elif isinstance(key, str) and key.startswith("x-"):
            out[key] = _values(value)  # x-message-type-field, x-push-data-field, x-limits...
        else:  # asyncapi, servers, defaultContentType
            out[key] = copy.deepcopy(value)
    return out


def rename_config(document: Mapping[str, Any], contract: str | None = None) -> dict[str, Any]:
    """The reference harness config in the renamed dialect.

    Renamed: ``target.ready_route``, ``confirmation.message``, ``confirmation.connect_message``
    (a frame template; ``${...}`` kept) and ``push.trace_field``. The target starts in the
    renamed dialect: ``--dialect renamed`` is added to a ``python -m target serve`` command and
    ``TARGET_DIALECT: renamed`` to ``target.env``. ``contract`` (the renamed contract's path),
    when given, is written to ``contract:``. Login, users, tokens and the notify path stay.
    """
    out = copy.deepcopy(dict(document))
    if contract is not None:
        out["contract"] = contract
    target = out.get("target")
    if isinstance(target, dict):
        command = target.get("command")
        if isinstance(command, str) and "-m target serve" in command and "--dialect" not in command:
            target["command"] = f"{command} --dialect {RENAMED_DIALECT}"
        env = target.get("env")
        target["env"] = {**(env if isinstance(env, Mapping) else {}), "TARGET_DIALECT": "renamed"}
        if "ready_route" in target:
            target["ready_route"] = _name(target["ready_route"])
    confirmation = out.get("confirmation")
    if isinstance(confirmation, dict):
        if "message" in confirmation:
            confirmation["message"] = _name(confirmation["message"])
        if "connect_message" in confirmation:
            confirmation["connect_message"] = _frame(confirmation["connect_message"])
    push = out.get("push")
    if isinstance(push, dict) and "trace_field" in push:
        push["trace_field"] = _name(push["trace_field"])
    return out


def write_renamed(folder: Any, contract: Any, config: Any, cwd: str) -> tuple[Any, Any]:
    """Write the renamed copies of the ``contract`` and ``config`` files into ``folder``
    (``pathlib.Path``s); the config names the renamed contract and starts the target in
    ``cwd``. Returns (contract path, config path)."""
    import yaml

    contract_path = folder / "renamed.asyncapi.yaml"
    original = yaml.safe_load(contract.read_text())
    contract_path.write_text(yaml.safe_dump(rename_contract(original), sort_keys=False))
    renamed = rename_config(yaml.safe_load(config.read_text()), contract=str(contract_path))
    renamed["target"]["cwd"] = cwd
    config_path = folder / "renamed.config.yaml"
    config_path.write_text(yaml.safe_dump(renamed, sort_keys=False))
    return contract_path, config_path
