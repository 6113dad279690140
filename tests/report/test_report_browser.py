"""The HTML report in a real headless Chromium (Debian's package), over the DevTools protocol:
it renders from the file alone, the matrix is there with the run's colours, a click on a
failing cell opens that scenario's transcript, and a screenshot shows it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import HEIGHT, WIDTH, Browser, chromium_binary, count_colour, png_pixels
from report_support import ReportRun

pytestmark = [pytest.mark.slow, pytest.mark.browser]

RED, GREEN = (0xD2, 0x30, 0x2C), (0x2E, 0x9B, 0x48)  # --fail and --pass in the page's CSS


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    binary = chromium_binary()
    chromium = Browser(binary, tmp_path_factory.mktemp("chromium-profile"))
    chromium.send("Network.enable", page=True)
    yield chromium
    chromium.close()


@pytest.fixture
def page(browser: Browser, failing_run: ReportRun) -> Browser:
    browser.open(failing_run.html.as_uri())
    return browser


def test_the_page_renders_the_matrix_from_the_file_alone(
    page: Browser, failing_run: ReportRun
) -> None:
    data = failing_run.data
    assert page.evaluate("document.title").startswith("ws-harness report: exit 1")
    assert page.evaluate("document.querySelector('#exit-code b').textContent") == "exit 1"
    shown = page.evaluate(
        "[...document.querySelectorAll('#matrix td.cell')].filter(td => td.offsetWidth > 0)"
        ".map(td => td.className)"
    )
    expected = [f"cell {cell['status']}" for cell in data["matrix"]["cells"]]
    assert sorted(shown) == sorted(expected)
    requests = [
        event["params"]["request"]["url"]
        for event in page.events
        if event.get("method") == "Network.requestWillBeSent"
    ]
    assert requests and all(url.startswith("file://") for url in requests), requests


def test_clicking_a_failing_cell_opens_its_transcript(
    page: Browser, failing_run: ReportRun
) -> None:
    tests = {test["id"]: test for test in failing_run.data["tests"]}
    ids = page.evaluate("document.querySelector('#matrix td.cell.failed').dataset.tests").split()
    first = tests[ids[0]]
    assert first["outcome"] == "failed"
    assert page.evaluate(f"document.getElementById('{ids[0]}').open") is False
    assert page.evaluate("document.getElementById('cell-panel').hidden") is True

    page.click("#matrix td.cell.failed")

    assert page.evaluate(f"document.getElementById('{ids[0]}').open") is True
    rows = page.evaluate(
        f"[...document.querySelectorAll('#{ids[0]} table.frames tr')]"
        ".filter(tr => tr.offsetHeight > 0).map(tr => tr.innerText)"
    )
    assert len(rows) == len(first["frames"])
    assert any("heartbeat" in row for row in rows)
    failure = page.evaluate(f"document.querySelector('#{ids[0]} .failure').innerText")
    assert first["failure"]["title"] in failure and "Received: nothing" in failure
    log = page.evaluate(f"document.querySelector('#{ids[0]} pre.log').innerText")
    assert "heartbeat" in log  # the server's lines while the scenario ran
    listed = page.evaluate("document.getElementById('cell-tests').innerText")
    assert first["name"] in listed
    assert page.evaluate("document.getElementById('cell-panel').hidden") is False
    # the opened scenario is scrolled into view
    assert (
        0
        <= page.evaluate(f"document.getElementById('{ids[0]}').getBoundingClientRect().top")
        < HEIGHT
    )


def test_a_screenshot_shows_the_report(
    page: Browser, browser: Browser, tmp_path: Path, failing_run: ReportRun
) -> None:
    shot = page.screenshot(tmp_path / "report.png")
    width, height, _ = png_pixels(page.screenshot(tmp_path / "matrix.png", "#matrix"))
    matrix = (tmp_path / "matrix.png").read_bytes()
    assert (tmp_path / "report.png").stat().st_size == len(shot)
    cells = failing_run.data["matrix"]["cells"]
    failed = sum(cell["status"] == "failed" for cell in cells)
    # each cell is at least 40 x 15 pixels of its colour
    assert count_colour(matrix, RED) >= failed * 600
    assert count_colour(matrix, GREEN) >= (len(cells) - failed) * 600
    assert shot[:8] == b"\x89PNG\r\n\x1a\n"
    assert width > 200 and height > 40
    browser.open("about:blank")
    blank = browser.screenshot(tmp_path / "blank.png")
    assert len(shot) > 5 * len(blank), (len(shot), len(blank))
    assert (int.from_bytes(shot[16:20], "big"), int.from_bytes(shot[20:24], "big")) == (
        WIDTH,
        HEIGHT,
    )
