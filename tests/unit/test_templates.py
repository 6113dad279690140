"""harness/templates.py: ``resolve``, ``dotted`` and ``for_user``."""

from __future__ import annotations

from typing import Any

import pytest

from harness.config import UserSpec
from harness.templates import TemplateError, dotted, for_user, resolve, split

NAMESPACE: dict[str, Any] = {
    "route": "permissions",
    "user": UserSpec(name="primary", username="teacher", user_id=2, role="teacher"),
    "users": {"secondary": {"user_id": 3, "role": "student"}},
    "flag": True,
    "off": False,
    "nothing": None,
    "items": [1, 2],
}


def lookup(expression: str) -> Any:
    return dotted(NAMESPACE, expression)


def test_whole_value_keeps_its_type() -> None:
    assert resolve("${user.user_id}", lookup) == 2
    assert resolve("${flag}", lookup) is True
    assert resolve("${nothing}", lookup) is None
    assert resolve("${items}", lookup) == [1, 2]
    assert resolve("${ user.user_id }", lookup) == 2  # spaces inside the braces


def test_template_inside_a_string_is_interpolated() -> None:
    assert resolve("user ${user.user_id} on ${route}", lookup) == "user 2 on permissions"
    assert resolve("id-${users.secondary.user_id}", lookup) == "id-3"
    assert resolve("${flag}/${off}", lookup) == "true/false"
    assert resolve("[${nothing}]", lookup) == "[]"


def test_recurses_into_lists_and_mappings() -> None:
    value = {
        "data": {"userId": "${user.user_id}", "tags": ["${route}", "x-${user.role}"]},
        "${route}": 1,
    }
    assert resolve(value, lookup) == {
        "data": {"userId": 2, "tags": ["permissions", "x-teacher"]},
        "permissions": 1,
    }
    assert resolve(("${route}",), lookup) == ["permissions"]


def test_non_templates_pass_through() -> None:
    assert resolve("plain", lookup) == "plain"
    assert resolve(5, lookup) == 5
    assert resolve(None, lookup) is None
    assert resolve("$route {route}", lookup) == "$route {route}"


def test_lookup_receives_the_expression() -> None:
    seen: list[str] = []

    def record(expression: str) -> str:
        seen.append(expression)
        return "v"

    assert resolve(["${holds:grades.view}", "a ${now_ms} b"], record) == ["v", "a v b"]
    assert seen == ["holds:grades.view", "now_ms"]


def test_dotted_walks_mappings_and_attributes() -> None:
    assert dotted(NAMESPACE, "user.role") == "teacher"
    assert dotted(NAMESPACE, "users.secondary.role") == "student"
    assert dotted(NAMESPACE, "route") == "permissions"


@pytest.mark.parametrize(
    ("expression", "missing"),
    [
        ("nope", "nope"),
        ("users.ghost.user_id", "users.ghost"),
        ("user.nickname", "user.nickname"),
        ("users.secondary.user_id.more", "users.secondary.user_id.more"),
    ],
)
def test_dotted_names_the_missing_part(expression: str, missing: str) -> None:
    with pytest.raises(TemplateError) as info:
        dotted(NAMESPACE, expression)
    assert info.value.args[0] == f"${{{expression}}}: nothing named {missing!r}"


def test_template_error_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        resolve("${nope}", lookup)
    with pytest.raises(KeyError, match=r"nothing named 'users\.ghost'"):
        resolve({"a": ["x ${users.ghost.role}"]}, lookup)


def test_for_user_fills_user_fields_and_nulls_them_for_anonymous() -> None:
    from harness.config import UserSpec

    message = {"type": "connect", "data": {"userId": "${user.user_id}"}}
    assert for_user(message, UserSpec(name="p", username="u", user_id=2)) == {
        "type": "connect",
        "data": {"userId": 2},
    }
    assert for_user(message, None) == {"type": "connect", "data": {"userId": None}}
    with pytest.raises(TemplateError):
        for_user("${uuid}", None)


def test_permissions_split_by_the_roles_pattern() -> None:
    assert split("{resource}.{action}", "grades.view") == {
        "resource": "grades",
        "action": "view",
    }
    assert split("{resource}.{action}", "nodot") is None
    assert split("fixed", "fixed") is None
