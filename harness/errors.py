"""One exception base for everything the harness reports to its user.

Hierarchy::

    HarnessError                  a problem the user can fix; str() is one line saying how
    ├── ConfigError               a bad option, config file or users file
    ├── ContractError             the AsyncAPI contract cannot be loaded
    ├── ScenarioError             a scenario file is malformed (names the file and line)
    └── TargetError               the server under test cannot be started or trusted
        ├── PortInUseError        another process holds (or joined) the port
        ├── TargetExitedError     the server exited before it was ready
        ├── TargetNotReadyError   the server never answered a WebSocket handshake in time
        └── EngineUnavailableError  the Docker engine is not reachable

A test *failure* (the server broke the contract) is not an error: the scenario engine
returns it as a verdict.
"""

from __future__ import annotations


class HarnessError(Exception):
    """A problem the user can fix. The message is one line: what is wrong and what to do."""


class ConfigError(HarnessError):
    """A command-line option, ini key or config file holds a value the harness cannot use."""


class ContractError(HarnessError):
    """The contract document is missing, is not valid YAML, or misses a required field."""


class ScenarioError(HarnessError):
    """A scenario file is malformed; the message names the file, the line and the problem."""


class TargetError(HarnessError):
    """The server under test could not be started, reached, or proven to be ours.

    ``log_tail`` carries the last lines the server wrote, for the report.
    """

    def __init__(self, message: str, log_tail: str = "") -> None:
        super().__init__(message)
        self.log_tail = log_tail

    def __str__(self) -> str:
        message = super().__str__()
        if self.log_tail:
            return f"{message}\n--- last lines of the server log ---\n{self.log_tail}"
        return message


class PortInUseError(TargetError):
    """Another process listens on the port the harness was told to use (or joined it later)."""


class TargetExitedError(TargetError):
    """The server process or container exited before it answered."""


class TargetNotReadyError(TargetError):
    """The server did not complete a WebSocket handshake and first frame before the deadline."""


class EngineUnavailableError(TargetError):
    """The Docker engine is not reachable."""
