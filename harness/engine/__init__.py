"""The scenario engine: scenario files -> steps -> a verdict plus a frame transcript.

loader.py     YAML -> Scenario objects (checked against the contract)
model.py      the steps, as frozen data
decisions.py  where to connect, which reply, whom a push goes to (pure)
matching.py   does a frame match an expectation (pure)
runner.py     drives the steps through WsClient and returns a Verdict
"""

from harness.engine.loader import load_scenarios
from harness.engine.model import Coverage, Scenario
from harness.engine.runner import Failure, RunContext, Verdict, run_scenario

__all__ = [
    "Coverage",
    "Failure",
    "RunContext",
    "Scenario",
    "Verdict",
    "load_scenarios",
    "run_scenario",
]
