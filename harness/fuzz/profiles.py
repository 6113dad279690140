"""Hypothesis profiles for the fuzz suite, chosen by ``--ws-fuzz-profile`` (default ``ci``).

* ``ci``        derandomized (the same examples every run, so a red build replays exactly),
                few examples, no ``explain`` phase: the whole suite in well under 2 minutes.
                Hypothesis forbids an example database with ``derandomize``, so ci uses none;
                determinism is what makes its failures replay.
* ``thorough``  random, many examples, the example database at ``--ws-fuzz-db``: a failure
                found at night is stored and replayed first on the next run.
* ``replay``    only replays what the database holds (no generation): a quick way to check a
                fix against the failures ``thorough`` found.

``--ws-fuzz-examples N`` overrides max_examples of any profile. Profiles are registered
under the ``ws-harness-`` prefix and never loaded globally: fuzz tests take their settings
from ``current()``, so other Hypothesis tests in the session keep their own profile.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.errors import InvalidArgument

from harness.fuzz import plugin

PREFIX = "ws-harness-"
ACTIVE = PREFIX + "active"
ACTIVE_STATEFUL = PREFIX + "active-stateful"
DEFAULT_DB = ".hypothesis/ws-harness"
PROFILES = plugin.PROFILES

_QUIET = (
    HealthCheck.too_slow,
    HealthCheck.filter_too_much,
    HealthCheck.data_too_large,
    HealthCheck.large_base_example,
    HealthCheck.function_scoped_fixture,
)
_NO_EXPLAIN = (Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink)

#: Per profile: examples per payload test, runs of the state machine, steps per run.
BUDGET = {"ci": (200, 10, 15), "thorough": (1000, 100, 40), "replay": (1, 1, 15)}


def build(
    profile: str, database: str | None, examples: int | None = None, stateful: bool = False
) -> settings:
    """The settings of ``profile``; ``examples`` overrides its max_examples.

    ``stateful`` gives the state machine's budget (fewer, longer runs) instead.
    """
    if profile not in PROFILES:
        raise pytest.UsageError(
            f"--ws-fuzz-profile {profile!r}: expected one of {', '.join(PROFILES)}"
        )
    if examples is not None and examples < 1:
        raise pytest.UsageError(f"--ws-fuzz-examples {examples}: expected 1 or more examples")
    payload_examples, machine_runs, steps = BUDGET[profile]
    max_examples = machine_runs if stateful else payload_examples
    common = dict(
        max_examples=examples or max_examples,
        stateful_step_count=steps,
        deadline=None,  # network round trips vary; the driver bounds every wait itself
        suppress_health_check=_QUIET,
        print_blob=False,
    )
    if profile == "ci":
        return settings(derandomize=True, database=None, phases=_NO_EXPLAIN, **common)
    db = DirectoryBasedExampleDatabase(database or DEFAULT_DB)
    if profile == "replay":
        return settings(database=db, phases=(Phase.explicit, Phase.reuse), **common)
    return settings(database=db, **common)


def register(config: pytest.Config) -> settings:
    """Read the ``--ws-fuzz-*`` options once and register the chosen settings (pytest_configure)."""
    profile = plugin.option(config, "ws_fuzz_profile") or "ci"
    examples = plugin.option(config, "ws_fuzz_examples")
    chosen = build(profile, _database(config), int(examples) if examples else None)
    for name in PROFILES:
        settings.register_profile(PREFIX + name, build(name, _database(config)))
    settings.register_profile(ACTIVE, chosen)
    count = int(examples) if examples else None
    settings.register_profile(
        ACTIVE_STATEFUL, build(profile, _database(config), count, stateful=True)
    )
    return chosen


def current() -> settings:
    """The settings registered by ``register`` (ci's, when the plugin did not configure)."""
    return _registered(ACTIVE, stateful=False)


def stateful() -> settings:
    """The state machine's settings: the same profile, its own number of runs."""
    return _registered(ACTIVE_STATEFUL, stateful=True)


def _registered(name: str, stateful: bool) -> settings:
    """The registered profile; registered on first use when the session's plugin deferred it
    (Hypothesis is imported only by runs that fuzz)."""
    try:
        return settings.get_profile(name)
    except InvalidArgument:
        config = plugin.configured()
        if config is None:  # imported outside a configured pytest session
            return build("ci", None, stateful=stateful)
        register(config)
        return settings.get_profile(name)


def _database(config: pytest.Config) -> str:
    """``--ws-fuzz-db`` (relative to the current directory), the ini key (relative to the ini
    file), or ``.hypothesis/ws-harness`` under the rootdir."""
    given = config.getoption("ws_fuzz_db", default=None)
    if given:
        return str(Path(given).resolve())
    base = config.inipath.parent if config.inipath else config.rootpath
    return str((base / (plugin.option(config, "ws_fuzz_db") or DEFAULT_DB)).resolve())
