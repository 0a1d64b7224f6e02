import pytest

from flotilla.kube import Conflict
from tests.unit.fakeapi import FakeApi
from tests.unit.fakeapi_tests.objects import DEPLOYMENTS, WEB, deployment


async def test_a_replace_with_a_stale_resource_version_is_a_conflict() -> None:
    api = FakeApi()
    async with api.client() as client:
        created = await client.create(DEPLOYMENTS, deployment())
        await client.merge_patch(WEB, {"spec": {"replicas": 3}})
        with pytest.raises(Conflict) as caught:
            await client.replace(WEB, created)
    assert caught.value.reason == "Conflict"
    assert "the object has been modified" in caught.value.message


async def test_a_replace_with_the_current_version_writes() -> None:
    api = FakeApi()
    async with api.client() as client:
        created = await client.create(DEPLOYMENTS, deployment())
        created["spec"]["replicas"] = 5
        replaced = await client.replace(WEB, created)
    assert replaced["spec"]["replicas"] == 5
    assert int(replaced["metadata"]["resourceVersion"]) > int(
        created["metadata"]["resourceVersion"]
    )
    assert replaced["metadata"]["uid"] == created["metadata"]["uid"]


async def test_generation_counts_spec_changes_and_not_metadata_or_status() -> None:
    api = FakeApi()
    async with api.client() as client:
        await client.create(DEPLOYMENTS, deployment())
        labelled = await client.merge_patch(WEB, {"metadata": {"labels": {"tier": "front"}}})
        status = await client.merge_patch(f"{WEB}/status", {"status": {"replicas": 2}})
        scaled = await client.merge_patch(WEB, {"spec": {"replicas": 4}})
    assert labelled["metadata"]["generation"] == 1
    assert status["metadata"]["generation"] == 1
    assert scaled["metadata"]["generation"] == 2


async def test_a_write_that_changes_nothing_keeps_the_resource_version() -> None:
    api = FakeApi()
    async with api.client() as client:
        created = await client.create(DEPLOYMENTS, deployment())
        same = await client.merge_patch(WEB, {"spec": {"replicas": 2}})
    assert same["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
