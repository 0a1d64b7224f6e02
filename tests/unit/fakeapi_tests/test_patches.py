import pytest

from flotilla.kube import Conflict, Invalid
from tests.unit.fakeapi import JSON_PATCH, FakeApi
from tests.unit.fakeapi_tests.objects import DEPLOYMENTS, WEB, deployment, managers


async def test_a_merge_patch_merges_maps_removes_nulls_and_replaces_lists() -> None:
    api = FakeApi()
    async with api.client() as client:
        await client.create(DEPLOYMENTS, deployment())
        patched = await client.merge_patch(
            WEB,
            {
                "metadata": {"labels": {"app": None, "tier": "front"}},
                "spec": {"template": {"spec": {"containers": [{"name": "x", "image": "y"}]}}},
            },
        )
    assert patched["metadata"]["labels"] == {"tier": "front"}
    assert patched["spec"]["replicas"] == 2
    assert patched["spec"]["template"]["spec"]["containers"] == [{"name": "x", "image": "y"}]


async def test_a_merge_patch_with_a_stale_resource_version_is_a_conflict() -> None:
    api = FakeApi()
    async with api.client() as client:
        created = await client.create(DEPLOYMENTS, deployment())
        await client.merge_patch(WEB, {"spec": {"replicas": 3}})
        stale = created["metadata"]["resourceVersion"]
        with pytest.raises(Conflict):
            await client.merge_patch(
                WEB, {"metadata": {"resourceVersion": stale}, "spec": {"replicas": 4}}
            )
    assert api.get(WEB)["spec"]["replicas"] == 3  # type: ignore[index]


async def test_a_json_patch_applies_and_a_failed_test_is_invalid() -> None:
    api = FakeApi()
    async with api.client() as client:
        await client.create(DEPLOYMENTS, deployment())
        patched = await client.request(
            "PATCH", WEB, content_type=JSON_PATCH,
            body=[{"op": "test", "path": "/spec/replicas", "value": 2},
                  {"op": "replace", "path": "/spec/replicas", "value": 7}],
        )  # fmt: skip
        with pytest.raises(Invalid):
            await client.request(
                "PATCH", WEB, content_type=JSON_PATCH,
                body=[{"op": "test", "path": "/spec/replicas", "value": 2},
                      {"op": "replace", "path": "/spec/replicas", "value": 9}],
            )  # fmt: skip
    assert patched["spec"]["replicas"] == 7
    assert api.get(WEB)["spec"]["replicas"] == 7  # type: ignore[index]


async def test_a_patch_takes_the_fields_it_changed_for_its_field_manager() -> None:
    api = FakeApi()
    async with api.client() as client:
        await client.apply(WEB, deployment(), field_manager="flotilla")
        await client.request(
            "PATCH", WEB, params={"fieldManager": "kubectl-scale"}, body={"spec": {"replicas": 5}},
            content_type="application/merge-patch+json",
        )  # fmt: skip
    owners = managers(api.get(WEB))  # type: ignore[arg-type]
    assert owners["kubectl-scale"] == {"f:spec": {"f:replicas": {}}}
    assert "f:replicas" not in owners["flotilla"]["f:spec"]
    assert "f:template" in owners["flotilla"]["f:spec"]
