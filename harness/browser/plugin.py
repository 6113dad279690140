"""The browser suite's pytest hooks: its marker, its Chromium, and when it is collected.

Registered by ``harness.pytest_plugin`` in every session; nothing here starts a browser
until a test asks for ``ws_browser``.

* The shipped suite (``harness_scenarios/browser``) starts a Chromium, so a plain run
  leaves it out; it is collected when ``-m`` names ``browser`` or an argument points into it.
* ``ws_browser``: one Chromium for the session (``--ws-chromium``, else Debian's package on
  PATH). Without one the browser tests skip with the reason, or fail where the environment
  requires them (``WS_HARNESS_REQUIRE_SERVICES=1``, as CI sets); a Chromium that does not
  start is one error line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from harness._pytest.shipped import ShippedSuite
from harness.bundled import scenarios_dir

if TYPE_CHECKING:
    from harness.browser.cdp import Chromium

SUITE = "browser"  # the shipped suite's folder inside harness_scenarios
REQUIRE = "WS_HARNESS_REQUIRE_SERVICES"
_NAMED = re.compile(r"(?<![\w.])browser(?![\w.])")


def suite_dir() -> Path:
    return scenarios_dir() / SUITE


def suite_selected(config: pytest.Config) -> bool:
    """Collect the shipped suite? When ``-m`` names it or an argument points into it."""
    if _NAMED.search(str(config.getoption("markexpr", default="") or "")):
        return True
    suite = suite_dir().resolve()
    for arg in config.args:
        name = arg.split("::", 1)[0]
        if name.startswith(f"harness_scenarios.{SUITE}"):
            return True
        path = (config.invocation_params.dir / name).resolve()
        if path == suite or suite in path.parents:
            return True
    return False


def pytest_configure(config: pytest.Config) -> None:
    ShippedSuite.register(config, suite_dir(), SUITE)
    config.addinivalue_line(
        "markers",
        f"browser: drives Debian's headless chromium; skipped without it unless {REQUIRE}=1",
    )


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path == suite_dir() and not suite_selected(config):
        return True
    return None


def unavailable(reason: str) -> None:
    """Skip for ``reason`` (no browser here), or fail where the environment requires one."""
    if os.environ.get(REQUIRE) == "1":
        pytest.fail(f"{reason} ({REQUIRE}=1: the browser tests must run)", pytrace=False)
    pytest.skip(f"{reason} ({REQUIRE}=1 makes this a failure)")


@pytest.fixture(scope="session")
def ws_browser(request: pytest.FixtureRequest) -> Iterator[Chromium]:
    """One headless Chromium for the session, ended (with its process group) after it."""
    from harness.browser import checks
    from harness.browser.cdp import BrowserError, BrowserUnavailable

    binary = request.config.getoption("ws_chromium", default=None) or request.config.getini(
        "ws_chromium"
    )
    try:
        chromium = checks.launch(binary or None)
    except BrowserUnavailable as exc:
        unavailable(str(exc))
    except BrowserError as exc:
        pytest.fail(f"ws-harness: {exc}", pytrace=False)
    yield chromium
    chromium.close()
