"""``flotilla app rollback NAME ID``: sync to a history entry's revision, automated sync off
in the same write (Argo CD refuses instead; Flotilla's issue asks for this)."""

from tests.unit.cli.test_app_harness import (
    APPS,
    OLD_SHA,
    SHA,
    Controller,
    app_path,
    application,
    hub_with_crd,
    invoke,
    patches,
)

HISTORY = [
    {"id": 3, "revision": OLD_SHA, "message": "good"},
    {"id": 4, "revision": SHA, "message": "bad"},
]


def hub(*, automated: bool = True):  # type: ignore[no-untyped-def]
    api = hub_with_crd()
    item = application(history=HISTORY)
    if automated:
        item["spec"]["syncPolicy"] = {
            "automated": {"prune": True, "selfHeal": True},
            "syncOptions": ["CreateNamespace=true"],
        }
    api.put(APPS, item)
    return api


def test_one_patch_turns_automation_off_and_asks_for_the_old_revision() -> None:
    api = hub()
    version = api.get(app_path())["metadata"]["resourceVersion"]
    controller = Controller(api)
    result = invoke(["rollback", "guestbook", "3"], api, controller=controller)
    assert result.exit_code == 0, result.output
    (patch,) = patches(api)
    assert patch == {
        "operation": {
            "sync": {"revision": OLD_SHA, "prune": False, "dryRun": False},
            "initiatedBy": {"username": "flotilla-cli"},
        },
        "spec": {"syncPolicy": {"automated": None}},
        "metadata": {"resourceVersion": version},
    }
    stored = api.get(app_path())
    assert stored["spec"]["syncPolicy"] == {"syncOptions": ["CreateNamespace=true"]}
    assert "automated sync of argocd/guestbook is now off" in result.output
    assert "Phase:     Succeeded" in result.output


def test_without_automation_only_the_operation_is_set() -> None:
    api = hub(automated=False)
    result = invoke(["rollback", "guestbook", "3", "--async"], api)
    assert result.exit_code == 0, result.output
    (patch,) = patches(api)
    assert "spec" not in patch
    assert api.get(app_path())["operation"]["sync"]["revision"] == OLD_SHA
    assert "rollback requested" in result.output


def test_an_unknown_id_lists_the_ids_there_are() -> None:
    api = hub()
    result = invoke(["rollback", "guestbook", "7"], api)
    assert result.exit_code == 1
    assert "no history entry 7: its history has the ids 3, 4" in result.output
    assert patches(api) == []


def test_a_failed_rollback_exits_1() -> None:
    api = hub()
    result = invoke(["rollback", "guestbook", "3"], api, controller=Controller(api, phase="Error"))
    assert result.exit_code == 1
