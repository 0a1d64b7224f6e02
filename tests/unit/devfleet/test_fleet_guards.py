"""What ``Fleet`` refuses before it starts anything, checked against a fake running fleet.

The "running fleet" is a real ``sleep`` process recorded as the hub's etcd: the guards only
look at recorded processes, so no control plane is needed.
"""

import contextlib
import json
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from flotilla.devfleet import FaultAction, Fleet, FleetError, MissingBinaries, processes


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Path]:
    record = processes.spawn(["/bin/sleep", "60"], log=tmp_path / "sleep.log")
    state = {"members": 3, "processes": {"hub": {"etcd": record.to_json()}}}
    (tmp_path / "fleet.json").write_text(json.dumps(state))
    yield tmp_path
    await processes.terminate(record)


async def test_a_second_up_with_other_options_is_refused(running: Path) -> None:
    with pytest.raises(FleetError, match="runs with 3 members, not 5; run `flotilla dev down`"):
        await Fleet(running, bin_search=[]).up(members=5)


async def test_a_fault_on_an_unknown_cluster_lists_the_known_ones(running: Path) -> None:
    with pytest.raises(FleetError, match="unknown cluster 'nope'; the fleet has: hub, us-east"):
        await Fleet(running).fault("nope", FaultAction.CRASH)


async def test_a_fault_needs_a_running_fleet(tmp_path: Path) -> None:
    with pytest.raises(FleetError, match="not running; start it with `flotilla dev up`"):
        await Fleet(tmp_path).fault("us-east", FaultAction.HANG)


async def test_missing_binaries_stop_up_before_anything_starts(tmp_path: Path) -> None:
    with pytest.raises(MissingBinaries, match="make binaries"):
        await Fleet(tmp_path, bin_search=[tmp_path / "empty"]).up(members=1)
    assert not (tmp_path / "clusters").exists()


async def test_down_stops_recorded_processes(running: Path) -> None:
    assert await Fleet(running).down() == 1
    assert await Fleet(running).down() == 0


async def test_a_damaged_state_file_says_how_to_recover(tmp_path: Path) -> None:
    (tmp_path / "fleet.json").write_text("{not json")
    with pytest.raises(FleetError, match=r"damaged.*down --purge"):
        await Fleet(tmp_path).up()
    await Fleet(tmp_path).down(purge=True)
    assert not (tmp_path / "fleet.json").exists()


async def test_a_busy_port_stops_up_with_what_needs_it(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"):
        (bin_dir / name).write_text("#!/bin/sh\nexit 1\n")
        (bin_dir / name).chmod(0o755)
    (bin_dir / "kwok-stages.yaml").write_text("")
    with contextlib.ExitStack() as stack:
        try:  # the hub's etcd port; if a real fleet holds it, that is just as busy
            holder = stack.enter_context(socket.socket())
            holder.bind(("127.0.1.1", 2379))
            holder.listen()
        except OSError:
            pass
        with pytest.raises(
            FleetError, match=re.escape("port 2379 on 127.0.1.1, needed by etcd of hub")
        ):
            await Fleet(tmp_path / "state", bin_search=[bin_dir]).up(members=1)
