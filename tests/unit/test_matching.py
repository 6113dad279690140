"""harness/engine/matching.py: field paths, equality without True == 1, every operator."""

from __future__ import annotations

from typing import Any

import pytest

from harness.protocol.matching import mismatches

FRAME: dict[str, Any] = {
    "type": "connection_confirmed",
    "data": {
        "user_id": 2,
        "groups": ["role_teacher", "group_1"],
        "server_time": "2024-01-01",
        "flag": True,
        "none": None,
        "ratio": 0.5,
    },
}


def test_equal_values_match() -> None:
    assert mismatches(FRAME, {"type": "connection_confirmed", "data.user_id": 2}) == []
    assert mismatches(FRAME, {"data.groups.0": "role_teacher"}) == []
    assert mismatches(FRAME, {"data.groups": ["role_teacher", "group_1"]}) == []
    assert mismatches(FRAME, {}) == []


def test_mismatch_says_received_and_documented() -> None:
    assert mismatches(FRAME, {"data.user_id": 3}) == ["data.user_id: received 2, documented 3"]


def test_missing_field() -> None:
    assert mismatches(FRAME, {"data.nope": 1}) == [
        "data.nope: received nothing (field missing), documented 1"
    ]
    assert mismatches(FRAME, {"data.groups.5": "x"}) != []
    assert mismatches(FRAME, {"type.deeper": "x"}) != []


def test_every_mismatch_is_listed() -> None:
    assert len(mismatches(FRAME, {"type": "x", "data.user_id": 9, "data.flag": True})) == 2


@pytest.mark.parametrize(
    ("got", "want"),
    [(True, 1), (1, True), (False, 0), (0, False)],
)
def test_true_and_1_are_different(got: Any, want: Any) -> None:
    assert mismatches({"x": got}, {"x": want}) == [f"x: received {got!r}, documented {want!r}"]


def test_int_and_float_compare_equal() -> None:
    assert mismatches({"x": 1.0}, {"x": 1}) == []


def test_none_matches_null() -> None:
    assert mismatches(FRAME, {"data.none": None}) == []
    assert mismatches(FRAME, {"data.nope": None}) != []  # missing is not null


def test_contains() -> None:
    assert mismatches(FRAME, {"data.groups": {"$contains": "group_1"}}) == []
    assert mismatches(FRAME, {"data.server_time": {"$contains": "2024"}}) == []
    assert mismatches(FRAME, {"data.groups": {"$contains": "role_x"}}) == [
        "data.groups: received ['role_teacher', 'group_1'], documented a value containing 'role_x'"
    ]
    assert mismatches(FRAME, {"data.user_id": {"$contains": 2}}) != []
    assert mismatches(FRAME, {"data.nope": {"$contains": "x"}}) != []


def test_in() -> None:
    assert mismatches({"x": 0}, {"x": {"$in": [0, None]}}) == []
    assert mismatches({"x": None}, {"x": {"$in": [0, None]}}) == []
    assert mismatches({"x": 5}, {"x": {"$in": [0, None]}}) == [
        "x: received 5, documented one of [0, None]"
    ]
    assert mismatches({}, {"x": {"$in": [0, None]}}) != []
    assert mismatches({"x": False}, {"x": {"$in": [0, None]}}) != []  # False is not 0


@pytest.mark.parametrize(
    ("path", "type_name"),
    [
        ("data.server_time", "string"),
        ("data.user_id", "integer"),
        ("data.user_id", "number"),
        ("data.ratio", "number"),
        ("data.flag", "boolean"),
        ("data.groups", "array"),
        ("data", "object"),
        ("data.none", "null"),
    ],
)
def test_type_matches(path: str, type_name: str) -> None:
    assert mismatches(FRAME, {path: {"$type": type_name}}) == []


@pytest.mark.parametrize(
    ("path", "type_name"),
    [
        ("data.flag", "integer"),
        ("data.flag", "number"),
        ("data.ratio", "integer"),
        ("data.user_id", "string"),
        ("data.user_id", "boolean"),
        ("data.none", "object"),
        ("data.nope", "null"),
    ],
)
def test_type_mismatches(path: str, type_name: str) -> None:
    (problem,) = mismatches(FRAME, {path: {"$type": type_name}})
    assert problem.endswith(f"documented a value of type {type_name}")


def test_absent() -> None:
    assert mismatches(FRAME, {"data.nope": {"$absent": True}}) == []
    assert mismatches(FRAME, {"data.user_id": {"$absent": True}}) == [
        "data.user_id: received 2, documented no such field"
    ]
    assert mismatches(FRAME, {"data.user_id": {"$absent": False}}) == []
    assert mismatches(FRAME, {"data.nope": {"$absent": False}}) == [
        "data.nope: received nothing (field missing), documented a value"
    ]
    assert mismatches(FRAME, {"data.none": {"$absent": True}}) != []  # null is present


def test_not() -> None:
    assert mismatches(FRAME, {"data.user_id": {"$not": 3}}) == []
    assert mismatches(FRAME, {"data.user_id": {"$not": 2}}) == [
        "data.user_id: received 2, documented anything but 2"
    ]
    assert mismatches(FRAME, {"data.nope": {"$not": 2}}) != []  # must be present
    assert mismatches(FRAME, {"data.flag": {"$not": 1}}) == []  # True is not 1


def test_unknown_operator() -> None:
    (problem,) = mismatches(FRAME, {"data.user_id": {"$gt": 1}})
    assert (
        problem
        == "data.user_id: unknown operator '$gt'; use $contains, $in, $type, $absent or $not"
    )


def test_mapping_with_several_keys_is_a_value() -> None:
    assert mismatches({"x": {"$a": 1, "$b": 2}}, {"x": {"$a": 1, "$b": 2}}) == []


# -- bugs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("got", "want"),
    [
        ([1], [True]),
        ({"h": 1}, {"h": True}),
        ([True], {"$contains": 1}),
        ([0], {"$contains": False}),
    ],
)
def test_true_and_1_differ_inside_lists_and_mappings(got: Any, want: Any) -> None:
    assert mismatches({"x": got}, {"x": want}) != []


@pytest.mark.parametrize("want", [{"$contains": 1}, {"$in": 5}])
def test_bad_operands_give_a_mismatch(want: Any) -> None:
    assert mismatches({"x": "abc"}, {"x": want}) != []


def test_unknown_type_name_is_named() -> None:
    (problem,) = mismatches({"x": 1}, {"x": {"$type": "int"}})
    assert "unknown type" in problem
