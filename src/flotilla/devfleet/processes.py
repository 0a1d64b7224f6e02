"""Starting, finding and stopping the fleet's processes by PID.

Processes are started in their own session so they outlive the command that started them,
and are recorded with their start time: a PID the kernel has since given to another program
is never signalled. A process this one started and that died is reaped here, so it is not
mistaken for a live one while it is a zombie.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import signal
import socket
import time
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any


class ProcessState(StrEnum):
    RUNNING = "running"
    STOPPED = "stopped"  # SIGSTOP: a hung component
    DEAD = "dead"


@dataclass(frozen=True)
class ProcessRecord:
    """A started process: enough to find it again and to start it again."""

    pid: int
    start_time: int
    argv: list[str]
    log: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProcessRecord:
        return cls(
            pid=int(data["pid"]),
            start_time=int(data["start_time"]),
            argv=[str(arg) for arg in data["argv"]],
            log=str(data["log"]),
        )


class PortBusy(Exception):
    """A port the fleet needs is taken by a process the fleet does not own."""


def spawn(argv: list[str], *, log: Path, env: dict[str, str] | None = None) -> ProcessRecord:
    """Start ``argv`` detached, its output appended to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
    pid = os.posix_spawn(
        argv[0],
        argv,
        env if env is not None else _child_env(),
        file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, str(log), flags, 0o644),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ],
        setsid=True,
    )
    return ProcessRecord(pid=pid, start_time=_start_time(pid) or 0, argv=argv, log=str(log))


def state(record: ProcessRecord) -> ProcessState:
    """What the recorded process is doing now."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(record.pid, os.WNOHANG)  # reap it if it is our dead child
    fields = _stat_fields(record.pid)
    if fields is None or int(fields[19]) != record.start_time:
        return ProcessState.DEAD
    if fields[0] == "Z":
        return ProcessState.DEAD
    if fields[0] in ("T", "t"):
        return ProcessState.STOPPED
    return ProcessState.RUNNING


def send(record: ProcessRecord, sig: signal.Signals) -> bool:
    """Signal the process if it is still the one recorded; False when it is gone."""
    if state(record) is ProcessState.DEAD:
        return False
    try:
        os.kill(record.pid, sig)
    except ProcessLookupError:
        return False
    return True


async def terminate(record: ProcessRecord, *, grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds; returns once it is gone."""
    send(record, signal.SIGCONT)
    if not send(record, signal.SIGTERM):
        return
    deadline = time.monotonic() + grace
    while state(record) is not ProcessState.DEAD:
        if time.monotonic() > deadline:
            send(record, signal.SIGKILL)
            deadline = time.monotonic() + grace
        await asyncio.sleep(0.05)


async def wait_dead(record: ProcessRecord, *, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while True:  # a process's end has no event to wait on: poll /proc
            if state(record) is ProcessState.DEAD:
                return
            await asyncio.sleep(0.02)


def check_port_free(address: str, port: int, *, owner: str) -> None:
    """Raise PortBusy when nothing of ours may listen on ``address:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((address, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortBusy(
                    f"port {port} on {address}, needed by {owner}, is in use by another "
                    "process; stop that process (see `ss -ltnp`) or run "
                    "`flotilla dev down` if it is an old fleet"
                ) from exc
            raise


async def wait_port_open(address: str, port: int, *, timeout: float) -> None:
    """Wait until something accepts connections on ``address:port``."""
    async with asyncio.timeout(timeout):
        while True:
            try:
                _, writer = await asyncio.open_connection(address, port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return


def _child_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "TMPDIR", "TZ")
    return {key: os.environ[key] for key in keep if key in os.environ}


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name in parentheses may hold spaces: split after its closing parenthesis.
    return raw[raw.rindex(")") + 2 :].split()


def _start_time(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None
