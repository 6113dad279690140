"""ws-harness: conformance, fuzz and load testing for real-time WebSocket services.

The package is layered; data flows down, nothing flows back up::

    contract/   the protocol as data (AsyncAPI 3.0 -> an in-memory model)
    engine/     scenario files -> steps -> a verdict and a transcript (decisions free of I/O)
    client.py   the only place that speaks WebSocket; records every frame
    targets/    start a server on an isolated port, prove it is ours, keep its logs, stop it
    adapters    pytest_plugin.py + _pytest/, locust/, cli.py, doctor/

Everything a user may need to change for their own deployment (routes, field names, close
codes, users, how to get a token, how to trigger a push) is configuration, never code.

PYTEST_DONT_REWRITE: the harness reports failures itself; `python -m harness run` imports it
before pytest starts, and pytest would warn that it cannot rewrite an imported plugin.
"""

from harness.errors import HarnessError

__version__ = "0.1.0"

__all__ = ["HarnessError", "__version__"]
