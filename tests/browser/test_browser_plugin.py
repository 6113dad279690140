"""The browser suite as the plugin ships it: collected only with ``-m browser``; without a
Chromium it skips with the reason (before any server starts), or fails where
``WS_HARNESS_REQUIRE_SERVICES=1``; a Chromium that does not start is one error line.
No real browser is needed here."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from harness.browser.plugin import suite_dir

SUITE = "browser/test_browser.py"
QUIET = ("-p", "no:cacheprovider", "-o", "asyncio_default_fixture_loop_scope=function")


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """The shipped suite's folder alone, in process (a child pytest would spend seconds
    importing Hypothesis for the fuzz plugin)."""
    return pytester.runpytest(str(suite_dir()), *QUIET, *args)


def test_a_plain_run_leaves_the_browser_suite_out(pytester: pytest.Pytester) -> None:
    plain = pytester.runpytest("--pyargs", "harness_scenarios", *QUIET, "--co")
    assert "scenarios.yaml" in plain.stdout.str() and "test_browser.py" not in plain.stdout.str()
    chosen = _run(pytester, "--co", "-q", "-m", "browser")
    assert chosen.stdout.str().count(SUITE) == 3, chosen.stdout.str()


def test_without_chromium_the_checks_skip_with_the_reason(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WS_HARNESS_REQUIRE_SERVICES", raising=False)
    result = _run(pytester, "-m", "browser", "--ws-chromium", "/nonexistent/chromium", "-rs")
    result.assert_outcomes(skipped=3)
    assert "'/nonexistent/chromium' is not an executable" in result.stdout.str()
    assert "target ready" not in result.stdout.str()  # no server was started for nothing


def test_where_required_a_missing_chromium_fails(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WS_HARNESS_REQUIRE_SERVICES", "1")
    result = _run(pytester, "-m", "browser", "--ws-chromium", "/nonexistent/chromium")
    result.assert_outcomes(errors=3)
    assert "WS_HARNESS_REQUIRE_SERVICES=1: the browser tests must run" in result.stdout.str()


def test_a_chromium_that_does_not_start_is_one_error_line(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\necho 'Trace/breakpoint trap' >&2\nexit 133\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    result = _run(pytester, "-m", "browser", "--ws-chromium", str(fake), "--tb=short")
    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines(
        ["*ws-harness: *chromium exited with 133 before opening DevTools: Trace/breakpoint trap"]
    )
