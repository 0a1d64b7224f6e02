"""A git repository made real on a member: automated sync, self-heal, prune, history."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.controllers import ControllerProcess, Controllers
from tests.e2e.gitops import (
    application,
    cm,
    cm_path,
    create_app,
    dest,
    member_get,
    repo,
    synced,
    wait_app,
)
from tests.e2e.localfleet import LocalFleet
from tests.e2e.waiting import eventually
from tests.gitservers import GitRepo

__all__ = ["dest", "repo"]


@pytest.fixture(scope="module")
def gitops(controllers: Controllers) -> Iterator[ControllerProcess]:
    yield controllers.start("--git-poll-interval", "5")


async def test_an_automated_application_follows_its_branch_and_prunes(
    fleet: LocalFleet, gitops: ControllerProcess, repo: GitRepo, dest: str
) -> None:
    first = repo.commit(
        {"k8s/a.yaml": cm("a", {"v": "1"}), "k8s/b.yaml": cm("b", {"v": "1"})}, "two maps"
    )
    app = application(
        "follow-" + dest[-8:], repo=repo.url_file, path="k8s", namespace=dest,
        automated={"prune": True, "selfHeal": True},
    )  # fmt: skip
    await create_app(fleet, app)
    name = app["metadata"]["name"]
    seen = await wait_app(fleet, name, lambda a: synced(a, first), what="first sync")
    assert seen["status"]["health"]["status"] == "Healthy"
    assert [h["revision"] for h in seen["status"]["history"]] == [first]
    live = await member_get(fleet, "us-east", cm_path(dest, "a"))
    assert live is not None and live["data"] == {"v": "1"}

    second = repo.commit({"k8s/a.yaml": cm("a", {"v": "2"}), "k8s/b.yaml": None}, "a=2, no b")
    await wait_app(fleet, name, lambda a: synced(a, second), what="second sync")

    async def pruned() -> bool:
        return await member_get(fleet, "us-east", cm_path(dest, "b")) is None

    await eventually(pruned, timeout=30, what="b pruned")
    live = await member_get(fleet, "us-east", cm_path(dest, "a"))
    assert live is not None and live["data"] == {"v": "2"}
    assert await member_get(fleet, "eu-west", cm_path(dest, "a")) is None
