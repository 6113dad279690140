"""Run many scenarios at once, each on its own connections, on one background event loop.

Why: nearly all of a conformance run is waiting (reply timeouts, the silence windows that
prove a push did not arrive, a server's slow answer to an unknown path) while the server is
idle. Scenarios are independent by construction: each opens its own connections, and
pushes are told apart by the trace the harness puts in them (``runner.TraceBook``), so one
scenario's pushes never enter another's verdict. Running them together turns the sum of the
waits into roughly the longest one.

A scenario marked ``alone`` (see ``loader.runs_alone``) runs after the others, one at a time,
with nothing else on the server. The caller (the pytest items) still takes the verdicts one
by one, in its own order, so every scenario keeps its own report.

The longest scenarios start first (``expected``: the last run's times, else what the steps
say they wait): started last, one long wait would run on alone at the end while the rest of
the slots sat empty.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Awaitable, Callable, Sequence

from harness.config import Timeouts
from harness.engine import model
from harness.engine.model import Scenario
from harness.engine.runner import RunContext, Verdict, run_scenario

_STOP_SECONDS = 10.0


# Scenarios in flight at once. They spend nearly all their time waiting, on the server or on
# a window of silence, so the bound is not the harness's cores: it keeps the server at a
# few dozen open connections, far fewer than the security suite's burst check holds (200). With 8,
# a 2-core machine ran the anonymous scenarios in two rounds of half-second waits.
DEFAULT_CONCURRENCY = 16


def waits_of(scenario: Scenario, timeouts: Timeouts) -> float:
    """The seconds a passing run of ``scenario`` must spend waiting, read from its steps:
    explicit waits and the windows in which nothing may arrive. A first guess at its length,
    before a run has measured it."""
    total = 0.0
    for step in scenario.steps:
        if isinstance(step, model.Wait):
            total += step.seconds
        elif isinstance(step, model.ExpectSilence | model.ExpectNoPush):
            total += step.within or timeouts.silence
    return total


class ScenarioPool:
    """Starts every scenario given to ``start`` and hands out their verdicts on demand."""

    def __init__(
        self,
        context: RunContext,
        concurrency: int,
        run: Callable[[Scenario, RunContext], Awaitable[Verdict]] = run_scenario,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency is at least 1")
        self.context = context
        self.concurrency = concurrency
        self._run = run
        # By identity (scenarios are values: two may be equal), holding the scenario so that
        # its id is never reused by another object while the pool lives.
        self._verdicts: dict[int, tuple[Scenario, concurrent.futures.Future[Verdict]]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._work: concurrent.futures.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None

    def start(
        self, scenarios: Sequence[Scenario], expected: Callable[[Scenario], float] | None = None
    ) -> None:
        """Begin running ``scenarios`` in the background (once), those ``expected`` to take
        longest first (ties keep their order)."""
        if self._loop is not None:
            raise RuntimeError("the pool has already started")
        for scenario in scenarios:
            self._verdicts[id(scenario)] = (scenario, concurrent.futures.Future())
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="ws-harness-scenarios", daemon=True
        )
        self._thread.start()
        if expected is not None:
            scenarios = sorted(scenarios, key=expected, reverse=True)
        self._work = asyncio.run_coroutine_threadsafe(self._run_all(scenarios), self._loop)

    def __contains__(self, scenario: Scenario) -> bool:
        entry = self._verdicts.get(id(scenario))
        return entry is not None and entry[0] is scenario

    def verdict(self, scenario: Scenario) -> Verdict:
        """The verdict of a started scenario, waiting for it if it is still running."""
        return self._verdicts[id(scenario)][1].result()

    def stop(self) -> None:
        """Cancel what is still running (a run stopped early by -x or Ctrl-C) and end the loop."""
        loop, thread, self._loop = self._loop, self._thread, None
        if loop is None or thread is None:
            return
        if self._work is not None and not self._work.done():
            # Cancel inside the loop and wait, so cancelled scenarios close their connections.
            ending = asyncio.run_coroutine_threadsafe(self._cancel(), loop)
            with contextlib.suppress(concurrent.futures.TimeoutError):
                ending.result(_STOP_SECONDS)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(_STOP_SECONDS)
        if not thread.is_alive():
            loop.close()

    async def _cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run_all(self, scenarios: Sequence[Scenario]) -> None:
        self._task = asyncio.current_task()
        slots = asyncio.Semaphore(self.concurrency)

        async def run(scenario: Scenario) -> None:
            async with slots:
                await self._run_one(scenario)

        await asyncio.gather(*(run(s) for s in scenarios if not s.alone))
        for scenario in scenarios:
            if scenario.alone:
                await self._run_one(scenario)

    async def _run_one(self, scenario: Scenario) -> None:
        _, future = self._verdicts[id(scenario)]
        try:
            future.set_result(await self._run(scenario, self.context))
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:  # a harness bug: the item that waits for it reports it
            future.set_exception(exc)
