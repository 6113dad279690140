"""A real browser against the server: headless Chromium over the DevTools protocol.

    cdp          the Chromium process and its DevTools connection (launch, pages, commands)
    page_socket  a WebSocket opened by a page, judged by the protocol session
    checks       same origin, signed in, foreign origin: verdicts from contract and config
    plugin       pytest: the ``browser`` marker, the ``ws_browser`` fixture, and when the
                 shipped suite (``harness_scenarios/browser``) is collected

Run the shipped checks with ``ws-harness run -m browser`` (or ``pytest --pyargs
harness_scenarios -m browser``); they need Debian's ``chromium`` package.
"""

from harness.browser.cdp import BrowserError, BrowserUnavailable, Chromium, Page, find_chromium

__all__ = ["BrowserError", "BrowserUnavailable", "Chromium", "Page", "find_chromium"]
