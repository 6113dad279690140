"""Every package folder is listed in ``[tool.setuptools] packages`` of pyproject.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# (folder, the package name it installs as, folders below it that are not shipped)
SOURCES: list[tuple[str, str, tuple[str, ...]]] = [
    ("harness", "harness", ()),
    ("target", "target", ("tests",)),
    ("scenarios", "harness_scenarios", ()),
    ("locustfiles", "harness_locustfiles", ()),
]


def _declared() -> set[str]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return set(tomllib.load(file)["tool"]["setuptools"]["packages"])


def _packages(folder: str, name: str, excluded: tuple[str, ...]) -> set[str]:
    base = ROOT / folder
    if not base.is_dir():
        return set()  # not written yet
    found = set()
    for init in base.rglob("__init__.py"):
        relative = init.parent.relative_to(base)
        if relative.parts and relative.parts[0] in excluded:
            continue
        if any(part.startswith(".") or part == "__pycache__" for part in relative.parts):
            continue
        found.add(".".join((name, *relative.parts)))
    return found


@pytest.mark.parametrize(("folder", "name", "excluded"), SOURCES, ids=[s[0] for s in SOURCES])
def test_every_package_folder_is_listed(folder: str, name: str, excluded: tuple[str, ...]) -> None:
    missing = sorted(_packages(folder, name, excluded) - _declared())
    assert not missing, (
        "package folders missing from [tool.setuptools] packages in pyproject.toml: "
        f"{', '.join(missing)}; "
        "add them there, or they are left out of the wheel"
    )


def test_package_dirs_map_the_renamed_folder() -> None:
    with (ROOT / "pyproject.toml").open("rb") as file:
        setuptools = tomllib.load(file)["tool"]["setuptools"]
    assert setuptools["package-dir"]["harness_scenarios"] == "scenarios"
    assert setuptools["package-dir"]["harness_locustfiles"] == "locustfiles"


def test_bundled_locustfiles_are_in_the_wheel() -> None:
    """Every locustfile of locustfiles/ is a module of the installed package (a .py file in a
    listed package is shipped), so `ws-harness load NAME` finds it after pip install."""
    assert "harness_locustfiles" in _declared()
    assert (ROOT / "locustfiles" / "__init__.py").is_file()
    assert {p.stem for p in (ROOT / "locustfiles").glob("[!_]*.py")} >= {
        "connection_throughput",
        "heartbeat_latency",
        "push_fanout",
    }


@pytest.mark.slow
def test_the_wheel_ships_the_bundled_locustfiles(tmp_path: Path) -> None:
    """Built from a copy of the tree (the checkout's build/ is left alone): the locustfiles
    are in the wheel as harness_locustfiles, where `ws-harness load NAME` looks. ~2 s."""
    import shutil
    import subprocess
    import sys
    import zipfile

    source = tmp_path / "src"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", "build", "*.egg-info", "__pycache__", ".hypothesis", ".*_cache", ".benchmarks"
        ),
    )
    wheel_command = ["pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "."]
    subprocess.run(
        [sys.executable, "-m", *wheel_command, "-w", str(tmp_path / "dist")],
        cwd=source,
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("__init__", "connection_throughput", "heartbeat_latency", "push_fanout"):
        assert f"harness_locustfiles/{name}.py" in names
    assert "harness/commands/load.py" in names
