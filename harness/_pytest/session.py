"""The harness's state for one pytest session (one per xdist worker): the options read
once, the config and contract, and the target, started on first use (or early, in the
background, with ``--ws-start early``) and always stopped.

A target that cannot start fails every test that needs it with the same one-line reason
(and the server's log tail), without trying again for each test.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from harness.config import HarnessConfig, load_config
from harness.contract import Contract, load_contract
from harness.engine import Scenario, Verdict, run_scenario
from harness.engine.pool import DEFAULT_CONCURRENCY, ScenarioPool, waits_of
from harness.engine.runner import RunContext
from harness.errors import HarnessError
from harness.options import start_mode
from harness.targets import Target, TargetOptions, make_target, resolve_backend
from harness.targets.base import TargetInfo
from harness.targets.replicas import ReplicaSet

SESSION_KEY = pytest.StashKey["HarnessSession"]()
# pytest's cache (.pytest_cache): each scenario's last measured seconds, so that the next run
# starts the longest first.
DURATIONS_KEY = "ws-harness/durations"


def _option(config: pytest.Config, name: str) -> Any:
    value = config.getoption(name, default=None)
    return value if value not in (None, "") else config.getini(name) or None


def _path_option(config: pytest.Config, name: str) -> str | None:
    """A path option: relative to the current directory on the command line, to the ini file's
    directory in the ini file (as pytest's own ini paths are)."""
    given = config.getoption(name, default=None)
    if given:
        return str(Path(given).resolve())
    value = config.getini(name)
    if not value:
        return None
    base = config.inipath.parent if config.inipath else config.rootpath
    return str((base / value).resolve())


@dataclass
class HarnessSession:
    options: TargetOptions
    config_path: str | None
    contract_path: str | None
    log_lines: int
    strict_frames: bool = False
    concurrency: int = 1
    start_early: bool = False  # --ws-start early: the run begins the target's start
    _pool: ScenarioPool | None = None
    _config: HarnessConfig | None = None
    _contract: Contract | None = None
    _target: Target | None = None
    _context: RunContext | None = None
    _failure: str | None = None
    _background: _BackgroundStart | None = None  # --ws-start early
    _checked_at: float = float("-inf")  # when the last passing check_target began
    started: list[TargetInfo] = field(default_factory=list)
    # Seconds per scenario ("file::name"): the last runs' (from the cache), then this run's.
    durations: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_pytest(cls, config: pytest.Config) -> HarnessSession:
        env = dict(
            item.split("=", 1)
            for item in [*config.getini("ws_env"), *config.getoption("ws_env", [])]
        )
        from harness.targets.replicas import option_problem, parse_replica_env

        try:
            replica_env = tuple(
                parse_replica_env(item)
                for item in [
                    *config.getini("ws_replica_env"),
                    *config.getoption("ws_replica_env", []),
                ]
            )
        except ValueError as exc:
            raise pytest.UsageError(f"ws_replica_env: {exc}") from None
        replicas = _option(config, "ws_replicas")
        if replicas and not str(replicas).isdigit():
            raise pytest.UsageError(f"ws_replicas {replicas!r}: expected a whole number")
        port = _option(config, "ws_port")
        timeout = _option(config, "ws_ready_timeout")
        options = TargetOptions(
            backend=_option(config, "ws_backend") or "process",
            url=_option(config, "ws_url"),
            command=_option(config, "ws_command"),
            cwd=_path_option(config, "ws_cwd"),
            env=env,
            port=int(port) if port else 0,
            ready_timeout=float(timeout) if timeout else None,
            log_dir=_path_option(config, "ws_log_dir"),
            image=_option(config, "ws_image"),
            docker_network=_option(config, "ws_docker_network") or "auto",
            replicas=int(replicas) if replicas else 0,
            redis_url=_option(config, "ws_redis_url"),
            replica_env=replica_env,
        )
        problem = option_problem(options)
        if problem is not None:
            raise pytest.UsageError(problem)
        lines = _option(config, "ws_log_lines")
        start = _option(config, "ws_start") or "lazy"
        try:
            start_mode(start)
        except argparse.ArgumentTypeError as exc:  # from the ini file: the CLI checked its own
            raise pytest.UsageError(f"ws_start: {exc}") from None
        concurrency = _option(config, "ws_concurrency")
        if hasattr(config, "workerinput"):
            # An xdist worker is handed its scenarios one by one: run each when asked.
            concurrency = 1
        return cls(
            options=options,
            config_path=_path_option(config, "ws_config"),
            contract_path=_path_option(config, "ws_contract"),
            log_lines=int(lines) if lines else 40,
            concurrency=int(concurrency) if concurrency else DEFAULT_CONCURRENCY,
            start_early=start == "early" and _runs_tests(config),
            strict_frames=bool(
                config.getoption("ws_strict_frames", False) or config.getini("ws_strict_frames")
            ),
        )

    # -- lazily loaded pieces -----------------------------------------------------------

    @property
    def config(self) -> HarnessConfig:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    @property
    def contract(self) -> Contract:
        if self._contract is None:
            self._contract = load_contract(self.contract_path or self.config.contract)
        return self._contract

    def backend(self) -> str:
        return resolve_backend(self.options)

    def target(self) -> Target:
        """The started target; fails the calling test (one line) if it cannot start."""
        crash = self._wait_for_background_start()
        if crash is not None:
            raise crash
        if self._failure is None and self._target is None:
            self._start()
        if self._failure is not None:
            pytest.fail(self._failure, pytrace=False)
        assert self._target is not None
        return self._target

    def start_in_background(self) -> None:
        """Begin the target's start on a thread, so that it overlaps pytest's own start and
        collection; the first test that needs the target waits for what is left of it. A
        start that fails is reported by that test, as a lazy start's would be."""
        if self._background is None and self._target is None and self._failure is None:
            self._background = _BackgroundStart(self._start)

    def _wait_for_background_start(self, timeout: float | None = None) -> BaseException | None:
        """Wait for the early start, if there is one; what it raised (once), if anything."""
        if self._background is None:
            return None
        return self._background.wait(timeout)

    def _start_deadline(self) -> float:
        """How long a start may take at most: its readiness wait, plus room for building an
        image or starting Redis before it."""
        ready = self.options.ready_timeout or self.config.target.ready_timeout
        return ready + 120.0

    def _start(self) -> None:
        """Start the target; a failure the harness understands becomes ``_failure``."""
        target = make_target(self.options, self.config, self.contract)
        atexit.register(target.stop)  # Ctrl-C and crashes included
        try:
            target.start()
        except HarnessError as exc:
            target.stop()
            self._failure = f"ws-harness: {exc}"
            return
        except BaseException:
            target.stop()
            raise
        self._target = target
        self.started.append(target.info)

    def run_context(self) -> RunContext:
        if self._context is None:
            target = self.target()
            self._context = RunContext.create(
                self.contract,
                self.config,
                target.info,
                strict_frames=self.strict_frames,
                replicas=target if isinstance(target, ReplicaSet) and target.killable else None,
            )
        return self._context

    def verdict(self, scenario: Scenario, planned: Callable[[], Sequence[Scenario]]) -> Verdict:
        """``scenario``'s verdict. With concurrency, the first call starts every scenario
        ``planned()`` gives (the run's remaining ones, in order); later calls collect theirs."""
        context = self.run_context()
        if self.concurrency > 1 and self._pool is None:
            self._pool = ScenarioPool(context, self.concurrency, run=self._run_marked)
            self._pool.start(planned(), self.expected_seconds)
        if self._pool is not None and scenario in self._pool:
            verdict = self._pool.verdict(scenario)
        else:
            verdict = asyncio.run(self._run_marked(scenario, context))
        if verdict.outcome in ("passed", "failed"):
            self.durations[_duration_key(scenario)] = round(verdict.seconds, 3)
        return verdict

    async def _run_marked(self, scenario: Scenario, context: RunContext) -> Verdict:
        """``run_scenario``, noting the stretch of the server's log written meanwhile: a
        failure shows those lines, not whatever the server wrote last (with scenarios running
        at once, and verdicts reported later, the last lines were often another's)."""
        target = self._target
        start = target.log_mark() if target is not None else None
        verdict = await run_scenario(scenario, context)
        if target is None or start is None:
            return verdict
        return replace(verdict, log_window=(start, target.log_mark()))

    def expected_seconds(self, scenario: Scenario) -> float:
        """How long ``scenario`` should take: its last measured time, else its own waits."""
        measured = self.durations.get(_duration_key(scenario))
        return measured if measured is not None else waits_of(scenario, self.config.timeouts)

    def load_durations(self, cache: Any) -> None:
        """The times an earlier run measured (``cache``: pytest's ``config.cache``)."""
        stored = cache.get(DURATIONS_KEY, {})
        if isinstance(stored, dict):
            self.durations.update(
                (key, float(value))
                for key, value in stored.items()
                if isinstance(value, int | float) and value >= 0
            )

    def save_durations(self, cache: Any) -> None:
        if self.durations:
            cache.set(DURATIONS_KEY, dict(sorted(self.durations.items())))

    def check_target(self, since: float | None = None) -> None:
        """The server is still alone on its port. ``since``: a check begun after that moment
        is enough (scenarios that ended together share one check, which takes ~25 ms)."""
        if self._failure is not None:
            pytest.fail(self._failure, pytrace=False)
        if (since is not None and self._checked_at >= since) or self._target is None:
            return
        began = time.monotonic()
        try:
            self._target.check_still_ours()
        except HarnessError as exc:
            self._failure = f"ws-harness: {exc}"
            pytest.fail(self._failure, pytrace=False)
        self._checked_at = began

    def log_tail(self, verdict: Verdict | None = None) -> str:
        """The server's last log lines; for a scenario's ``verdict``, the last of those it
        wrote while the scenario ran (where the backend can mark its log)."""
        if self._target is None:
            return ""
        window = verdict.log_window if verdict is not None else None
        text = self._target.logs(self.log_lines, window=window)
        if window is not None and not text:
            return "(nothing: the server wrote no log line while the scenario ran)"
        return text

    def log_heading(self, verdict: Verdict | None = None) -> str:
        """What ``log_tail(verdict)`` shows, in words, for the report's section title."""
        if verdict is not None and verdict.log_window is not None:
            return (
                f"server log while the scenario ran, last {self.log_lines} lines "
                "(scenarios running beside it write here too)"
            )
        return f"server log, last {self.log_lines} lines"

    def stop(self) -> None:
        # An early start still under way (no test needed the target) is let finish first:
        # only then is there a target to stop. Its crash, if any, no test needed to hear of.
        if self._background is not None and not self._background.done:
            self._wait_for_background_start(self._start_deadline())
        pool, self._pool = self._pool, None
        if pool is not None:  # before the server goes: scenarios still running end cleanly
            pool.stop()
        target, self._target = self._target, None
        if target is not None:
            target.stop()
        background, self._background = self._background, None
        if background is not None:
            background.release()


class _BackgroundStart:
    """Runs a target's start on its own thread, which then stays alive until released.

    Why it must stay: the process backend asks Linux to signal the server when its parent
    dies (PR_SET_PDEATHSIG), and for Linux the parent is the *thread* that started it. A
    thread that ended after the start would take the server down with it.
    """

    def __init__(self, start: Callable[[], None]) -> None:
        self._done = threading.Event()
        self._release = threading.Event()
        self._crash: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, args=(start,), name="ws-harness-target-start", daemon=True
        )
        self._thread.start()

    def _run(self, start: Callable[[], None]) -> None:
        try:
            start()
        except BaseException as exc:  # handed to the main thread by wait()
            self._crash = exc
        finally:
            self._done.set()
        self._release.wait()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> BaseException | None:
        """Wait until the start has ended; what it raised, the first time it is asked."""
        self._done.wait(timeout)
        crash, self._crash = self._crash, None
        return crash

    def release(self) -> None:
        """Let the thread end (after its target has been stopped)."""
        self._release.set()
        self._thread.join(1.0)


def _runs_tests(config: pytest.Config) -> bool:
    """Will this pytest process run tests? Not for --help, --collect-only, --fixtures and the
    like, and not in an xdist controller (its workers run them, each with its own target)."""
    option = config.option
    if any(
        getattr(option, name, False)
        for name in (
            "help",
            "version",
            "markers",
            "showfixtures",
            "show_fixtures_per_test",
            "collectonly",
            "setupplan",
        )
    ):
        return False
    in_controller = getattr(option, "dist", "no") != "no" and not hasattr(config, "workerinput")
    return not in_controller


def _duration_key(scenario: Scenario) -> str:
    return f"{scenario.file}::{scenario.name}"
