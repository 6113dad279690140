"""The Docker engine: connecting with one clear error, and the labels that make cleanup safe.

Every container the harness starts carries labels naming the harness, the run, and the
process that owns it (pid, its start time, the host). Any later run, or ``ws-harness clean``,
can then tell an orphan (its owner is gone: SIGKILL, a crashed CI job) from a container a
live run still uses, and remove only the orphans: the idea of testcontainers' Ryuk reaper,
without a registry image or a side process.

The ``docker`` package is imported inside the functions: it is an optional dependency
(``ws-harness[docker]``) and slow to import, and the process backend never needs it.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psutil

from harness.errors import EngineUnavailableError

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.containers import Container

HARNESS = "ws-harness"
LABEL_HARNESS = "org.ws-harness.harness"
LABEL_RUN = "org.ws-harness.run-id"
LABEL_PID = "org.ws-harness.owner-pid"
LABEL_STARTED = "org.ws-harness.owner-started"  # the owner's start time: a reused pid is not it
LABEL_HOST = "org.ws-harness.owner-host"

DEFAULT_SOCKET = "unix:///var/run/docker.sock"
ENGINE_HINT = (
    "start it (on this CI: sudo scripts/start-dockerd.sh; elsewhere: sudo systemctl start docker "
    "or Docker Desktop), point DOCKER_HOST at a running engine, or use --ws-backend process"
)
_PING_TIMEOUT = 5.0  # seconds; an engine that answers at all answers a ping in milliseconds


def connect(timeout: float = 60.0, environ: Mapping[str, str] | None = None) -> DockerClient:
    """A client for the engine at DOCKER_HOST (or the default socket), or EngineUnavailableError.

    The error is one line: where the harness looked, what went wrong, how to start an engine.
    """
    environ = os.environ if environ is None else environ
    where = environ.get("DOCKER_HOST") or DEFAULT_SOCKET
    try:
        import docker
        from docker.errors import DockerException
    except ImportError:
        raise EngineUnavailableError(
            "the docker backend needs the docker Python package: pip install 'ws-harness[docker]'"
        ) from None
    try:
        client = docker.DockerClient.from_env(timeout=int(timeout), environment=dict(environ))
        client.ping()
    except DockerException as exc:
        raise EngineUnavailableError(
            f"the Docker engine is not reachable at {where} ({_reason(exc)}); {ENGINE_HINT}"
        ) from None
    except Exception as exc:  # requests/urllib3 errors that the SDK does not wrap
        raise EngineUnavailableError(
            f"the Docker engine is not reachable at {where} ({_reason(exc)}); {ENGINE_HINT}"
        ) from None
    return client


def engine_problem(environ: Mapping[str, str] | None = None) -> str | None:
    """None when an engine answers, else the one line saying where it is not and how to start it."""
    try:
        client = connect(timeout=_PING_TIMEOUT, environ=environ)
    except EngineUnavailableError as exc:
        return str(exc)
    client.close()
    return None


def _reason(exc: BaseException) -> str:
    """The cause in a few words, without the SDK's nested reprs (the message must stay one line)."""
    text = str(exc)
    for needle, reason in (
        ("FileNotFoundError", "no engine socket there"),
        ("No such file", "no engine socket there"),
        ("ConnectionRefused", "connection refused"),
        ("Connection refused", "connection refused"),
        ("PermissionError", "permission denied: join the docker group or run as root"),
        ("Permission denied", "permission denied: join the docker group or run as root"),
        ("timed out", "timed out"),
        ("Read timed out", "timed out"),
    ):
        if needle in text:
            return reason
    first = text.splitlines()[0] if text else type(exc).__name__
    return first[:160]


@dataclass(frozen=True)
class Owner:
    """The process that owns the containers it starts: pid, its start time, and the host."""

    pid: int
    started: float
    host: str

    @classmethod
    def current(cls) -> Owner:
        started = psutil.Process().create_time()
        return cls(pid=os.getpid(), started=started, host=socket.gethostname())

    def labels(self, run_id: str) -> dict[str, str]:
        return {
            LABEL_HARNESS: HARNESS,
            LABEL_RUN: run_id,
            LABEL_PID: str(self.pid),
            LABEL_STARTED: f"{self.started:.2f}",
            LABEL_HOST: self.host,
        }


def _process_started(pid: int) -> float | None:
    """The start time of ``pid`` on this host, or None when no such process runs."""
    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return None
    except psutil.AccessDenied:
        return -1.0  # alive, owned by someone else: not ours to judge, so not an orphan


def orphan_reason(
    labels: Mapping[str, str],
    host: str,
    started_of: Callable[[int], float | None] = _process_started,
) -> str | None:
    """Why a harness container is an orphan ("owner pid 123 is gone"), or None if it is not.

    Containers started from another host are never orphans here: their owner's pids are not
    visible from this one (the reaper there will judge them).
    """
    if labels.get(LABEL_HOST) != host:
        return None
    try:
        pid = int(labels[LABEL_PID])
        started = float(labels.get(LABEL_STARTED, "nan"))
    except (KeyError, ValueError):
        return None  # not labelled by this harness version; `ws-harness clean --all` removes it
    actual = started_of(pid)
    if actual is None:
        return f"owner pid {pid} is gone"
    if actual >= 0 and started == started and abs(actual - started) > 1.0:
        return f"owner pid {pid} is gone (the pid now belongs to a newer process)"
    return None


def harness_containers(client: DockerClient) -> list[Container]:
    """Every container (running or not) that carries the harness label."""
    return list(client.containers.list(all=True, filters={"label": f"{LABEL_HARNESS}={HARNESS}"}))


def describe(container: Container) -> str:
    labels = container.labels or {}
    owner = f"owner pid {labels.get(LABEL_PID, '?')} on {labels.get(LABEL_HOST, '?')}"
    run = labels.get(LABEL_RUN, "?")
    return f"{container.name} ({container.short_id}, run {run}, {owner}, {container.status})"


def remove_container(container: Container) -> bool:
    """Force-remove (kill if running) a container; False if it was already gone."""
    from docker.errors import NotFound

    try:
        container.remove(force=True, v=True)
    except NotFound:
        return False
    except Exception as exc:  # "removal already in progress" from a concurrent reaper
        if "already in progress" in str(exc):
            return False
        raise
    return True


def reap_orphans(client: DockerClient, host: str | None = None) -> list[tuple[Any, str]]:
    """Remove the harness containers whose owner process is gone; return (container, why)."""
    host = host or socket.gethostname()
    removed = []
    for container in harness_containers(client):
        reason = orphan_reason(container.labels or {}, host)
        if reason is not None and remove_container(container):
            removed.append((container, reason))
    return removed
