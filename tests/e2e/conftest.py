"""The local fleet, shared by every end-to-end test of the session.

The fleet is started once with the real CLI (``flotilla dev up``). With
``FLOTILLA_E2E_REUSE=1`` a running fleet is reused and left running afterwards, for a fast
inner loop; otherwise a fleet this session started is stopped at its end. Each test gets
namespaces of its own (``ns`` fixture), deleted afterwards on every cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from flotilla.api import ClusterName
from flotilla.devfleet import default_directory, fleet_topology
from flotilla.kube import KubeClient, NotFound, resource_path
from tests.e2e.controllers import ControllerProcess, Controllers
from tests.e2e.localfleet import LocalFleet

MEMBERS = int(os.environ.get("FLOTILLA_E2E_MEMBERS", "3"))


RUNS_LAST = "test_secrets_stay_secret.py"
"""It scans what every other test left in logs, Events and status, so it must come last."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)
    items.sort(key=lambda item: item.path.name == RUNS_LAST)  # stable: keeps the rest in order


@pytest.fixture(scope="session")
def fleet() -> Iterator[LocalFleet]:
    directory = default_directory()
    reuse = os.environ.get("FLOTILLA_E2E_REUSE") == "1"
    local = LocalFleet(directory, directory / "kubeconfig", fleet_topology(MEMBERS))
    was_running = local.cli("status", "-o", "json", check=False).stdout.count('"running"') > 0
    members = [] if (reuse and was_running) else ["--members", str(MEMBERS)]
    result = local.cli("up", *members, check=False)
    if result.returncode != 0:
        pytest.fail(f"flotilla dev up failed:\n{result.stdout}\n{result.stderr}")
    yield local
    if not reuse and not was_running:
        local.cli("down")


@pytest.fixture
async def ns(fleet: LocalFleet) -> AsyncIterator[str]:
    """A namespace name unique to the test; created on every member, deleted afterwards."""
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    for member in fleet.members:
        async with fleet.client(member.name) as client:
            await client.create(resource_path("v1", "namespaces"), body)
    yield name
    for member in fleet.members:
        async with fleet.client(member.name) as client:
            with contextlib.suppress(NotFound):
                await client.delete(resource_path("v1", "namespaces", name=name))


@pytest.fixture(scope="session")
def controller_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every controller log of the session; test_secrets_stay_secret reads them all."""
    return tmp_path_factory.mktemp("controller-logs")


@pytest.fixture(scope="module")
def controllers(fleet: LocalFleet, controller_logs: Path) -> Iterator[Controllers]:
    started = Controllers(fleet.kubeconfig, controller_logs)
    yield started
    started.stop_all()


@pytest.fixture
async def hub_ns(fleet: LocalFleet) -> AsyncIterator[str]:
    """A template namespace on the hub; its Placements and member copies go afterwards."""
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    hub = ClusterName("hub")
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    async with fleet.client(hub) as client:
        await client.create(resource_path("v1", "namespaces"), body)
    yield name
    async with fleet.client(hub) as client:
        # Placements first, on purpose: a Placement whose namespace is being deleted holds
        # its objects on members (and its finalizer) until a person confirms.
        await _delete_placements(client, name)
        with contextlib.suppress(NotFound):
            await client.delete(resource_path("v1", "namespaces", name=name))
    for member in fleet.members:
        async with fleet.client(member.name) as client:
            with contextlib.suppress(Exception):
                await client.delete(resource_path("v1", "namespaces", name=name))


@pytest.fixture(scope="module")
def propagating(controllers: Controllers) -> Iterator[ControllerProcess]:
    """A controller (health and propagation) for the tests of a module."""
    yield controllers.start()


async def _delete_placements(client: KubeClient, namespace: str) -> None:
    """Delete the namespace's Placements and wait (30 s at most) for their finalizers."""
    collection = f"/apis/flotilla.io/v1alpha1/namespaces/{namespace}/placements"
    with contextlib.suppress(NotFound):
        for item in (await client.list(collection)).get("items") or []:
            with contextlib.suppress(NotFound):
                await client.delete(f"{collection}/{item['metadata']['name']}")
    for _ in range(60):
        with contextlib.suppress(NotFound):
            if not (await client.list(collection)).get("items"):
                return
        await asyncio.sleep(0.5)
