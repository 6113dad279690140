"""harness/yamlfile.py: line numbers, YAML 1.2 booleans, errors naming file:line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from harness.errors import ConfigError, HarnessError
from harness.yamlfile import LineDict, LineList, line_of, load_yaml

Write = Callable[[str, str], Path]


def test_mappings_and_lists_know_their_line(write: Write) -> None:
    path = write(
        "a.yaml",
        """
        top: 1
        nested:
          key: value
        items:
          - first
          - {flow: mapping}
        """,
    )
    data = load_yaml(path, HarnessError)
    assert isinstance(data, LineDict)
    assert line_of(data) == 1
    assert line_of(data["nested"]) == 3
    assert isinstance(data["items"], LineList)
    assert line_of(data["items"]) == 5
    assert line_of(data["items"][1]) == 6


def test_line_of_scalars_gives_the_default() -> None:
    assert line_of("text") == 0
    assert line_of(42, default=7) == 7


def test_loaded_values_are_plain_dicts_and_lists(write: Write) -> None:
    data = load_yaml(write("a.yaml", "a: [1, 2]\nb: {c: d}\n"), HarnessError)
    assert data == {"a": [1, 2], "b": {"c": "d"}}


@pytest.mark.parametrize("word", ["on", "off", "yes", "no", "On", "YES", "y", "n"])
def test_yaml_1_1_booleans_stay_strings(write: Write, word: str) -> None:
    data = load_yaml(write("a.yaml", f"key: {word}\n{word}: value\n"), HarnessError)
    assert data["key"] == word
    assert data[word] == "value"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("true", True), ("false", False), ("True", True), ("FALSE", False)],
)
def test_true_and_false_are_booleans(write: Write, text: str, expected: bool) -> None:
    value = load_yaml(write("a.yaml", f"key: {text}\n"), HarnessError)["key"]
    assert value is expected


def test_numbers_and_null_still_resolve(write: Write) -> None:
    data = load_yaml(write("a.yaml", "i: 3\nf: 0.5\nn: null\ns: '3'\n"), HarnessError)
    assert data == {"i": 3, "f": 0.5, "n": None, "s": "3"}


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match=r"nope\.yaml: cannot read"):
        load_yaml(missing, ConfigError)


def test_syntax_error_names_file_and_line(write: Write) -> None:
    path = write("bad.yaml", "ok: 1\nfine: 2\nbroken: [1, 2\nnext: 3\n")
    with pytest.raises(HarnessError) as info:
        load_yaml(path, HarnessError)
    message = str(info.value)
    assert message.startswith(f"{path}:")
    line = int(message[len(str(path)) + 1 :].split(":", 1)[0])
    assert line >= 3
    assert "invalid YAML" in message


def test_error_class_is_the_one_given(write: Write) -> None:
    with pytest.raises(ConfigError):
        load_yaml(write("bad.yaml", "a: : b\n  - c\n"), ConfigError)
