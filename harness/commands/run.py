"""``ws-harness run``: the bundled conformance suite, through pytest.

Equivalent to ``pytest --pyargs harness_scenarios`` plus any pytest options you add, so
``ws-harness run --ws-url ws://127.0.0.1:8000 -k anonymous`` works as you would expect.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from harness.bundled import scenarios_dir


def run(pytest_args: Sequence[str]) -> int:
    args = [str(scenarios_dir()), "-p", "no:cacheprovider", *pytest_args]
    return int(pytest.main(args))
