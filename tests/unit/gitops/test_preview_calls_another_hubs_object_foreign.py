"""``flotilla app diff`` (``plan_sync``) calls an object whose ``flotilla.io/hub`` label is
another hub's id foreign, as a sync would find it (the applier never takes over another
hub's object), even when its Application label is this Application's: two hubs that
deploy the same Application to one cluster. An object with this hub's id is ours: the
label is kept in the dry-run apply (the controller stamps it), so a synced object shows
no difference.

The world is ``test_preview_against_a_fake_member``'s (a real git repository, a hub and a
member as ``FakeApi``s); the hub's ``flotilla-system`` namespace carries its id (its uid).
"""

import asyncio
from pathlib import Path
from typing import Any

from flotilla.api import SYSTEM_NAMESPACE
from flotilla.api.labels import FIELD_MANAGER, HUB_LABEL
from flotilla.devfleet.binaries import find_tool
from flotilla.gitops.previewing import plan_sync
from flotilla.gitops.rendering import Tools
from tests.unit.cli.test_app_harness import APPS, HUB_SERVER, client_on

from .test_preview_against_a_fake_member import World

HUB_ID = "0e7c1d2a-this-hub-8000-000000000001"
OTHER_HUB_ID = "5b1f00d3-other-hub-8000-000000000002"
PLURALS = {"ConfigMap": "configmaps", "Secret": "secrets"}


def world_of(tmp_path: Path) -> World:
    world = World(tmp_path)
    namespace = {"apiVersion": "v1", "kind": "Namespace",
                 "metadata": {"name": SYSTEM_NAMESPACE, "uid": HUB_ID}}  # fmt: skip
    world.hub.put("/api/v1/namespaces", namespace)
    return world


def synced_by(world: World, hub_id: str) -> None:
    """The objects on the member as the controller of the hub ``hub_id`` applies them: what
    git wants, this Application's labels, and that hub's id (field manager flotilla)."""

    async def plan() -> list[dict[str, Any]]:
        async with client_on(world.hub, server=HUB_SERVER) as hub:
            item = world.hub.get(f"{APPS}/guestbook")
            assert item is not None
            done = await plan_sync(
                hub, item, cache_dir=world.cache, member=world.client,
                tools=Tools(kubectl=find_tool("kubectl"), helm=find_tool("helm")),
            )  # fmt: skip
        return [change.manifest for change in done.changes]

    manifests = asyncio.run(plan())
    assert len(manifests) == 2
    for manifest in manifests:
        meta = manifest["metadata"]
        labeled = {**manifest, "metadata": {**meta, "labels": {**meta["labels"],
                                                                HUB_LABEL: hub_id}}}  # fmt: skip
        path = f"/api/v1/namespaces/web/{PLURALS[manifest['kind']]}/{meta['name']}"
        world.member.apply(path, labeled, manager=FIELD_MANAGER, force=True)
        assert world.member.get(path)["metadata"]["labels"][HUB_LABEL] == hub_id


def test_an_object_another_hub_wrote_is_foreign(tmp_path: Path) -> None:
    world = world_of(tmp_path)
    synced_by(world, OTHER_HUB_ID)
    result = world.run("diff", "guestbook")
    assert result.exit_code == 1, result.output
    for name in ("/ConfigMap web/web-config", "/Secret web/db"):
        assert f"===== {name} ======\n# written by another hub" in result.output
    assert world.run("sync", "guestbook", "--dry-run").output.count("would fail") == 2


def test_an_object_this_hub_wrote_keeps_its_hub_label_and_is_unchanged(tmp_path: Path) -> None:
    world = world_of(tmp_path)
    synced_by(world, HUB_ID)
    result = world.run("diff", "guestbook")
    assert result.exit_code == 0, result.output
    assert result.output == ""
    dry = world.run("sync", "guestbook", "--dry-run")
    assert "would fail" not in dry.output
    rows = [line for line in dry.output.splitlines() if " web " in line]
    assert len(rows) == 2 and all("unchanged" in row for row in rows), dry.output
