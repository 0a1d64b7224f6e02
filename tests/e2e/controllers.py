"""Running ``flotilla controller run`` processes for end-to-end tests, with their logs kept."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.e2e.waiting import eventually


@dataclass
class ControllerProcess:
    process: subprocess.Popen[bytes]
    log: Path
    port: int = 0
    identity: str = ""

    def metrics(self) -> str:
        return httpx.get(f"http://127.0.0.1:{self.port}/metrics", timeout=5).text

    def reconciles(self, controller: str = "propagation") -> int:
        """How many reconciles ``controller`` has finished in this process."""
        found = re.findall(
            rf'^controller_runtime_reconcile_total\{{controller="{controller}",[^}}]*\}} (\S+)$',
            self.metrics(),
            flags=re.MULTILINE,
        )
        return int(sum(float(value) for value in found))

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Controllers:
    """Starts controllers; every one is stopped by ``stop_all``."""

    kubeconfig: Path
    logs: Path
    started: list[ControllerProcess] = field(default_factory=list)

    def start(self, *args: str, identity: str = "") -> ControllerProcess:
        log = self.logs / f"controller-{len(self.started)}.log"
        command = [
            sys.executable, "-m", "flotilla", "controller", "run",
            "--kubeconfig", str(self.kubeconfig), "--metrics-bind-address", "127.0.0.1:0",
            *(["--identity", identity] if identity else []), *args,
        ]  # fmt: skip
        controller = launch(command, log, identity=identity, env=dict(os.environ))
        self.started.append(controller)
        return controller

    def stop_all(self) -> None:
        for controller in self.started:
            controller.stop()


def launch(
    command: list[str],
    log: Path,
    *,
    identity: str,
    env: dict[str, str],
    cwd: Path | None = None,
) -> ControllerProcess:
    """Start a controller process and return once it serves /metrics (its port known)."""
    with log.open("wb") as handle:
        process = subprocess.Popen(
            command, stdout=handle, stderr=subprocess.STDOUT, env=env, cwd=cwd
        )
    controller = ControllerProcess(process, log, identity=identity)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = re.search(r"serving /metrics on [\d.]+:(\d+)", log.read_text())
        if found:
            controller.port = int(found.group(1))
            return controller
        if process.poll() is not None:
            raise AssertionError(f"controller exited:\n{log.read_text()}")
        time.sleep(0.1)
    controller.kill()
    raise AssertionError(f"controller did not start serving:\n{log.read_text()}")


async def later_passes(
    controller: ControllerProcess, count: int = 3, *, of: str = "propagation"
) -> None:
    """Wait until ``controller`` has finished ``count`` more reconciles of ``of`` (a
    controller's name): the signal that passes after the one a test looked at ran (instead
    of a sleep)."""
    start = controller.reconciles(of)

    async def done() -> bool:
        return controller.reconciles(of) >= start + count

    await eventually(done, timeout=60, what=f"{count} more {of} passes")
