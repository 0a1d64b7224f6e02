import asyncio
import dataclasses
import signal
import socket
from pathlib import Path

import pytest

from flotilla.devfleet import processes
from flotilla.devfleet.processes import PortBusy, ProcessState


async def test_a_spawned_process_runs_detached_with_its_output_in_the_log(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "echo.log"
    record = processes.spawn(["/bin/sh", "-c", "echo hello; sleep 30"], log=log)
    try:
        assert processes.state(record) is ProcessState.RUNNING
        await asyncio.sleep(0.2)
        assert log.read_text() == "hello\n"
    finally:
        await processes.terminate(record)
    assert processes.state(record) is ProcessState.DEAD


async def test_stop_and_continue_are_seen(tmp_path: Path) -> None:
    record = processes.spawn(["/bin/sleep", "30"], log=tmp_path / "log")
    try:
        processes.send(record, signal.SIGSTOP)
        await asyncio.sleep(0.1)
        assert processes.state(record) is ProcessState.STOPPED
        processes.send(record, signal.SIGCONT)
        await asyncio.sleep(0.1)
        assert processes.state(record) is ProcessState.RUNNING
    finally:
        await processes.terminate(record)


async def test_a_killed_child_is_dead_not_a_zombie(tmp_path: Path) -> None:
    record = processes.spawn(["/bin/sleep", "30"], log=tmp_path / "log")
    processes.send(record, signal.SIGKILL)
    await processes.wait_dead(record, timeout=2)
    assert processes.state(record) is ProcessState.DEAD


async def test_a_reused_pid_is_never_signalled(tmp_path: Path) -> None:
    record = processes.spawn(["/bin/sleep", "30"], log=tmp_path / "log")
    try:
        impostor = dataclasses.replace(record, start_time=record.start_time + 1)
        assert processes.state(impostor) is ProcessState.DEAD
        assert processes.send(impostor, signal.SIGKILL) is False
        assert processes.state(record) is ProcessState.RUNNING
    finally:
        await processes.terminate(record)


async def test_terminate_kills_what_ignores_sigterm(tmp_path: Path) -> None:
    record = processes.spawn(
        ["/bin/sh", "-c", "trap '' TERM; while true; do sleep 0.05; done"], log=tmp_path / "log"
    )
    await asyncio.sleep(0.1)
    await processes.terminate(record, grace=0.3)
    assert processes.state(record) is ProcessState.DEAD


def test_a_busy_port_is_reported_with_what_needed_it() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.250.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(PortBusy, match=f"port {port} on 127.0.250.1, needed by etcd of x"):
            processes.check_port_free("127.0.250.1", port, owner="etcd of x")
    processes.check_port_free("127.0.250.1", port, owner="etcd of x")
