"""Nothing of the reference service is hard-wired into harness/.

Every route, message and field name the harness uses comes from the contract or the
config. This test reads harness/'s string literals (docstrings and comments excluded) and
fails on any name of the reference permissions service, outside the two modules that load
the contract and the config (whose defaults may name the contract's conventions).
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parents[2] / "harness"
ALLOWED = {"contract/loader.py", "contract/model.py", "config.py"}

# Names only the reference service uses (its routes, message types, fields, codes).
SERVICE_NAMES = [
    "heartbeat_response",
    "connection_confirmed",
    "permission_check",
    "permission_check_response",
    "subscribe_notifications",
    "unsubscribe_notifications",
    "subscription_confirmed",
    "unsubscription_confirmed",
    "permission_changed",
    "role_updated",
    "menu_access_changed",
    "cache_invalidation",
    "system_notification",
    "data.user_id",
    "userId",
    "request_id",
    "has_permission",
    "sessionId",
    "server_time",
    "subscribed_types",
    "unsubscribed_types",
    "menuChanges",
    "cacheKeys",
    "oldRole",
    "newRole",
    "anonymous_users",
    "global_notifications",
    "permission_notifications",
    "role_updates",
    "menu_access_updates",
    "permissions_user",
    "permissions_anonymous",
    "ws/permissions",
    "api/permissions",
    "INVALID_JSON",
    "UNKNOWN_MESSAGE_TYPE",
    "missing_parameters",
    "grades",
    # ... and of the example app (examples/inbox), which the harness must not know either
    "may_i",
    "may_i_answer",
    "member_feed",
    "inbox_session",
    "inbox.deliver",
    "inbox_deliver",
    "note_shared",
    "badge_awarded",
    "live/feed",
    "live/members",
    "live/lobby",
    "NO_SUCH_KIND",
    "MISSING_FIELDS",
    "INBOX_FAULTS",
    "INBOX_REDIS_URL",
]
# Whole literals that name a reference message or field although the word alone is generic
# (``user.user_id`` is the config's own vocabulary; the literal "user_id" is a frame field).
SERVICE_LITERALS = {"heartbeat", "permissions", "notify", "user_id"}
_NAME = re.compile(
    r"(?<![A-Za-z0-9_])(" + "|".join(map(re.escape, SERVICE_NAMES)) + r")(?![A-Za-z0-9_])"
)


_STRINGS = {tokenize.STRING, getattr(tokenize, "FSTRING_START", tokenize.STRING)}  # 3.12 f-strings


def _literals(path: Path) -> list[tuple[int, str]]:
    """The file's string literals that are not docstrings, with their line numbers."""
    found = []
    previous = tokenize.NEWLINE
    tokens = list(tokenize.generate_tokens(io.StringIO(path.read_text()).readline))
    for index, token in enumerate(tokens):
        if token.type in _STRINGS:
            following = next(
                (
                    t.type
                    for t in tokens[index + 1 :]
                    if t.type not in (tokenize.NL, tokenize.COMMENT)
                ),
                tokenize.NEWLINE,
            )
            docstring = (
                previous in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING)
                and following == tokenize.NEWLINE
            )
            if not docstring:
                found.append((token.start[0], token.string))
        if token.type not in (tokenize.NL, tokenize.COMMENT):
            previous = token.type
    return found


def _offences(path: Path, vocabulary: bool = False) -> list[str]:
    """The service's names in ``path``'s literals; with ``vocabulary``, the generic words
    the file may use as its own (the config's ``user_id``, ``permissions``) are let pass."""
    offences = []
    shown = path.relative_to(HARNESS.parent) if path.is_relative_to(HARNESS.parent) else path
    for line, code in _literals(path):
        for match in _NAME.finditer(code):
            offences.append(f"{shown}:{line}: {match.group(1)}")
        for literal in () if vocabulary else SERVICE_LITERALS:
            if f'"{literal}"' in code or f"'{literal}'" in code:
                offences.append(f"{shown}:{line}: {literal!r}")
    return offences


SOURCES = sorted(p for p in HARNESS.rglob("*.py") if str(p.relative_to(HARNESS)) not in ALLOWED)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(HARNESS)))
def test_no_reference_service_name_in_harness_code(path: Path) -> None:
    offences = _offences(path)
    assert not offences, (
        "names of the reference service in harness/ code; take them from the contract or "
        "the config instead:\n" + "\n".join(offences)
    )


def test_the_config_loader_names_no_service_route_or_message() -> None:
    """The config's own vocabulary may be generic words, but its defaults name nothing of the
    reference service (a push path defaulting to its notify endpoint did)."""
    offences = _offences(HARNESS / "config.py", vocabulary=True)
    assert not offences, "\n".join(offences)


def test_the_check_sees_a_name_in_code_and_not_in_a_docstring(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        '"""Mentions user_id in prose."""\n'
        "def f():\n"
        '    """And request_id here."""\n'
        '    return {"user_id": 1}  # comment with sessionId\n'
        'X = "heartbeat"\n'
    )
    found = [text for _, text in _literals(sample)]
    assert found == ['"user_id"', '"heartbeat"']
    assert len(_offences(sample)) == 2
