"""Fault switches: ``INBOX_FAULTS=pong_silent,stale_ref`` injects known defects on purpose.

Each is caught by the harness's bundled conformance scenarios (examples/inbox/faults.yaml
says which); they exist to prove that the suite can fail against this app too.
"""

from __future__ import annotations

import os

FAULTS = {
    "pong_silent": "a ping gets no pong",
    "stale_ref": "a may_i answer carries the previous request's ref",
    "allow_everything": "every may_i is allowed, anonymous included",
    "cross_member": "a member may open another member's feed (no 4403)",
    "owner_route_open": "an anonymous client may open a member's feed (no 4401)",
    "expired_session_anonymous": "an unknown session cookie silently becomes anonymous",
    "no_team_group": "members do not join their team's group",
    "unfollow_ignored": "unfollow is confirmed but the topic keeps coming",
    "oops_without_code": "error frames lack their code",
    "crash_on_bad_json": "a frame that is not JSON closes the connection 1011",
    "welcome_twice": "every hello is answered with a welcome, not only the first",
    "no_size_limit": "frames over the 16 KiB limit are served",
}


class UnknownFault(ValueError):
    pass


def parse(text: str) -> frozenset[str]:
    names = frozenset(n.strip() for n in text.split(",") if n.strip())
    unknown = sorted(names - set(FAULTS))
    if unknown:
        raise UnknownFault(f"unknown fault(s) {', '.join(unknown)}; known: {', '.join(FAULTS)}")
    return names


ACTIVE = parse(os.environ.get("INBOX_FAULTS", ""))


def on(name: str) -> bool:
    assert name in FAULTS, name
    return name in ACTIVE
