"""Load a user's Python hook named "package.module:function" (for tokens and pushes)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from harness.errors import ConfigError


def load_hook(spec: str, what: str) -> Callable[..., Any]:
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ConfigError(f"{what} hook {spec!r}: expected 'package.module:function'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"{what} hook {spec!r}: cannot import {module_name!r} ({exc})") from None
    try:
        hook = getattr(module, attribute)
    except AttributeError:
        raise ConfigError(f"{what} hook {spec!r}: {module_name} has no {attribute!r}") from None
    if not callable(hook):
        raise ConfigError(f"{what} hook {spec!r} is not callable")
    return hook
