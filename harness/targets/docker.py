"""The docker backend: build (or take) an image and run the target in a container.

Through the ``docker`` SDK, never the CLI. Sequence of ``start()``:

1. connect (one-line EngineUnavailableError when no engine answers);
2. remove orphans: harness containers whose owner process is gone (see ``_docker_engine``);
3. build ``target.dockerfile`` unless an image of the same content exists, or take --ws-image;
4. create the container with owner labels, then start it (created first, so a Ctrl-C between
   the two still finds it by name in ``stop()``);
5. wait with ``wait_until_ready``: one deadline, and an exited container fails at once with
   its exit code and log tail.

Network modes (``TargetOptions.docker_network``):

- ``host``: the container shares the host's network; the server binds the harness's host
  (127.0.0.1) and a free port it picked. Works where the engine has no bridge (dockerd
  ``--bridge=none --iptables=false``, as on this project's CI) and traffic never leaves
  loopback.
- ``publish``: the server binds 0.0.0.0:8000 inside the container and the engine publishes
  it on a random port of 127.0.0.1: the portable choice on Docker Desktop and ordinary CI.
- ``auto`` (the default): ``publish`` where the engine has a bridge network, ``host`` where
  it has none (then publishing is impossible).

The image must start the server from the environment variables HOST and PORT (the reference
target/Dockerfile does); ``--ws-command`` replaces the image's command instead, with the
placeholders {python} (= ``python``), {host} and {port}.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import psutil

from harness.config import HarnessConfig
from harness.errors import ConfigError, PortInUseError, TargetError
from harness.targets._docker_engine import (
    Owner,
    connect,
    engine_problem,
    reap_orphans,
    remove_container,
)
from harness.targets._docker_image import default_search_roots, ensure_image, find_dockerfile
from harness.targets.base import Target, TargetInfo
from harness.targets.ports import free_port, listeners, process_tree
from harness.targets.readiness import (
    ReadinessProbe,
    check_listeners,
    verify_identity,
    wait_until_ready,
)

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.containers import Container

    from harness.targets import TargetOptions

__all__ = ["BASE_IMAGE_ENV", "DockerTarget", "engine_problem"]

BASE_IMAGE_ENV = "WS_HARNESS_BASE_IMAGE"  # read once, when a DockerTarget is made
CONTAINER_PORT = 8000  # publish mode: where the server listens inside the container
_STOP_GRACE = 3  # seconds between SIGTERM and SIGKILL
_LOG_LINES = 50


def choose_network(client: DockerClient) -> str:
    """``publish`` (portable) when the engine has a bridge network to publish from, else ``host``."""
    try:
        bridges = client.networks.list(names=["bridge"])
    except Exception:
        return "host"
    return "publish" if bridges else "host"


class DockerTarget(Target):
    """The target server in a container, on an isolated port, removed at the end."""

    backend = "docker"

    def __init__(
        self,
        *,
        options: TargetOptions,
        config: HarnessConfig,
        probe: ReadinessProbe,
        ready_timeout: float = 30.0,
        run_id: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        environ = os.environ if environ is None else environ
        self.options = options
        self.config = config
        self.probe = probe
        self.ready_timeout = ready_timeout
        self.network = options.docker_network
        if self.network not in ("auto", "host", "publish"):
            raise ConfigError(
                f"--ws-docker-network {self.network!r}: expected 'auto', 'host' or 'publish'"
            )
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.image = options.image or config.target.image
        self.base_image = environ.get(BASE_IMAGE_ENV) or None
        self.environ = dict(environ)  # for DOCKER_HOST & co., read once here
        self.log_dir = Path(options.log_dir) if options.log_dir else None
        self._client: DockerClient | None = None
        self._container: Container | None = None
        self._name: str | None = None
        self._final_logs = ""

    # --- Target interface -------------------------------------------------------------

    def start(self) -> TargetInfo:
        client = self._client = connect(environ=self.environ)
        if self.network == "auto":
            self.network = choose_network(client)
        reap_orphans(client)
        image = self.image or self._build(client)
        host, port = self._address()
        self._name = f"ws-harness-{self.run_id}-{port or 'publish'}"
        container = self._container = client.containers.create(
            image,
            command=self._command(host, port),
            name=self._name,
            detach=True,
            labels=Owner.current().labels(self.run_id),
            environment=self._environment(host, port),
            **self._network_kwargs(port),
        )
        container.start()
        if self.network == "publish":
            port = self._published_port(container)
        container.reload()
        pid = container.attrs.get("State", {}).get("Pid") or None
        info = TargetInfo(
            backend=self.backend,
            host=self.options.host,
            port=port,
            pid=pid,
            description=f"docker container {container.short_id} ({image}, network {self.network})",
        )
        self._info = info
        wait_until_ready(
            info,
            self.probe,
            self.ready_timeout,
            self._exit_status,
            self.logs,
            hint="check the image's command and its HOST/PORT use, or raise --ws-ready-timeout",
        )
        self.check_still_ours()
        identity_spec = self.config.target.identity
        if identity_spec is not None:
            # The pid the server reports is in the container's pid namespace: compare the
            # instance id with the container's own log instead.
            identity = verify_identity(info, identity_spec, None, self._log_text(None))
            self._info = info = TargetInfo(**{**info.__dict__, "identity": identity})
        return info

    def stop(self) -> None:
        """Stop and remove the container; keep its last log lines for ``logs()``."""
        container, self._container = self._container, None
        client = self._client
        if container is None and client is not None and self._name is not None:
            # Interrupted (Ctrl-C) inside create(): the container may exist under our name.
            container = self._find_by_name(client, self._name)
        self._name = None
        if container is not None:
            self._final_logs = self._log_text(None, container)
            self._save_log()
            with contextlib.suppress(Exception):  # exited or gone: removal below settles it
                container.stop(timeout=_STOP_GRACE)
            remove_container(container)
        if client is not None:
            self._client = None
            client.close()

    def logs(self, lines: int = _LOG_LINES, window: tuple[Any, Any] | None = None) -> str:
        # No log_mark: a window shows the last lines (the container's log has no offsets).
        if self._container is None:
            return "\n".join(self._final_logs.splitlines()[-lines:])
        return self._log_text(lines)

    def check_still_ours(self) -> None:
        """Host network: nobody but the container's processes may listen on our port."""
        if self.network != "host" or self._container is None or self._info is None:
            return
        ours = self._container_pids()
        if ours is None:  # a remote engine: its pids are not ours to see
            return
        # psutil shows no pid for sockets of processes we may not inspect (a non-root harness
        # with a root container): count those as the container's rather than a stranger's.
        check_listeners(self._info, cast("set[int]", {*ours, None}))

    # --- pieces ----------------------------------------------------------------------

    def _build(self, client: DockerClient) -> str:
        dockerfile = self.config.target.dockerfile
        if not dockerfile:
            raise ConfigError(
                f"{self.config.source}: the docker backend needs target.dockerfile or target.image "
                "(or pass --ws-image IMAGE)"
            )
        roots = default_search_roots(self.options.cwd or self.config.target.cwd)
        path = find_dockerfile(dockerfile, roots)
        return ensure_image(
            client,
            path,
            base_image=self.base_image,
            network_mode="host" if self.network == "host" else None,
        )

    def _address(self) -> tuple[str, int]:
        """(host the server binds, port): the harness's choice for host mode, 0.0.0.0:8000 else."""
        if self.network == "publish":
            return "0.0.0.0", self.options.port
        port = self.options.port
        if port:
            held = listeners(port)
            if held:
                raise PortInUseError(
                    f"port {port} is already held by {held[0].describe()}; stop it or choose "
                    "another port (leave --ws-port unset to let the harness pick a free one)"
                )
            return self.options.host, port
        return self.options.host, free_port(self.options.host)

    def _environment(self, host: str, port: int) -> dict[str, str]:
        inner_port = CONTAINER_PORT if self.network == "publish" else port
        return {**self.config.target.env, **self.options.env, "HOST": host, "PORT": str(inner_port)}

    def _command(self, host: str, port: int) -> list[str] | None:
        """``--ws-command`` as the container's command; None keeps the image's own."""
        if not self.options.command:
            return None
        inner_port = CONTAINER_PORT if self.network == "publish" else port
        try:
            text = self.options.command.format(python="python", host=host, port=inner_port)
            return shlex.split(text)
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(
                f"start command {self.options.command!r} is malformed ({exc}); placeholders are "
                "{python}, {host} and {port}"
            ) from None

    def _network_kwargs(self, port: int) -> dict[str, Any]:
        if self.network == "host":
            return {"network_mode": "host"}
        return {"ports": {f"{CONTAINER_PORT}/tcp": (self.options.host, port or None)}}

    def _published_port(self, container: Container) -> int:
        """The host port the engine chose; it may take a moment to appear after start."""
        deadline = time.monotonic() + 5.0
        while True:
            container.reload()
            bindings = (container.attrs.get("NetworkSettings", {}).get("Ports") or {}).get(
                f"{CONTAINER_PORT}/tcp"
            )
            if bindings:
                return int(bindings[0]["HostPort"])
            status = self._exit_status()
            if status is not None or time.monotonic() > deadline:
                raise TargetError(
                    f"the engine published no port for container {container.short_id} "
                    f"({status or 'still running'}); check that it supports port publishing "
                    "or use --ws-docker-network host",
                    log_tail=self.logs(),
                )
            time.sleep(0.05)

    def _exit_status(self) -> str | None:
        """None while the container runs, else "exit code N" (what wait_until_ready expects)."""
        container = self._container
        if container is None:
            return "the container was removed"
        from docker.errors import NotFound

        try:
            container.reload()
        except NotFound:
            return "the container was removed"
        state = container.attrs.get("State", {})
        if state.get("Status") in ("created", "running", "restarting", "paused"):
            return None
        status = f"exit code {state.get('ExitCode')}"
        if state.get("OOMKilled"):
            status += ", killed: out of memory"
        if state.get("Error"):
            status += f", {state['Error']}"
        return status

    def _log_text(self, lines: int | None, container: Container | None = None) -> str:
        container = container or self._container
        if container is None:
            return self._final_logs
        try:
            raw = container.logs(stdout=True, stderr=True, tail=lines if lines else "all")
        except Exception:  # the container is gone: what we saved is all there is
            return self._final_logs
        return raw.decode("utf-8", errors="replace").rstrip("\n")

    def _save_log(self) -> None:
        """Keep the whole log under --ws-log-dir, as the process backend does, for CI pages."""
        if self.log_dir is None or not self._final_logs:
            return
        self.log_dir.mkdir(parents=True, exist_ok=True)
        (self.log_dir / "server.log").write_text(self._final_logs + "\n", encoding="utf-8")

    def _container_pids(self) -> set[int] | None:
        """Host pids of the container's processes, or None when they are not on this host."""
        assert self._container is not None
        pid = self._container.attrs.get("State", {}).get("Pid")
        if not pid or not psutil.pid_exists(pid):
            return None
        return process_tree(pid)

    @staticmethod
    def _find_by_name(client: DockerClient, name: str) -> Container | None:
        from docker.errors import NotFound

        try:
            return client.containers.get(name)
        except NotFound:
            return None
