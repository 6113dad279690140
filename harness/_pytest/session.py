"""The harness's state for one pytest session (one per xdist worker): the options read
once, the config and contract, and the target, started on first use and always stopped.

A target that cannot start fails every test that needs it with the same one-line reason
(and the server's log tail), without trying again for each test.
"""

from __future__ import annotations

import asyncio
import atexit
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.config import HarnessConfig, load_config
from harness.contract import Contract, load_contract
from harness.engine import Scenario, Verdict, run_scenario
from harness.engine.pool import ScenarioPool, default_concurrency
from harness.engine.runner import RunContext
from harness.errors import HarnessError
from harness.targets import Target, TargetOptions, make_target, resolve_backend
from harness.targets.base import TargetInfo
from harness.targets.replicas import ReplicaSet

SESSION_KEY = pytest.StashKey["HarnessSession"]()


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
    _pool: ScenarioPool | None = None
    _config: HarnessConfig | None = None
    _contract: Contract | None = None
    _target: Target | None = None
    _context: RunContext | None = None
    _failure: str | None = None
    _checked_at: float = float("-inf")  # when the last passing check_target began
    started: list[TargetInfo] = field(default_factory=list)

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
        concurrency = _option(config, "ws_concurrency")
        if hasattr(config, "workerinput"):
            # An xdist worker is handed its scenarios one by one: run each when asked.
            concurrency = 1
        return cls(
            options=options,
            config_path=_path_option(config, "ws_config"),
            contract_path=_path_option(config, "ws_contract"),
            log_lines=int(lines) if lines else 40,
            concurrency=int(concurrency) if concurrency else default_concurrency(),
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
        if self._failure is not None:
            pytest.fail(self._failure, pytrace=False)
        if self._target is None:
            target = make_target(self.options, self.config, self.contract)
            atexit.register(target.stop)  # Ctrl-C and crashes included
            try:
                target.start()
            except HarnessError as exc:
                target.stop()
                self._failure = f"ws-harness: {exc}"
                pytest.fail(self._failure, pytrace=False)
            self._target = target
            self.started.append(target.info)
        return self._target

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
            self._pool = ScenarioPool(context, self.concurrency)
            self._pool.start(planned())
        if self._pool is not None and scenario in self._pool:
            return self._pool.verdict(scenario)
        return asyncio.run(run_scenario(scenario, context))

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

    def log_tail(self) -> str:
        return self._target.logs(self.log_lines) if self._target is not None else ""

    def stop(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:  # before the server goes: scenarios still running end cleanly
            pool.stop()
        target, self._target = self._target, None
        if target is not None:
            target.stop()
