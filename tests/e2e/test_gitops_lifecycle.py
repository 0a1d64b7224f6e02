"""An Application's life on the local fleet, driven as a user would: self-heal and its absence,
`flotilla app diff/sync/history/rollback/delete`, a destination named by its API server URL,
and bad input that stays one Application's problem."""

from __future__ import annotations

from tests.e2e.controllers import ControllerProcess
from tests.e2e.gitops import (
    APPS,
    HUB,
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
    wait_app,
)
from tests.e2e.localfleet import LocalFleet
from tests.e2e.waiting import eventually
from tests.gitservers import GitRepo

__all__ = ["dest", "gitops", "repo"]


async def _drift(fleet: LocalFleet, namespace: str, name: str, value: str) -> None:
    """Someone edits the object on the member by hand (their own field manager)."""
    async with fleet.client(fleet.members[0].name) as client:
        await client.request(
            "PATCH", cm_path(namespace, name), params={"fieldManager": "kubectl-edit"},
            body={"data": {"v": value}}, content_type="application/merge-patch+json",
        )  # fmt: skip


async def _value(fleet: LocalFleet, namespace: str, name: str, cluster: str = "us-east") -> str:
    live = await member_get(fleet, cluster, cm_path(namespace, name))
    return "" if live is None else str((live.get("data") or {}).get("v"))


def _out_of_sync(app: dict[str, object]) -> bool:
    return ((app.get("status") or {}).get("sync") or {}).get("status") == "OutOfSync"  # type: ignore[union-attr]


async def test_self_heal_reverts_drift_and_without_it_drift_is_reported_until_a_sync(
    fleet: LocalFleet, gitops: ControllerProcess, repo: GitRepo, dest: str
) -> None:
    first = repo.commit({"k8s/a.yaml": cm("a", {"v": "1"})}, "one map")
    healing = application(
        "heal-" + dest[-8:], repo=repo.url_file, path="k8s", namespace=dest,
        automated={"selfHeal": True},
    )  # fmt: skip
    await create_app(fleet, healing)
    await wait_app(fleet, healing["metadata"]["name"], lambda a: synced(a, first))

    await _drift(fleet, dest, "a", "by hand")

    async def healed() -> bool:
        return await _value(fleet, dest, "a") == "1"

    await eventually(healed, timeout=30, what="self-heal reverting the drift")

    other = dest + "-b"
    second = repo.commit({"other/b.yaml": cm("b", {"v": "1"})}, "another map")
    plain = application(
        "noheal-" + dest[-8:], repo=repo.url_file, path="other", namespace=other,
        automated={},
    )  # fmt: skip
    name = plain["metadata"]["name"]
    await create_app(fleet, plain)
    try:
        await wait_app(fleet, name, lambda a: synced(a, second))
        await _drift(fleet, other, "b", "by hand")
        seen = await wait_app(fleet, name, _out_of_sync, what="the drift reported")
        assert seen["status"]["sync"]["revision"] == second
        assert await _value(fleet, other, "b") == "by hand"

        done = fleet.flotilla("app", "sync", name)
        assert done.returncode == 0, done.stderr
        assert await _value(fleet, other, "b") == "1"
        await wait_app(fleet, name, lambda a: synced(a, second), what="synced after app sync")
    finally:
        fleet.flotilla("app", "delete", name, "--wait")
        async with fleet.client(fleet.members[0].name) as client:
            await client.delete(f"/api/v1/namespaces/{other}")


async def test_diff_then_sync_with_the_cli_on_a_manual_application(
    fleet: LocalFleet, gitops: ControllerProcess, repo: GitRepo, dest: str
) -> None:
    repo.commit({"k8s/a.yaml": cm("a", {"v": "1"})}, "one map")
    name = "manual-" + dest[-8:]
    created = fleet.flotilla(
        "app", "create", name, "--repo", repo.url_file, "--path", "k8s", "--revision", "main",
        "--cluster", "us-east", "--namespace", dest, "--sync-option", "CreateNamespace=true",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    await wait_app(fleet, name, _out_of_sync, what="a manual application OutOfSync")
    assert await member_get(fleet, "us-east", cm_path(dest, "a")) is None

    diff = fleet.flotilla("app", "diff", name)
    assert diff.returncode == 1, diff.stderr
    assert "ConfigMap" in diff.stdout and "/a" in diff.stdout, diff.stdout

    dry = fleet.flotilla("app", "sync", name, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert await member_get(fleet, "us-east", cm_path(dest, "a")) is None

    done = fleet.flotilla("app", "sync", name)
    assert done.returncode == 0, done.stderr + done.stdout
    assert await _value(fleet, dest, "a") == "1"
    listed = fleet.flotilla("app", "list")
    assert listed.returncode == 0 and name in listed.stdout, listed.stderr

    clean = fleet.flotilla("app", "diff", name)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert clean.stdout == ""


async def test_history_and_rollback_which_turns_automated_sync_off(
    fleet: LocalFleet, gitops: ControllerProcess, repo: GitRepo, dest: str
) -> None:
    one = repo.commit({"k8s/a.yaml": cm("a", {"v": "1"})}, "v1")
    app = application(
        "roll-" + dest[-8:], repo=repo.url_file, path="k8s", namespace=dest,
        automated={"prune": True},
    )  # fmt: skip
    name = app["metadata"]["name"]
    await create_app(fleet, app)
    await wait_app(fleet, name, lambda a: synced(a, one))
    two = repo.commit({"k8s/a.yaml": cm("a", {"v": "2"})}, "v2")
    await wait_app(fleet, name, lambda a: synced(a, two))

    history = fleet.flotilla("app", "history", name)
    assert history.returncode == 0, history.stderr
    assert one[:7] in history.stdout and two[:7] in history.stdout, history.stdout

    seen = await wait_app(fleet, name, lambda a: len(a["status"]["history"]) == 2)
    (first,) = [h["id"] for h in seen["status"]["history"] if h["revision"] == one]
    rolled = fleet.flotilla("app", "rollback", name, str(first))
    assert rolled.returncode == 0, rolled.stderr + rolled.stdout
    assert await _value(fleet, dest, "a") == "1"
    seen = await wait_app(fleet, name, lambda a: a["status"]["history"][-1]["revision"] == one)
    assert "automated" not in (seen["spec"].get("syncPolicy") or {})

    three = repo.commit({"k8s/a.yaml": cm("a", {"v": "3"})}, "v3")
    seen = await wait_app(
        fleet, name, lambda a: a["status"]["sync"].get("revision") == three,
        what="v3 compared, not synced",
    )  # fmt: skip
    assert seen["status"]["sync"]["status"] == "OutOfSync"
    assert await _value(fleet, dest, "a") == "1"

    unknown = fleet.flotilla("app", "rollback", name, "99")
    assert unknown.returncode != 0 and "no history entry 99" in unknown.stderr


async def test_delete_cascades_to_the_objects_and_no_cascade_keeps_them(
    fleet: LocalFleet, gitops: ControllerProcess, repo: GitRepo, dest: str
) -> None:
    sha = repo.commit({"one/a.yaml": cm("a", {"v": "1"}), "two/b.yaml": cm("b", {"v": "1"})}, "x")
    names = []
    for path in ("one", "two"):
        app = application(
            f"del{path}-" + dest[-8:], repo=repo.url_file, path=path, namespace=dest,
            automated={},
        )  # fmt: skip
        names.append(app["metadata"]["name"])
        await create_app(fleet, app)
    for name in names:
        await wait_app(fleet, name, lambda a: synced(a, sha))

    gone = fleet.flotilla("app", "delete", names[0], "--wait")
    assert gone.returncode == 0, gone.stderr
    assert await member_get(fleet, "us-east", cm_path(dest, "a")) is None

    kept = fleet.flotilla("app", "delete", names[1], "--no-cascade", "--wait")
    assert kept.returncode == 0, kept.stderr
    assert await _value(fleet, dest, "b") == "1"
    async with fleet.client(HUB) as client:
        left = [i["metadata"]["name"] for i in (await client.list(APPS)).get("items") or []]
    assert not set(names) & set(left)


async def test_a_destination_named_by_its_api_server_url(
    fleet: LocalFleet, gitops: ControllerProcess, repo: GitRepo, dest: str
) -> None:
    sha = repo.commit({"k8s/a.yaml": cm("a", {"v": "1"})}, "one map")
    target = fleet.members[1]
    app = application(
        "server-" + dest[-8:], repo=repo.url_file, path="k8s", namespace=dest,
        server=target.server, automated={},
    )  # fmt: skip
    await create_app(fleet, app)
    await wait_app(fleet, app["metadata"]["name"], lambda a: synced(a, sha))
    assert await _value(fleet, dest, "a", cluster=str(target.name)) == "1"
    assert await member_get(fleet, "us-east", cm_path(dest, "a")) is None


async def test_bad_input_is_a_condition_with_the_fix_and_others_carry_on(
    fleet: LocalFleet, gitops: ControllerProcess, repo: GitRepo, dest: str, tmp_path: object
) -> None:
    sha = repo.commit(
        {"k8s/a.yaml": cm("a", {"v": "1"}), "rejected/bad.yaml": cm("Not_A_Name", {"v": "1"})},
        "good and rejected",
    )
    suffix = dest[-8:]
    cases = {
        "nowhere": (
            application("nowhere-" + suffix, repo=repo.url_file, path="k8s", namespace=dest,
                        cluster="nowhere", automated={}),
            "InvalidSpecError", "nowhere",
        ),
        "nopath": (
            application("nopath-" + suffix, repo=repo.url_file, path="missing/dir",
                        namespace=dest, automated={}),
            "ComparisonError", "missing/dir",
        ),
        "norev": (
            application("norev-" + suffix, repo=repo.url_file, path="k8s", namespace=dest,
                        revision="no-such-branch", automated={}),
            "ComparisonError", "no-such-branch",
        ),
        "norepo": (
            application("norepo-" + suffix, repo=f"file://{tmp_path}/not-a-repo",
                        path="k8s", namespace=dest, automated={}),
            "ComparisonError", "not-a-repo",
        ),
        "rejected": (
            application("rejected-" + suffix, repo=repo.url_file, path="rejected",
                        namespace=dest, automated={}),
            "SyncError", "Not_A_Name",
        ),
    }  # fmt: skip
    for app, _, _ in cases.values():
        await create_app(fleet, app)
    good = application("good-" + suffix, repo=repo.url_file, path="k8s", namespace=dest,
                       automated={})  # fmt: skip
    await create_app(fleet, good)

    for key, (app, kind, mentions) in cases.items():
        seen = await wait_app(
            fleet, app["metadata"]["name"], lambda a, k=kind: condition(a, k), what=key
        )
        assert mentions in (condition(seen, kind) or ""), (key, seen["status"])
    await wait_app(fleet, good["metadata"]["name"], lambda a: synced(a, sha), what="the good one")
    assert await _value(fleet, dest, "a") == "1"
