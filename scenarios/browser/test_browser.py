"""A real browser's handshake (``harness.browser.checks``): each test prints its verdict and
fails when the verdict does. Run them with ``ws-harness run -m browser -rA``."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness.browser import checks
from harness.browser.cdp import Chromium
from harness.client import Transcript
from harness.engine.runner import RunContext
from harness.fuzz.security import SecurityVerdict

pytestmark = pytest.mark.browser
# ws_browser comes first in every test: without a Chromium the test skips (or fails) before
# the server is started.

Check = Callable[[RunContext, Chromium, Transcript], SecurityVerdict]


def _judge(check: Check, ctx: RunContext, browser: Chromium, transcript: Transcript) -> None:
    try:
        verdict = check(ctx, browser, transcript)
    except checks.CheckSkipped as exc:
        pytest.skip(str(exc))
    print(verdict.render())
    if not verdict.ok:
        pytest.fail(verdict.render(), pytrace=False)


def test_a_page_on_the_servers_origin_is_confirmed(
    ws_browser: Chromium, ws_run_context: RunContext, ws_transcript: Transcript
) -> None:
    _judge(checks.same_origin, ws_run_context, ws_browser, ws_transcript)


def test_a_signed_in_browser_is_confirmed_as_its_user(
    ws_browser: Chromium, ws_run_context: RunContext, ws_transcript: Transcript
) -> None:
    """The credential travels as the config says (``auth.present``): a cookie in the
    browser's jar, the query string, or a subprotocol."""
    _judge(checks.signed_in, ws_run_context, ws_browser, ws_transcript)


def test_a_page_on_a_foreign_site_is_refused(
    ws_browser: Chromium, ws_run_context: RunContext, ws_transcript: Transcript
) -> None:
    """Cross-site WebSocket hijacking: the server's origin check is the only defence."""
    _judge(checks.foreign_origin, ws_run_context, ws_browser, ws_transcript)
