"""A git repository made real on a member: automated sync, self-heal, prune, history."""

from __future__ import annotations

from tests.e2e.controllers import ControllerProcess, later_passes
from tests.e2e.gitops import (
    application,
    cm,
    cm_path,
    condition,
    create_app,
    dest,
    gitops,
    member_get,
    repo,
    synced,
    tune,
    wait_app,
)
from tests.e2e.localfleet import LocalFleet
from tests.e2e.waiting import eventually
from tests.gitservers import GitRepo

__all__ = ["dest", "gitops", "repo"]


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


async def test_a_commit_that_removes_most_objects_waits_for_a_confirmation(
    fleet: LocalFleet, gitops: ControllerProcess, repo: GitRepo, dest: str
) -> None:
    names = ["m0", "m1", "m2", "m3"]
    first = repo.commit({f"k8s/{n}.yaml": cm(n, {"v": "1"}) for n in names}, "four maps")
    app = application(
        "guard-" + dest[-8:], repo=repo.url_file, path="k8s", namespace=dest,
        automated={"prune": True},
    )  # fmt: skip
    await create_app(fleet, app)
    name = app["metadata"]["name"]
    await wait_app(fleet, name, lambda a: synced(a, first), what="first sync")

    repo.commit({f"k8s/{n}.yaml": None for n in names[1:]}, "three of four gone")
    held = await wait_app(
        fleet, name, lambda a: condition(a, "PruneBlocked"), what="the guard holding the prune"
    )
    assert "3 of 4" in (condition(held, "PruneBlocked") or "")
    for n in names:
        assert await member_get(fleet, "us-east", cm_path(dest, n)) is not None, n

    result = fleet.flotilla("app", "confirm-prune", name)
    assert result.returncode == 0, result.stderr

    async def pruned() -> bool:
        left = [n for n in names if await member_get(fleet, "us-east", cm_path(dest, n))]
        return left == ["m0"]

    await eventually(pruned, timeout=60, what="the confirmed prune")
    await wait_app(fleet, name, lambda a: condition(a, "PruneBlocked") is None, what="released")


async def test_a_source_that_fails_prunes_nothing_and_says_why(
    fleet: LocalFleet, gitops: ControllerProcess, repo: GitRepo, dest: str
) -> None:
    first = repo.commit({"k8s/a.yaml": cm("a", {"v": "1"})}, "one map")
    app = application(
        "fails-" + dest[-8:], repo=repo.url_file, path="k8s", namespace=dest,
        automated={"prune": True, "selfHeal": True, "allowEmpty": True},
    )  # fmt: skip
    await create_app(fleet, app)
    name = app["metadata"]["name"]
    await wait_app(fleet, name, lambda a: synced(a, first), what="first sync")

    repo.commit({"k8s/a.yaml": "kind: [unclosed\n"}, "broken YAML")
    broken = await wait_app(
        fleet, name, lambda a: condition(a, "ComparisonError"), what="the render error"
    )
    assert "a.yaml" in (condition(broken, "ComparisonError") or "")
    assert broken["status"]["sync"]["status"] == "Unknown"
    live = await member_get(fleet, "us-east", cm_path(dest, "a"))
    assert live is not None and live["data"] == {"v": "1"}


async def test_ignore_differences_leaves_a_field_to_the_cluster(
    fleet: LocalFleet, gitops: ControllerProcess, repo: GitRepo, dest: str
) -> None:
    first = repo.commit({"k8s/cm.yaml": cm("tuned", {"tuned": "1", "other": "1"})}, "tuned")
    app = application(
        "ignore-" + dest[-8:], repo=repo.url_file, path="k8s", namespace=dest,
        automated={"selfHeal": True},
        options=("CreateNamespace=true", "RespectIgnoreDifferences=true"),
    )  # fmt: skip
    app["spec"]["ignoreDifferences"] = [
        {"group": "", "kind": "ConfigMap", "jsonPointers": ["/data/tuned"]}
    ]
    await create_app(fleet, app)
    name = app["metadata"]["name"]
    await wait_app(fleet, name, lambda a: synced(a, first), what="first sync")

    # Another manager takes the ignored field: no drift, nothing reverted.
    await tune(fleet, dest, "tuned")
    await later_passes(gitops, 2, of="gitops")
    seen = await wait_app(fleet, name, lambda a: synced(a, first), what="still Synced")
    assert seen["status"]["sync"]["status"] == "Synced"
    live = await member_get(fleet, "us-east", cm_path(dest, "tuned"))
    assert live is not None and live["data"]["tuned"] == "9"

    # Another field drifts: self-heal puts it back, and the ignored one keeps the cluster's.
    await tune(fleet, dest, "other")

    async def healed() -> bool:
        found = await member_get(fleet, "us-east", cm_path(dest, "tuned"))
        return found is not None and found["data"]["other"] == "1"

    await eventually(healed, timeout=30, what="other reverted by self-heal")
    live = await member_get(fleet, "us-east", cm_path(dest, "tuned"))
    assert live is not None and live["data"]["tuned"] == "9"
