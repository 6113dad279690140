"""Where the bundled contract, scenarios and reference config live.

They sit in ``scenarios/`` at the top of the source tree and install as the package
``harness_scenarios``; a source checkout that was never installed still finds them.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path


def scenarios_dir() -> Path:
    """The directory holding the bundled contract, scenarios and reference config."""
    spec = importlib.util.find_spec("harness_scenarios")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(__file__).resolve().parent.parent / "scenarios"


def bundled(name: str) -> Path:
    """A file of the bundled set, e.g. ``bundled("permissions.asyncapi.yaml")``."""
    return scenarios_dir() / name


DEFAULT_CONTRACT = "permissions.asyncapi.yaml"
DEFAULT_CONFIG = "reference.config.yaml"
