"""The process backend against real processes: isolation, identity, failures, cleanup."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from harness.config import load_config
from harness.contract import load_contract
from harness.errors import PortInUseError, TargetExitedError, TargetNotReadyError
from harness.targets import TargetOptions, make_target
from harness.targets.ports import free_port, listeners

pytestmark = pytest.mark.slow


def reference_target(**options: object) -> object:
    return make_target(TargetOptions(**options), load_config(), load_contract())  # type: ignore[arg-type]


@pytest.fixture
def http_server() -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """A plain HTTP server (python -m http.server) on a free loopback port."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not listeners(port) and time.monotonic() < deadline:
        time.sleep(0.05)
    yield port, process
    process.kill()
    process.wait()


def test_reference_target_is_ours_and_stops_cleanly() -> None:
    target = reference_target()
    with target:
        info = target.info
        assert info.host == "127.0.0.1" and info.port != 8000
        assert info.identity["pid"] in {
            info.pid,
            *[c.pid for c in psutil.Process(info.pid).children(recursive=True)],
        }
        assert "target ready" in target.logs(20)
        pid = info.pid
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert not listeners(info.port)


def test_port_held_by_a_plain_http_server_is_refused_naming_it(
    http_server: tuple[int, subprocess.Popen[bytes]],
) -> None:
    port, process = http_server
    with pytest.raises(PortInUseError) as caught:
        reference_target(port=port).start()
    message = str(caught.value)
    assert f"pid {process.pid}" in message and "http.server" in message
    assert "\n" not in message  # one line


def test_a_plain_http_server_as_the_target_fails_fast_with_the_cause(tmp_path: Path) -> None:
    target = reference_target(
        command="{python} -m http.server {port} --bind {host}", log_dir=str(tmp_path)
    )
    started = time.monotonic()
    with pytest.raises(TargetNotReadyError) as caught:
        target.start()
    target.stop()
    assert time.monotonic() - started < 10
    assert "HTTP-only server" in str(caught.value)


def test_a_second_listener_on_the_port_is_named() -> None:
    with reference_target() as target:
        port = target.info.port
        family, address = (
            (socket.AF_INET6, "::1") if socket.has_ipv6 else (socket.AF_INET, "127.0.0.2")
        )
        stray = socket.socket(family, socket.SOCK_STREAM)
        try:
            stray.bind((address, port))
        except OSError:
            stray.close()
            stray = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            stray.bind(("127.0.0.2", port))
        stray.listen()
        try:
            with pytest.raises(PortInUseError) as caught:
                target.check_still_ours()
            assert f"pid {os.getpid()}" in str(caught.value)
        finally:
            stray.close()


def test_server_that_exits_at_start_fails_at_once_with_its_log(tmp_path: Path) -> None:
    command = "{python} -c \"import sys; print('boom: settings are broken'); sys.exit(3)\""
    target = reference_target(command=command, ready_timeout=30, log_dir=str(tmp_path))
    started = time.monotonic()
    with pytest.raises(TargetExitedError) as caught:
        target.start()
    assert time.monotonic() - started < 5  # not the 30 s readiness timeout
    assert "exit code 3" in str(caught.value) and "boom: settings are broken" in str(caught.value)


def test_unknown_fault_is_an_error_at_start(tmp_path: Path) -> None:
    target = reference_target(env={"TARGET_FAULTS": "no_such_fault"}, log_dir=str(tmp_path))
    with pytest.raises(TargetExitedError) as caught:
        target.start()
    assert "no_such_fault" in str(caught.value)


def test_server_dies_with_a_killed_harness(tmp_path: Path) -> None:
    """SIGKILL the process that started the server: the server must not outlive it."""
    script = tmp_path / "hold.py"
    script.write_text(
        textwrap.dedent("""
        import sys, time
        from harness.config import load_config
        from harness.contract import load_contract
        from harness.targets import TargetOptions, make_target
        target = make_target(TargetOptions(), load_config(), load_contract())
        target.start()
        print(target.info.pid, flush=True)
        time.sleep(60)
    """)
    )
    holder = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None
    server_pid = int(holder.stdout.readline())
    assert psutil.pid_exists(server_pid)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    deadline = time.monotonic() + 10
    while psutil.pid_exists(server_pid) and time.monotonic() < deadline:
        try:
            if psutil.Process(server_pid).status() == psutil.STATUS_ZOMBIE:
                break
        except psutil.NoSuchProcess:
            break
        time.sleep(0.1)
    alive = (
        psutil.pid_exists(server_pid)
        and psutil.Process(server_pid).status() != psutil.STATUS_ZOMBIE
    )
    assert not alive, "the server outlived the harness that started it"
