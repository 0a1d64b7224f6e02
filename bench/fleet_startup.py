"""How fast the local fleet starts and how much memory it takes.

Measures, with binaries already built:
- cold start: hub + N members from an empty state directory (new certificates, new etcd);
- restart: ``up`` after ``down`` with the data kept;
- second ``up`` on a running fleet, through the CLI as users run it (a no-op check);
- memory of every component: RSS and PSS (from /proc/PID/smaps_rollup), per cluster.

Usage: python bench/fleet_startup.py [--members 3] [--trials 3]
It needs the fleet's addresses free: stop a running dev fleet first (`flotilla dev down`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from flotilla.devfleet import Fleet


def _memory_kib(pid: int) -> tuple[int, int]:
    values = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, value, *_ = line.split()
        values[key.rstrip(":")] = int(value)
    return values["Rss"], values["Pss"]


async def _timed_up(fleet: Fleet, members: int) -> float:
    start = time.perf_counter()
    status = await fleet.up(members=members)
    elapsed = time.perf_counter() - start
    assert all(cluster.ready for cluster in status.clusters), status.to_json()
    return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=3)
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args()

    cold, warm, second = [], [], []
    memory: dict[str, dict[str, tuple[int, int]]] = {}
    for trial in range(args.trials):
        with tempfile.TemporaryDirectory(prefix="flotilla-bench-") as tmp:
            fleet = Fleet(Path(tmp))
            try:
                cold.append(await _timed_up(fleet, args.members))
                start = time.perf_counter()
                cli = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "flotilla",
                    "dev",
                    "--dir",
                    tmp,
                    "up",
                    stdout=asyncio.subprocess.DEVNULL,
                )
                assert await cli.wait() == 0
                second.append(time.perf_counter() - start)
                if trial == 0:
                    await asyncio.sleep(10)  # let start-up work settle before reading memory
                    state = json.loads((Path(tmp) / "fleet.json").read_text())
                    for cluster, components in state["processes"].items():
                        memory[cluster] = {
                            name: _memory_kib(record["pid"]) for name, record in components.items()
                        }
                await fleet.down()
                warm.append(await _timed_up(fleet, args.members))
            finally:
                await fleet.down(purge=True)

    def row(name: str, values: list[float]) -> str:
        return (
            f"{name:<28} median {statistics.median(values):6.2f} s   "
            f"min {min(values):6.2f} s   max {max(values):6.2f} s   (n={len(values)})"
        )

    print(f"fleet start-up, hub + {args.members} members")
    print(row("cold start (new state)", cold))
    print(row("restart (data kept)", warm))
    print(row("second up (CLI, no-op)", second))
    print(
        f"  ratio second up / cold start: {statistics.median(second) / statistics.median(cold):.3f}"
    )
    print()
    print(f"{'cluster':<12} {'component':<26} {'RSS MiB':>8} {'PSS MiB':>8}")
    for cluster, components in memory.items():
        total_rss = total_pss = 0
        for name, (rss, pss) in components.items():
            total_rss += rss
            total_pss += pss
            print(f"{cluster:<12} {name:<26} {rss / 1024:8.1f} {pss / 1024:8.1f}")
        print(f"{cluster:<12} {'total':<26} {total_rss / 1024:8.1f} {total_pss / 1024:8.1f}")


if __name__ == "__main__":
    asyncio.run(main())
