import pytest

from flotilla.kube import Conflict
from tests.unit.fakeapi import FakeApi
from tests.unit.fakeapi_tests.objects import FLOTILLA, WEB, deployment, managers


async def test_an_apply_creates_a_missing_object_owning_exactly_what_it_applied() -> None:
    api = FakeApi()
    async with api.client() as client:
        created = await client.apply(WEB, deployment(), field_manager=FLOTILLA)
    [entry] = created["metadata"]["managedFields"]
    assert (entry["manager"], entry["operation"], entry["fieldsType"]) == (
        FLOTILLA, "Apply", "FieldsV1")  # fmt: skip
    assert entry["fieldsV1"] == {
        "f:metadata": {"f:labels": {"f:app": {}}},
        "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {}}}},
    }
    assert created["metadata"]["generation"] == 1


async def test_an_apply_keeps_fields_it_does_not_set() -> None:
    api = FakeApi()
    async with api.client() as client:
        await client.apply(WEB, deployment(), field_manager=FLOTILLA)
        await client.merge_patch(WEB, {"metadata": {"annotations": {"note": "mine"}}})
        applied = await client.apply(WEB, deployment(image="nginx:2"), field_manager=FLOTILLA)
    assert applied["metadata"]["annotations"] == {"note": "mine"}
    assert applied["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:2"
    assert applied["metadata"]["generation"] == 2


async def test_another_managers_edit_takes_the_field_and_a_forced_apply_takes_it_back() -> None:
    api = FakeApi()
    async with api.client() as client:
        await client.apply(WEB, deployment(), field_manager=FLOTILLA)
        await client.merge_patch(WEB, {"spec": {"replicas": 9}})  # kubectl-edit by default
        drifted = await client.get(WEB)
        reverted = await client.apply(WEB, deployment(), field_manager=FLOTILLA, force=True)
    assert managers(drifted)["kubectl-edit"] == {"f:spec": {"f:replicas": {}}}
    assert "f:replicas" not in managers(drifted)[FLOTILLA]["f:spec"]
    assert reverted["spec"]["replicas"] == 2
    assert "kubectl-edit" not in managers(reverted)
    assert "f:replicas" in managers(reverted)[FLOTILLA]["f:spec"]


async def test_an_unforced_apply_of_a_field_another_manager_owns_is_a_conflict() -> None:
    api = FakeApi()
    async with api.client() as client:
        await client.apply(WEB, deployment(), field_manager=FLOTILLA)
        await client.merge_patch(WEB, {"spec": {"replicas": 9}})
        with pytest.raises(Conflict) as caught:
            await client.apply(WEB, deployment(), field_manager=FLOTILLA, force=False)
        same_value = await client.apply(
            WEB, deployment(replicas=9), field_manager=FLOTILLA, force=False
        )
    assert caught.value.message == (
        'Apply failed with 1 conflict: conflict with "kubectl-edit" using apps/v1: .spec.replicas'
    )
    assert same_value["spec"]["replicas"] == 9, "the same value is shared, not a conflict"


async def test_a_field_no_longer_applied_is_removed_unless_someone_else_owns_it() -> None:
    api = FakeApi()
    first = deployment()
    first["metadata"]["labels"]["tier"] = "front"
    async with api.client() as client:
        await client.apply(WEB, first, field_manager=FLOTILLA)
        await client.apply(WEB, deployment(), field_manager="other", force=True)
        kept = await client.apply(WEB, {**deployment(), "metadata": {
            "name": "web", "namespace": "web"}}, field_manager=FLOTILLA)  # fmt: skip
    assert kept["metadata"]["labels"] == {"app": "web"}, "other applied app too; tier was only ours"


async def test_a_repeated_apply_changes_nothing() -> None:
    api = FakeApi()
    async with api.client() as client:
        first = await client.apply(WEB, deployment(), field_manager=FLOTILLA)
        again = await client.apply(WEB, deployment(), field_manager=FLOTILLA)
    assert again == first
    assert len(api.requests(method="PATCH", path=WEB)) == 2
