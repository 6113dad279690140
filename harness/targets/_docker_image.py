"""Building the target image from a Dockerfile, once per content.

The image is tagged with a digest of everything that goes into it (the files of the build
context that .dockerignore lets through, the base image's id, the build stage), so a second
run with unchanged sources skips the build entirely instead of asking the engine to replay
its layer cache: that keeps start-to-ready close to the container's own start time.

Base image: ``target/Dockerfile`` takes it as the build argument BASE_IMAGE. The harness uses
the one it is given, else ``python:3.11-slim`` when the engine has it, else the locally built
``ws-harness/python-base:bookworm`` (scripts/build-base-image.sh, for machines without a
registry), else ``python:3.11-slim`` (pulled by the build).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import ConfigError, TargetError
from harness.targets._docker_engine import HARNESS, LABEL_HARNESS

if TYPE_CHECKING:
    from docker import DockerClient

DEFAULT_BASE = "python:3.11-slim"
LOCAL_BASE = "ws-harness/python-base:bookworm"
IMAGE_REPOSITORY = "ws-harness/target"
SERVER_STAGE = "server"
WHEELHOUSE = "build/docker-wheels"
_BUILD_TIMEOUT = 1800  # seconds: a first build installs every dependency
_LOG_TAIL = 30
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def find_dockerfile(dockerfile: str, search: Iterable[Path]) -> Path:
    """The Dockerfile: absolute as given, else the first of ``search``/dockerfile that exists."""
    path = Path(dockerfile)
    candidates = [path] if path.is_absolute() else [Path(root) / path for root in search]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    looked = ", ".join(str(c) for c in candidates) or dockerfile
    raise ConfigError(
        f"target.dockerfile {dockerfile!r} not found (looked in {looked}); run from the "
        "repository root, set target.dockerfile to an absolute path, or pass --ws-image IMAGE"
    )


def default_search_roots(cwd: str | None) -> list[Path]:
    """Where a relative Dockerfile path is looked up: the working dir, then the source tree."""
    import importlib.util

    roots = [Path(cwd) if cwd else Path.cwd()]
    spec = importlib.util.find_spec("target")  # the reference target's package; not imported
    if spec is not None and spec.origin:
        roots.append(Path(spec.origin).resolve().parent.parent)
    roots.append(Path(__file__).resolve().parents[2])  # a source checkout of the harness
    return roots


def choose_base(client: DockerClient, explicit: str | None) -> str:
    """The BASE_IMAGE build argument (see the module docstring for the order)."""
    if explicit:
        return explicit
    for candidate in (DEFAULT_BASE, LOCAL_BASE):
        if _image_id(client, candidate) is not None:
            return candidate
    return DEFAULT_BASE


def _image_id(client: DockerClient, name: str) -> str | None:
    from docker.errors import ImageNotFound

    try:
        return client.images.get(name).id
    except ImageNotFound:
        return None


def context_files(root: Path, dockerfile: Path) -> list[str]:
    """The files of the build context, as the engine will receive them (.dockerignore applied).

    Without a .dockerignore (e.g. an installed package whose context would be site-packages),
    only the Dockerfile's own folder and the wheelhouse are sent.
    """
    from docker.utils.build import exclude_paths

    ignore = root / ".dockerignore"
    if ignore.is_file():
        patterns = [
            line.strip()
            for line in ignore.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ]
    else:
        folder = dockerfile.parent.relative_to(root).as_posix()
        patterns = ["*", f"!{folder}", f"!{WHEELHOUSE}", "**/__pycache__", "**/*.pyc"]
    rel_dockerfile = dockerfile.relative_to(root).as_posix()
    return sorted(exclude_paths(str(root), patterns, dockerfile=rel_dockerfile))


def image_tag(root: Path, dockerfile: Path, base_id: str, stage: str | None) -> str:
    """``ws-harness/target:<digest of the context, the base image id and the stage>``."""
    digest = hashlib.sha256()
    digest.update(f"{base_id}\0{stage}\0".encode())
    for name in context_files(root, dockerfile):
        path = root / name
        if path.is_file():
            digest.update(name.encode() + b"\0")
            digest.update(path.read_bytes())
    return f"{IMAGE_REPOSITORY}:{digest.hexdigest()[:16]}"


def has_stage(dockerfile: Path, stage: str) -> bool:
    text = dockerfile.read_text(encoding="utf-8", errors="replace")
    return re.search(rf"(?im)^\s*FROM\s+\S+\s+AS\s+{re.escape(stage)}\s*$", text) is not None


def ensure_image(
    client: DockerClient,
    dockerfile: Path,
    *,
    base_image: str | None = None,
    network_mode: str | None = "host",
) -> str:
    """Build the image unless one with the same content digest exists; return its tag.

    The build context is the Dockerfile folder's parent (for target/Dockerfile: the repo root).
    """
    root = dockerfile.parent.parent
    base = choose_base(client, base_image)
    stage = SERVER_STAGE if has_stage(dockerfile, SERVER_STAGE) else None
    tag = image_tag(root, dockerfile, _image_id(client, base) or base, stage)
    if _image_id(client, tag) is not None:
        return tag
    lines: list[str] = []
    stream = client.api.build(
        path=str(root),
        dockerfile=dockerfile.relative_to(root).as_posix(),
        tag=tag,
        buildargs={"BASE_IMAGE": base},
        target=stage,
        network_mode=network_mode,
        labels={LABEL_HARNESS: HARNESS},
        rm=True,
        forcerm=True,
        decode=True,
        timeout=_BUILD_TIMEOUT,
    )
    for chunk in stream:
        if "stream" in chunk:
            lines.extend(_ANSI.sub("", chunk["stream"]).rstrip("\n").splitlines())
        if "error" in chunk:
            error = _ANSI.sub("", chunk["error"]).strip()
            tail = "\n".join([*lines[-_LOG_TAIL:], error])
            raise TargetError(
                f"building {dockerfile} (BASE_IMAGE={base}) failed: {error.splitlines()[0]}. "
                f"Hint: without a registry, run scripts/build-base-image.sh first",
                log_tail=tail,
            )
    if _image_id(client, tag) is None:
        raise TargetError(
            f"building {dockerfile} reported success but {tag} does not exist",
            log_tail="\n".join(lines[-_LOG_TAIL:]),
        )
    _prune_older(client, tag)
    return tag


def _prune_older(client: DockerClient, keep: str) -> None:
    """Remove earlier builds of the target image (each source change makes a new tag).

    Best effort and never forced: an image a running container uses stays.
    """
    from docker.errors import APIError

    for image in client.images.list(name=IMAGE_REPOSITORY):
        if keep in image.tags:
            continue
        with contextlib.suppress(APIError):
            client.images.remove(image.id)
