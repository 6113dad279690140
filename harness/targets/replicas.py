"""N replicas of the server sharing one Redis: what a scaled-out Channels deployment is.

A push reaches a user's connection on another process only through the shared channel layer,
so a single server can never show a deployment whose layer is wrong (one process left on the
in-memory layer, a wrong Redis URL): each replica delivers its own pushes and the server
looks fine. ``ReplicaSet`` starts (or takes, ``--ws-redis-url``) one Redis, then N replicas,
each an ordinary backend target on its own isolated port with its identity proven, and
stops them all. The app learns the Redis URL from the config's ``target.replica_env``
(``REDIS_URL: "{redis_url}"``): the harness never knows how an app names it.

``kill(i)`` ends replica ``i`` abruptly (SIGKILL, as a crash or an OOM kill would) and
``revive(i)`` starts it again on the same port, so a scenario can prove that a replica's
death costs only its own connections and the next scenario finds the set whole.

Replicas someone else runs (docker-compose's profile, a staging deployment's pods) are named
by URL (``--ws-url ws://a,ws://b``): the same set, minus Redis and kills; each replica is
proven ready, and two URLs that reach one server (by its identity's id) are refused.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import ConfigError, HarnessError, TargetError
from harness.targets.base import Target, TargetInfo
from harness.targets.ports import free_port
from harness.targets.redis import RedisServer

if TYPE_CHECKING:
    from harness.config import HarnessConfig
    from harness.targets import TargetOptions

# The placeholders a replica's environment may use.
_PLACEHOLDER = re.compile(r"\{(redis_url|replica)\}")
REDIS_PLACEHOLDER = "{redis_url}"

# ``make(index, env, port)``: an unstarted target for replica ``index`` with that environment
# (the backend's own env merged under it) on that port (0: the backend picks).
ReplicaFactory = Callable[[int, Mapping[str, str], int], Target]
UrlFactory = Callable[[str], Target]  # a started-by-someone-else server at one URL


def parse_replica_env(text: str) -> tuple[int | None, str, str]:
    """``KEY=VALUE`` (every replica) or ``N:KEY=VALUE`` (replica N) -> (N or None, KEY, VALUE)."""
    head, equals, value = text.partition("=")
    index, colon, key = head.partition(":") if ":" in head else ("", "", head)
    if not equals or not key or (colon and not index.isdigit()):
        raise ValueError(
            f"{text!r}: expected KEY=VALUE (every replica) or N:KEY=VALUE (replica N, from 0)"
        )
    return (int(index) if colon else None), key, value


def replica_environment(
    templates: Sequence[Mapping[str, str]], index: int, redis_url: str
) -> dict[str, str]:
    """The layered env templates (later wins) with {redis_url} and {replica} filled in."""
    values = {"redis_url": redis_url, "replica": str(index)}
    merged: dict[str, str] = {}
    for layer in templates:
        merged.update(layer)
    return {key: _PLACEHOLDER.sub(lambda m: values[m.group(1)], v) for key, v in merged.items()}


def check_redis_placeholder(layers: Sequence[Mapping[str, str]], source: str) -> None:
    """A replica set whose app is never told the Redis URL is N unrelated servers: refuse it."""
    if not any(REDIS_PLACEHOLDER in value for layer in layers for value in layer.values()):
        raise ConfigError(
            f"--ws-replicas: nothing tells the app where the shared Redis is; set "
            f'target.replica_env in {source} (e.g. REDIS_URL: "{REDIS_PLACEHOLDER}") or pass '
            f"--ws-replica-env REDIS_URL={REDIS_PLACEHOLDER}"
        )


class ReplicaSet(Target):
    """Redis plus ``count`` replicas; ``info`` is replica 0's, with every replica's in
    ``info.replicas``."""

    backend = "replicas"

    def __init__(
        self,
        count: int,
        make: ReplicaFactory,
        envs: Callable[[int, str], Mapping[str, str]],
        *,
        redis_url: str | None = None,
        redis: RedisServer | None = None,
        base_port: int = 0,
        id_field: str | None = None,
        killable: bool = True,
    ) -> None:
        """``redis``: started first, its URL given to ``envs``; else ``redis_url`` (a running
        Redis, or None where the replicas are someone else's). ``id_field``: the identity
        field that must differ between replicas. ``killable``: whether ``kill`` is ours."""
        super().__init__()
        if count < 1:
            raise ConfigError(f"--ws-replicas {count}: expected a whole number of at least 1")
        self.count = count
        self.killable = killable
        self._make = make
        self._envs = envs
        self._redis_url = redis_url
        self._redis = redis
        self._base_port = base_port
        self._id_field = id_field
        self._replicas: list[Target] = []
        self.killed: set[int] = set()
        # Replicas start (and revive) on these threads, which live until stop(): the process
        # backend asks Linux to end a server when the thread that started it ends (its
        # parent-death signal is per thread), so a short-lived thread would take it along.
        self._starters: ThreadPoolExecutor | None = None

    @property
    def redis_url(self) -> str:
        return self._redis_url or (self._redis.url if self._redis else "")

    def start(self) -> TargetInfo:
        if self._redis is not None:
            self._redis.start()
        url = self.redis_url
        ports = self._ports() if self.killable else [0] * self.count
        self._replicas = [self._make(i, self._envs(i, url), ports[i]) for i in range(self.count)]
        self._starters = ThreadPoolExecutor(self.count, thread_name_prefix="ws-harness-replica")
        outcomes = list(self._starters.map(_start, self._replicas))
        problems = [(i, exc) for i, exc in enumerate(outcomes) if isinstance(exc, BaseException)]
        if problems:
            index, exc = problems[0]
            where = f"replica {index} of {self.count}"
            if isinstance(exc, TargetError):
                raise type(exc)(f"{where}: {exc.args[0]}", exc.log_tail) from None
            if isinstance(exc, HarnessError):
                raise type(exc)(f"{where}: {exc}") from None
            raise exc
        return self._publish()

    def _ports(self) -> list[int]:
        """Distinct ports chosen before the replicas start in parallel (so two never race for
        one, and a revived replica comes back at the same address)."""
        if self._base_port:
            return [self._base_port + i for i in range(self.count)]
        ports: list[int] = []
        for _ in range(self.count * 20):  # bounded: the kernel rarely repeats a port at once
            port = free_port()
            if port not in ports:
                ports.append(port)
            if len(ports) == self.count:
                return ports
        raise TargetError("could not find distinct free ports on 127.0.0.1 for the replicas")

    def _publish(self) -> TargetInfo:
        infos = tuple(replica.info for replica in self._replicas)
        self._check_distinct(infos)
        first = infos[0]
        where = ", ".join(str(info.port) for info in infos)
        shared = f", sharing {self.redis_url}" if self.redis_url else ""
        self._info = replace(
            first,
            replicas=infos,
            description=f"{self.count} replicas ({first.backend}) on ports {where}{shared}",
        )
        return self._info

    def _check_distinct(self, infos: Sequence[TargetInfo]) -> None:
        """Two addresses answered by one server (a load balancer, a typo) make every
        cross-replica verdict meaningless: refuse them, naming both."""
        seen: dict[str, TargetInfo] = {}
        for info in infos:
            value = info.identity.get(self._id_field) if self._id_field else None
            if value is None:
                continue
            other = seen.setdefault(str(value), info)
            if other is not info:
                raise TargetError(
                    f"{other.ws_url} and {info.ws_url} are one server ({self._id_field} "
                    f"{value}): replicas must be distinct servers; give each its own address"
                )

    @property
    def replicas(self) -> tuple[TargetInfo, ...]:
        return self.info.replicas

    def kill(self, index: int) -> None:
        """End replica ``index`` abruptly (SIGKILL), as a crash would; ``revive`` restarts it."""
        replica = self._replica(index)
        if not self.killable:
            raise TargetError(f"replica {index} is not the harness's to kill (--ws-url)")
        self.killed.add(index)
        pid = replica.info.pid
        if replica.backend == "process" and pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)  # each replica process leads its own session
        replica.stop()  # docker: the container is removed at once

    def revive(self, index: int) -> TargetInfo:
        """Start a killed replica again at its address, identity proven as at the start;
        returns the set's info with the new process in it."""
        replica = self._replica(index)
        if self._starters is None:
            raise TargetError("the replica set is stopped; nothing to revive")
        try:
            self._starters.submit(replica.start).result()
        except HarnessError as exc:
            raise TargetError(f"replica {index} did not come back after kill: {exc}") from None
        self.killed.discard(index)
        return self._publish()

    def _replica(self, index: int) -> Target:
        if not 0 <= index < self.count:
            raise ConfigError(
                f"replica {index}: this run has replicas 0 to {self.count - 1} (--ws-replicas)"
            )
        if index >= len(self._replicas):
            raise TargetError("the replica set is not started; start() it first")
        return self._replicas[index]

    def check_still_ours(self) -> None:
        for index, replica in enumerate(self._replicas):
            if index not in self.killed:
                try:
                    replica.check_still_ours()
                except TargetError as exc:
                    raise type(exc)(f"replica {index}: {exc}") from None

    def logs(self, lines: int = 50, window: tuple[Any, Any] | None = None) -> str:
        per = max(lines // max(len(self._replicas), 1), 5)
        starts, ends = window if window is not None else ((), ())
        parts = [
            f"--- replica {i} ---\n{r.logs(per, _window_of(i, starts, ends))}"
            for i, r in enumerate(self._replicas)
        ]
        if self._redis is not None and not self._replicas:
            parts.append(f"--- redis-server ---\n{self._redis.logs(per)}")
        return "\n".join(parts)

    def log_mark(self) -> tuple[Any, ...] | None:
        """Every replica's mark; None when one cannot mark its log (docker replicas), so a
        failure's log is then labelled as the last lines, which is what it shows."""
        marks = tuple(replica.log_mark() for replica in self._replicas)
        return None if None in marks else marks

    def stop(self) -> None:
        replicas, self._replicas = self._replicas, []
        starters, self._starters = self._starters, None
        try:
            for replica in replicas:
                replica.stop()
        finally:
            if starters is not None:
                starters.shutdown(wait=False)
            if self._redis is not None:
                self._redis.stop()


def _window_of(index: int, starts: Any, ends: Any) -> tuple[Any, Any] | None:
    """Replica ``index``'s own window out of the set's (marks per replica, in order)."""
    if index < len(starts) and index < len(ends):
        return starts[index], ends[index]
    return None


def _start(target: Target) -> TargetInfo | BaseException:
    """Start one replica; its failure is returned, so every sibling still gets its chance
    (and ``stop()`` then stops those that did start)."""
    try:
        return target.start()
    except BaseException as exc:  # handed back to the caller, which raises it
        return exc


def option_problem(options: TargetOptions) -> str | None:
    """A replica option that cannot work with the others, as one line with the fix (None: ok).
    Checked when pytest starts, before any server does."""
    servers = [url for url in (options.url or "").split(",") if url.strip()]
    if options.replicas and len(servers) == 1:
        return (
            "--ws-replicas starts the replicas itself: drop --ws-url, or name every replica "
            "in it (--ws-url ws://HOST:PORT,ws://HOST:PORT2)"
        )
    if not options.replicas and (options.redis_url or options.replica_env):
        given = "--ws-redis-url" if options.redis_url else "--ws-replica-env"
        return f"{given} is for replicas the harness starts: add --ws-replicas N (2 or more)"
    return None


def make_replica_set(
    options: TargetOptions, config: HarnessConfig, make_one: Callable[[TargetOptions], Target]
) -> ReplicaSet:
    """The replica set ``options`` ask for: each replica made by ``make_one`` (the ordinary
    backend) with the replica's environment, port and log folder."""
    from harness.targets import resolve_backend

    count = options.replicas
    backend = resolve_backend(options)
    if backend == "url":
        raise ConfigError(
            "--ws-replicas starts the replicas itself: use it with --ws-backend process or "
            "docker, not with --ws-url"
        )
    network = options.docker_network
    if backend == "docker":
        if network == "publish" and not options.redis_url:
            raise ConfigError(
                "--ws-replicas with --ws-docker-network publish: the private Redis listens on "
                "127.0.0.1, which a bridged container cannot reach; use --ws-docker-network "
                "host, or --ws-redis-url with a Redis the containers reach"
            )
        network = "host" if network == "auto" else network
    strays = sorted({i for i, _, _ in options.replica_env if i is not None and i >= count})
    if strays:
        raise ConfigError(
            f"--ws-replica-env {strays[0]}:...: this run has replicas 0 to {count - 1} "
            f"(--ws-replicas {count})"
        )
    shared = {key: value for index, key, value in options.replica_env if index is None}

    def layers(index: int) -> list[Mapping[str, str]]:
        own = {key: value for i, key, value in options.replica_env if i == index}
        return [config.target.replica_env, shared, own]

    check_redis_placeholder([layer for i in range(count) for layer in layers(i)], config.source)
    base_dir = Path(options.log_dir) if options.log_dir else None

    def make(index: int, env: Mapping[str, str], port: int) -> Target:
        log_dir = str(base_dir / f"replica-{index}") if base_dir else None
        one = replace(
            options,
            replicas=0,
            env={**options.env, **env},
            port=port,
            log_dir=log_dir,
            docker_network=network,
        )
        return make_one(one)

    return ReplicaSet(
        count,
        make,
        lambda index, url: replica_environment(layers(index), index, url),
        redis_url=options.redis_url,
        redis=None if options.redis_url else RedisServer(log_dir=_redis_dir(base_dir)),
        base_port=options.port,
        id_field=_id_field(config),
    )


def url_replica_set(
    urls: Sequence[str], options: TargetOptions, config: HarnessConfig, make_one: UrlFactory
) -> ReplicaSet:
    """Replicas someone else runs (docker-compose's, a staging deployment's pods), one URL
    each: the harness proves each answers and that they are distinct servers, kills none."""
    if options.replicas and options.replicas != len(urls):
        raise ConfigError(
            f"--ws-replicas {options.replicas} but --ws-url names {len(urls)} servers; "
            "drop --ws-replicas (the URLs say how many)"
        )
    return ReplicaSet(
        len(urls),
        lambda index, env, port: make_one(urls[index]),
        lambda index, url: {},
        id_field=_id_field(config),
        killable=False,
    )


def _id_field(config: HarnessConfig) -> str | None:
    return config.target.identity.id_field if config.target.identity else None


def _redis_dir(base_dir: Path | None) -> str | None:
    return str(base_dir / "redis") if base_dir else None
