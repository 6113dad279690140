"""Parse scenario files (YAML) into ``Scenario`` objects, checked against the contract.

File format (see scenarios/conformance/*.scenarios.yaml for real ones)::

    scenarios:
      - id: heartbeat                 # the test name; cases add "[route-auth]"
        description: heartbeat gets its documented reply
        message: heartbeat            # the matrix column this covers
        each:                         # one test per case; ${route}, ${auth} fill the steps
          - {route: permissions, auth: anonymous}
          - {route: permissions_user, auth: user}
        steps:
          - connect: {route: "${route}", auth: "${auth}"}
          - send: {type: heartbeat}
          - expect_reply: {}

Every mistake raises ScenarioError naming the file, the line and what to write instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.config import HarnessConfig
from harness.contract import Contract
from harness.engine import model as m
from harness.engine.vocabulary import Unresolved, Vocabulary
from harness.errors import ScenarioError
from harness.yamlfile import LineDict, line_of, load_yaml

_CASE_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_UNSAFE_ID = re.compile(r"[^A-Za-z0-9_.]+")
# Case variables that are values to use, not names to show in the test id.
_HIDDEN = {"payload", "data", "granted", "resource", "action", "path", "probed"}


def load_scenarios(
    path: str | Path, contract: Contract, config: HarnessConfig | None = None
) -> list[m.Scenario]:
    """All scenarios of one file, with ``each`` cases expanded.

    A case that needs what the contract or the config does not declare (a route role, a
    user, an x-roles entry, a size limit) comes back with ``skip_reason`` set.
    """
    file = Path(path)
    document = load_yaml(file, ScenarioError)
    return _FileParser(file, contract, config).parse(document)


# Case generators: scenario key -> the cases it adds (multiplied with ``each``).
_GENERATORS = ("each_request", "each_push", "each_unknown_path", "each_required")


class _FileParser:
    def __init__(self, file: Path, contract: Contract, config: HarnessConfig | None) -> None:
        self.file = file
        self.contract = contract
        self.config = config
        self.vocabulary = Vocabulary(contract, config)

    def fail(self, node: Any, problem: str, line: int = 0) -> ScenarioError:
        line = line or line_of(node)
        where = f"{self.file}:{line}" if line else str(self.file)
        return ScenarioError(f"{where}: {problem}")

    def parse(self, document: Any) -> list[m.Scenario]:
        if not isinstance(document, Mapping) or not isinstance(document.get("scenarios"), list):
            raise self.fail(document, "expected a top-level 'scenarios:' list")
        for key in document:
            if key != "scenarios" and not str(key).startswith("x-"):
                raise self.fail(
                    document,
                    f"unknown top-level key {key!r}; use 'scenarios' (and x-* for anchors)",
                )
        scenarios: list[m.Scenario] = []
        seen: set[str] = set()
        for entry in document["scenarios"]:
            for scenario in self.entry(entry):
                if scenario.name in seen:
                    raise self.fail(
                        entry, f"two scenarios are named {scenario.name!r}; give each a unique id"
                    )
                seen.add(scenario.name)
                scenarios.append(scenario)
        return scenarios

    def entry(self, entry: Any) -> list[m.Scenario]:
        if not isinstance(entry, Mapping):
            raise self.fail(entry, "each scenario is a mapping with 'id' and 'steps'")
        allowed = {
            "id",
            "description",
            "message",
            "each",
            "steps",
            "markers",
            "probe",
            "unsolicited",
            "alone",
            *_GENERATORS,
        }
        unknown = set(entry) - allowed
        if unknown:
            raise self.fail(
                entry,
                f"unknown scenario key {sorted(unknown)[0]!r}; expected {', '.join(sorted(allowed))}",
            )
        base = entry.get("id")
        if not isinstance(base, str) or not base:
            raise self.fail(entry, "a scenario needs an 'id' (a short name such as heartbeat)")
        steps = entry.get("steps")
        if not isinstance(steps, list) or not steps:
            raise self.fail(entry, f"scenario {base!r} needs a non-empty 'steps' list")
        cases = entry.get("each") or [{}]
        if not isinstance(cases, list) or not all(isinstance(c, Mapping) for c in cases):
            raise self.fail(entry, f"scenario {base!r}: 'each' must be a list of mappings")
        markers = tuple(str(x) for x in entry.get("markers") or ())
        try:
            cases = self.generated(entry, cases)
        except Unresolved as exc:
            return [self.skipped(entry, base, str(exc), markers)]
        return [self.case(entry, base, case, steps, markers) for case in cases]

    def generated(self, entry: Mapping[str, Any], cases: list[Any]) -> list[dict[str, Any]]:
        """``each`` times the cases the contract generates (requests, pushes, paths...)."""
        vocabulary = self.vocabulary
        sources = {
            "each_request": lambda _: vocabulary.requests(),
            "each_push": lambda audience: vocabulary.pushes(str(audience)),
            "each_unknown_path": lambda _: vocabulary.unknown_paths(),
            "each_required": lambda role: vocabulary.required(str(role)),
        }
        expanded = [_with_line(dict(case), line_of(case)) for case in cases]
        for key, source in sources.items():
            if key not in entry:
                continue
            generated = source(entry[key])
            if not generated:
                raise Unresolved(f"the contract gives no cases for {key}: {entry[key]}")
            expanded = [
                _with_line({**g, **case}, line_of(case)) for g in generated for case in expanded
            ]
        if "probe" in entry:
            probe = vocabulary.probe(str(entry["probe"]))
            expanded = [_with_line({**probe, **case}, line_of(case)) for case in expanded]
        for case in expanded:
            if isinstance(case.get("route"), str):
                case["route"] = vocabulary.route(case["route"])
        return expanded

    def skipped(
        self, entry: Mapping[str, Any], base: str, reason: str, markers: tuple[str, ...]
    ) -> m.Scenario:
        """A placeholder item that says why a scenario cannot run against this app."""
        return m.Scenario(
            name=base,
            base=base,
            description=str(entry.get("description", "")),
            file=str(self.file),
            line=line_of(entry),
            steps=(),
            markers=markers,
            skip_reason=reason,
        )

    def case(
        self,
        entry: Mapping[str, Any],
        base: str,
        case: Mapping[str, Any],
        steps: list[Any],
        markers: tuple[str, ...],
    ) -> m.Scenario:
        variables = {str(k): v for k, v in case.items() if k != "id"}
        shown = {
            k: v for k, v in variables.items() if isinstance(v, str | int) and k not in _HIDDEN
        }
        variables = {**self.vocabulary.names(), **variables}
        message = _fill(entry.get("message"), variables)
        if message is not None and message not in self.contract.messages:
            raise self.fail(entry, f"scenario {base!r}: message {message!r} is not in the contract")
        case_id = str(
            case.get("id")
            or "-".join(_UNSAFE_ID.sub("_", str(v)).strip("_") for v in shown.values())
        )
        name = f"{base}[{case_id}]" if case_id else base
        try:
            parsed = tuple(
                self.step(
                    self.roles(_fill(raw, variables), variables), line_of(raw, line_of(steps))
                )
                for raw in steps
            )
            self.check_users(parsed)
        except Unresolved as exc:
            return replace(self.skipped(entry, name, str(exc), markers), base=base)
        connects = [s for s in parsed if isinstance(s, m.Connect)]
        first = connects[0] if connects else None
        coverage = None
        if message and first is not None:
            coverage = m.Coverage(
                route=first.route or "unknown_path", message=message, auth=first.auth.label
            )
        auth_markers = {c.auth.mode for c in connects}
        # On an anonymous route every connection is anonymous, whatever token it presents.
        if any(c.route and self.contract.routes[c.route].auth == "anonymous" for c in connects):
            auth_markers.add("anonymous")
        needs_push = any(isinstance(s, m.Push) for s in parsed)
        all_markers = tuple(sorted({*markers, *auth_markers, *(["push"] if needs_push else [])}))
        return m.Scenario(
            name=name,
            base=base,
            description=str(entry.get("description", "")),
            file=str(self.file),
            line=line_of(case) or line_of(entry),
            steps=parsed,
            coverage=coverage,
            markers=all_markers,
            needs_push=needs_push,
            subject=(message, *self.contract.replies.get(message, ())) if message else (),
            unsolicited=tuple(
                str(t) for t in _fill(entry.get("unsolicited") or [], variables) if t
            ),
            skip_reason=self.push_skip_reason() if needs_push else "",
            alone=self.runs_alone(entry, parsed),
            replicas=replicas_needed(parsed),
        )

    def runs_alone(self, entry: Mapping[str, Any], steps: tuple[m.Step, ...]) -> bool:
        """Whether the scenario must not share the server with others running concurrently.

        Declared with ``alone: true`` (e.g. a scenario whose verdict counts every connection
        of a user, or changes state that all of a user's connections share); implied by a
        push when pushes carry no trace, because then nothing tells whose push a frame is.
        """
        declared = entry.get("alone", False)
        if not isinstance(declared, bool):
            raise self.fail(entry, "alone: is true or false")
        pushes = any(isinstance(s, m.Push) for s in steps)
        untraced = pushes and not (self.config and self.config.push.trace_field)
        # Killing a replica drops every connection on it, other scenarios' included.
        kills = any(isinstance(s, m.KillReplica) for s in steps)
        return declared or untraced or kills

    def roles(self, raw: Any, variables: Mapping[str, Any]) -> Any:
        """``send_role`` and ``expect_reply: {role: ...}``: messages from the contract's x-roles."""
        if not isinstance(raw, Mapping) or len(raw) != 1:
            return raw
        keyword, args = next(iter(raw.items()))
        if keyword == "send_role":
            args = {"role": args} if isinstance(args, str) else dict(args)
            message = dict(_fill(self.vocabulary.role(str(args["role"]))["send"], variables))
            if "drop" in args:
                message.pop(str(args["drop"]), None)
            send = {"message": message, **({"on": args["on"]} if "on" in args else {})}
            return {"send": send}
        if keyword == "expect_reply" and isinstance(args, Mapping) and "role" in args:
            role = self.vocabulary.role(str(args["role"]))
            rest = {k: v for k, v in args.items() if k != "role"}
            return {"expect_reply": {**rest, "match": _fill(role.get("reply") or {}, variables)}}
        return raw

    def push_skip_reason(self) -> str:
        """Why push scenarios cannot run here ("" when a trigger is configured)."""
        if self.config is None or self.config.push.method != "none":
            return ""
        return (
            f"needs a push trigger; none is configured in {self.config.source} "
            "(push.method: none); set push.method"
        )

    def check_users(self, steps: tuple[m.Step, ...]) -> None:
        """Every user a case needs must be in the config, or the case is skipped."""
        if self.config is None:
            return
        needed = set()
        for step in steps:
            if isinstance(step, m.Connect) and step.auth.mode in ("user", "wrong_user"):
                needed.add(step.auth.user)
                if step.auth.mode == "wrong_user":
                    needed.add(step.auth.other)
            if isinstance(step, m.Push):
                kind, _, name = step.to.partition(":")
                if kind not in ("global", "role") and "$" not in step.to:
                    needed.add(name or kind)
        missing = sorted(needed - set(self.config.users))
        if missing:
            raise Unresolved(
                f"needs the user(s) {', '.join(missing)}, which {self.config.source} does not declare"
            )

    # -- steps ----------------------------------------------------------------------------

    def step(self, raw: Any, line: int) -> m.Step:
        if not isinstance(raw, Mapping) or len(raw) != 1:
            raise self.fail(
                raw,
                f"a step is a mapping with one keyword ({', '.join(sorted(self.parsers))})",
                line,
            )
        keyword, args = next(iter(raw.items()))
        parser = self.parsers.get(keyword)
        if parser is None:
            raise self.fail(
                raw,
                f"unknown step {keyword!r}; expected one of {', '.join(sorted(self.parsers))}",
                line,
            )
        return parser(self, args, line)

    def connect(self, args: Any, line: int) -> m.Connect:
        if isinstance(args, str):
            args = {"route": args}
        options = self.options(
            args,
            "connect",
            line,
            {
                "as",
                "route",
                "path",
                "auth",
                "params",
                "slash",
                "origin",
                "outcome",
                "close",
                "status",
                "confirmation",
                "within",
                "replica",
            },
        )
        route = options.get("route")
        if isinstance(route, str):
            route = self.vocabulary.route(route)
        if route is not None and route not in self.contract.routes:
            raise self.fail(
                args,
                f"connect: no route {route!r} in the contract; routes: {', '.join(self.contract.routes)}",
                line,
            )
        if route is None and options.get("path") is None:
            raise self.fail(
                args, "connect needs a 'route' (a contract route name) or a raw 'path'", line
            )
        close = options.get("close")
        outcome = options.get("outcome", "closed" if close is not None else "accepted")
        if outcome not in ("accepted", "refused", "closed"):
            raise self.fail(
                args, f"connect: outcome {outcome!r}; expected accepted, refused or closed", line
            )
        if close is not None:
            self.check_close_code(close, args, line)
        auth = self.auth(options.get("auth", "anonymous"), args, line)
        if (
            auth.mode == "wrong_user"
            and route is not None
            and self.contract.routes[route].owner_parameter is None
        ):
            raise self.fail(
                args,
                f"connect: auth wrong_user needs a route with an owner parameter, not {route!r}",
                line,
            )
        return m.Connect(
            name=str(options.get("as", "client")),
            route=route,
            path=options.get("path"),
            auth=auth,
            params=dict(options.get("params") or {}),
            slash=bool(options.get("slash", True)),
            origin=options.get("origin"),
            outcome=outcome,
            close_code=close,
            status=options.get("status"),
            confirmation=dict(options.get("confirmation") or {}),
            within=options.get("within"),
            replica=self.replica(options, "connect", line),
            line=line,
        )

    def auth(self, value: Any, node: Any, line: int) -> m.Auth:
        if isinstance(value, Mapping):
            mode = value.get("mode", "user")
            auth = m.Auth(
                mode=mode,
                user=str(value.get("user", "primary")),
                other=str(value.get("other", "secondary")),
            )
        elif isinstance(value, str) and value.startswith("user:"):
            auth = m.Auth(mode="user", user=value.split(":", 1)[1])
        else:
            auth = m.Auth(mode=value)
        if auth.mode not in m.AUTH_MODES:
            raise self.fail(
                node,
                f"auth {value!r}; expected one of {', '.join(m.AUTH_MODES)} or user:<name>",
                line,
            )
        return auth

    def send(self, args: Any, line: int) -> m.Send:
        if not isinstance(args, Mapping):
            raise self.fail(
                args, "send takes the JSON message to send, e.g. {type: heartbeat}", line
            )
        if "message" in args:  # {on: b, message: {...}}: send on another connection
            options = self.options(args, "send", line, {"on", "message"})
            return m.Send(on=options.get("on"), message=options["message"], line=line)
        return m.Send(message=dict(args), line=line)

    def send_text(self, args: Any, line: int) -> m.Send:
        if isinstance(args, str):
            return m.Send(text=args, line=line)
        options = self.options(args, "send_text", line, {"on", "text", "size"})
        size = options.get("size")
        if size in ("over_limit", "at_limit"):
            size = self.vocabulary.size(size)
        if size is not None and not isinstance(size, int):
            raise self.fail(
                args, "send_text: size must be a number of bytes, over_limit or at_limit", line
            )
        return m.Send(on=options.get("on"), text=options.get("text"), size=size, line=line)

    def send_binary(self, args: Any, line: int) -> m.Send:
        options = self.options(
            {"size": args} if isinstance(args, int) else args, "send_binary", line, {"on", "size"}
        )
        size = self.number(options.get("size", 1), "send_binary: size", args, line, integer=True)
        return m.Send(on=options.get("on"), binary=size, line=line)

    def expect(self, args: Any, line: int) -> m.Expect:
        if isinstance(args, str):
            args = {"type": args}
        options = self.options(args, "expect", line, {"on", "type", "match", "within"})
        message_type = options.get("type")
        if message_type is not None and message_type not in self.contract.messages:
            raise self.fail(args, f"expect: message {message_type!r} is not in the contract", line)
        return m.Expect(
            on=options.get("on"),
            type=message_type,
            match=dict(options.get("match") or {}),
            within=self.within(options, "expect", line),
            line=line,
        )

    def expect_reply(self, args: Any, line: int) -> m.Expect:
        options = self.options(args or {}, "expect_reply", line, {"on", "match", "within"})
        return m.Expect(
            on=options.get("on"),
            type=None,
            match=dict(options.get("match") or {}),
            within=self.within(options, "expect_reply", line),
            line=line,
        )

    def expect_error(self, args: Any, line: int) -> m.ExpectError:
        if isinstance(args, str):
            args = {"code": args}
        options = self.options(args, "expect_error", line, {"on", "code", "within"})
        return m.ExpectError(
            on=options.get("on"),
            code=str(options.get("code", "")),
            within=options.get("within"),
            line=line,
        )

    def expect_close(self, args: Any, line: int) -> m.ExpectClose:
        if not isinstance(args, Mapping):
            args = {"code": args}
        options = self.options(args, "expect_close", line, {"on", "code", "within"})
        if options.get("code") is not None:
            self.check_close_code(options["code"], args, line)
        return m.ExpectClose(
            on=options.get("on"), code=options.get("code"), within=options.get("within"), line=line
        )

    def expect_silence(self, args: Any, line: int) -> m.ExpectSilence:
        options = self.options(_on_shortcut(args), "expect_silence", line, {"on", "type", "within"})
        return m.ExpectSilence(
            on=_names(options.get("on")),
            type=self.message_type(options, "expect_silence", line),
            within=self.within(options, "expect_silence", line),
            line=line,
        )

    def expect_alive(self, args: Any, line: int) -> m.ExpectAlive:
        options = self.options(_on_shortcut(args), "expect_alive", line, {"on"})
        on = _names(options.get("on"))
        return m.ExpectAlive(on=on[0] if on else None, line=line)

    def push(self, args: Any, line: int) -> m.Push:
        options = self.options(args, "push", line, {"type", "to", "data", "replica"})
        push_type = options.get("type")
        if (
            push_type not in self.contract.messages
            or self.contract.messages[push_type].kind != "push"
        ):
            pushes = ", ".join(p.name for p in self.contract.pushes())
            raise self.fail(
                args, f"push: type {push_type!r} is not a push in the contract ({pushes})", line
            )
        data = options.get("data")
        return m.Push(
            type=push_type,
            to=str(options.get("to", "primary")),
            data=dict(data if data is not None else self.vocabulary.push_data(push_type)),
            replica=self.replica(options, "push", line),
            line=line,
        )

    def expect_push(self, args: Any, line: int) -> m.ExpectPush:
        options = self.options(_on_shortcut(args), "expect_push", line, {"on", "type", "within"})
        return m.ExpectPush(
            on=_names(options.get("on")),
            type=self.message_type(options, "expect_push", line, push=True),
            within=self.within(options, "expect_push", line),
            line=line,
        )

    def expect_no_push(self, args: Any, line: int) -> m.ExpectNoPush:
        options = self.options(_on_shortcut(args), "expect_no_push", line, {"on", "type", "within"})
        return m.ExpectNoPush(
            on=_names(options.get("on")),
            type=self.message_type(options, "expect_no_push", line, push=True),
            within=self.within(options, "expect_no_push", line),
            line=line,
        )

    def close(self, args: Any, line: int) -> m.Close:
        options = self.options(_on_shortcut(args), "close", line, {"on", "code"})
        on = _names(options.get("on"))
        code = self.number(options.get("code", 1000), "close: code", args, line, integer=True)
        return m.Close(on=on[0] if on else None, code=code, line=line)

    def wait(self, args: Any, line: int) -> m.Wait:
        return m.Wait(
            seconds=self.number(args, "wait takes a number of seconds;", args, line), line=line
        )

    def kill_replica(self, args: Any, line: int) -> m.KillReplica:
        options = self.options(
            {"replica": args} if not isinstance(args, Mapping) else args,
            "kill_replica",
            line,
            {"replica"},
        )
        replica = self.replica(options, "kill_replica", line)
        if replica is None:
            raise self.fail(
                args, "kill_replica takes the replica's index, e.g. kill_replica: 1", line
            )
        return m.KillReplica(replica=replica, line=line)

    def replica(self, options: Mapping[str, Any], keyword: str, line: int) -> int | None:
        """A replica index (0 is the first), or None when the step names none."""
        value = options.get("replica")
        if value is None:
            return None
        return int(self.number(value, f"{keyword}: replica", options, line, integer=True))

    parsers: dict[str, Callable[[_FileParser, Any, int], m.Step]] = {
        "connect": connect,
        "send": send,
        "send_text": send_text,
        "send_binary": send_binary,
        "expect": expect,
        "expect_reply": expect_reply,
        "expect_error": expect_error,
        "expect_close": expect_close,
        "expect_silence": expect_silence,
        "expect_alive": expect_alive,
        "push": push,
        "expect_push": expect_push,
        "expect_no_push": expect_no_push,
        "close": close,
        "wait": wait,
        "kill_replica": kill_replica,
    }

    # -- helpers --------------------------------------------------------------------------

    def options(self, args: Any, keyword: str, line: int, allowed: set[str]) -> Mapping[str, Any]:
        if args is None:
            return {}
        if not isinstance(args, Mapping):
            raise self.fail(
                args, f"{keyword} takes a mapping with {', '.join(sorted(allowed))}", line
            )
        unknown = set(args) - allowed
        if unknown:
            raise self.fail(
                args,
                f"{keyword}: unknown option {sorted(unknown)[0]!r}; expected {', '.join(sorted(allowed))}",
                line,
            )
        return args

    def number(self, value: Any, what: str, node: Any, line: int, integer: bool = False) -> Any:
        """A non-negative number (an int where ``integer``); booleans are not numbers."""
        kinds = int if integer else int | float
        if isinstance(value, bool) or not isinstance(value, kinds) or value < 0:
            raise self.fail(
                node, f"{what} expected a {'whole ' if integer else ''}number, not {value!r}", line
            )
        return value if integer else float(value)

    def within(self, options: Mapping[str, Any], keyword: str, line: int) -> float | None:
        value = options.get("within")
        return (
            None
            if value is None
            else self.number(value, f"{keyword}: within (seconds)", options, line)
        )

    def message_type(
        self, options: Mapping[str, Any], keyword: str, line: int, push: bool = False
    ) -> str | None:
        """A message type the contract documents (a push type where ``push``), or None."""
        name = options.get("type")
        if name is None:
            return None
        message = self.contract.messages.get(name)
        if message is None or (push and message.kind != "push"):
            if push and message is not None:
                pushes = ", ".join(p.name for p in self.contract.pushes())
                raise self.fail(options, f"{keyword}: {name!r} is not a push ({pushes})", line)
            raise self.fail(options, f"{keyword}: message {name!r} is not in the contract", line)
        return name

    def check_close_code(self, code: Any, node: Any, line: int) -> None:
        try:
            self.contract.close_code(code if isinstance(code, int) else str(code))
        except KeyError as exc:
            raise self.fail(node, str(exc.args[0]), line) from None


def replicas_needed(steps: tuple[m.Step, ...]) -> int:
    """Servers a scenario needs: one more than the highest replica it names; two to kill one
    (a run whose only server is killed proves nothing about the others)."""
    named = [
        s.replica
        for s in steps
        if isinstance(s, m.Connect | m.Push | m.KillReplica) and s.replica is not None
    ]
    kills = any(isinstance(s, m.KillReplica) for s in steps)
    return max([*(n + 1 for n in named), 2 if kills else 1])


def _fill(raw: Any, variables: Mapping[str, Any]) -> Any:
    """Put an ``each`` case's values into a step; other templates stay for run time."""
    if isinstance(raw, str):
        whole = _CASE_VARIABLE.fullmatch(raw)
        if whole and whole.group(1) in variables:
            return variables[whole.group(1)]
        return _CASE_VARIABLE.sub(lambda mt: str(variables.get(mt.group(1), mt.group(0))), raw)
    if isinstance(raw, Mapping):
        filled = type(raw)({_fill(k, variables): _fill(v, variables) for k, v in raw.items()})
        if hasattr(raw, "__line__"):
            filled.__line__ = raw.__line__  # type: ignore[attr-defined]
        return filled
    if isinstance(raw, list):
        return [_fill(item, variables) for item in raw]
    return raw


def _with_line(case: dict[str, Any], line: int) -> LineDict:
    """A generated case that still points at the line of the ``each`` case it came from."""
    lined = LineDict(case)
    lined.__line__ = line
    return lined


def _on_shortcut(args: Any) -> Any:
    """``expect_push: a`` and ``expect_push: [a, b]`` mean ``{on: ...}``; a number means ``within``."""
    if isinstance(args, str | list):
        return {"on": args}
    if isinstance(args, int | float) and not isinstance(args, bool):
        return {"within": args}
    return args


def _names(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)
