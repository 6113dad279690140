"""YAML loading that remembers line numbers, so errors can say "file:line: what is wrong".

PyYAML's safe loader drops positions. We subclass it to build ``LineDict`` / ``LineList``
(plain dict / list subclasses carrying ``__line__``), which every loader in the harness
(contract, config, scenarios) uses to point at the offending line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from harness.errors import HarnessError


class LineDict(dict):
    """A mapping from a YAML file that knows the (1-based) line it started on."""

    __line__: int = 0


class LineList(list):
    """A sequence from a YAML file that knows the (1-based) line it started on."""

    __line__: int = 0


# libyaml's parser when PyYAML was built with it: scenario and contract files are parsed on
# every run, and the pure-Python parser was a fifth of a short run's start.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_SafeLoader):  # type: ignore[misc,valid-type]
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> LineDict:  # type: ignore[override]
        mapping = LineDict(super().construct_mapping(node, deep=True))
        mapping.__line__ = node.start_mark.line + 1
        return mapping

    def construct_sequence(self, node: yaml.SequenceNode, deep: bool = False) -> LineList:  # type: ignore[override]
        sequence = LineList(super().construct_sequence(node, deep=True))
        sequence.__line__ = node.start_mark.line + 1
        return sequence


# YAML 1.1 reads on/off/yes/no as booleans, so a step like {on: client} would have a key
# True. Scenario files use "on" as a word: like YAML 1.2, only true/false are booleans.
_LineLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in _SafeLoader.yaml_implicit_resolvers.items()
}
_LineLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _LineLoader.construct_mapping
)
_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _LineLoader.construct_sequence
)


def line_of(value: Any, default: int = 0) -> int:
    """The line a loaded mapping or list started on (``default`` for scalars)."""
    return getattr(value, "__line__", default)


def load_yaml(path: Path, error: type[HarnessError]) -> Any:
    """Parse ``path``; a missing file or a syntax error raises ``error`` naming file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        return yaml.load(text, Loader=_LineLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise error(f"{where}: invalid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise error(f"{path}: invalid YAML: {exc}") from None
