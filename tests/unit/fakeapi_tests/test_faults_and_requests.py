import asyncio

import httpx
import pytest

from flotilla.kube.errors import RequestTimeout, ServerError
from tests.unit.fakeapi import FakeApi, body_of, error, eventually
from tests.unit.fakeapi_tests.objects import FLOTILLA, WEB, deployment


async def test_an_injected_error_answers_the_next_matching_request_only() -> None:
    api = FakeApi()
    api.inject(error(500, "InternalError", "etcd is sad"), method="PATCH", path=WEB)
    async with api.client() as client:
        await client.get("/api/v1/namespaces/default/configmaps")  # not matched
        with pytest.raises(ServerError) as caught:
            await client.apply(WEB, deployment(), field_manager=FLOTILLA)
        applied = await client.apply(WEB, deployment(), field_manager=FLOTILLA)
    assert caught.value.message == "etcd is sad"
    assert applied["metadata"]["name"] == "web"


async def test_an_injected_transport_error_is_raised() -> None:
    api = FakeApi()
    api.inject(httpx.ReadTimeout("slow"), method="PATCH")
    async with api.client() as client:
        with pytest.raises(RequestTimeout):
            await client.apply(WEB, deployment(), field_manager=FLOTILLA)


async def test_a_held_request_waits_until_released_then_is_served() -> None:
    api = FakeApi()
    held = api.hold(method="PATCH", path=WEB)
    async with api.client() as client, asyncio.TaskGroup() as group:
        apply = group.create_task(client.apply(WEB, deployment(), field_manager=FLOTILLA))
        await eventually(lambda: held.waiting == 1)
        assert api.get(WEB) is None
        assert not apply.done()
        held.release()
        applied = await apply
    assert held.waiting == 0
    assert applied["metadata"]["managedFields"][0]["manager"] == FLOTILLA


async def test_requests_are_recorded_and_picked_by_method_and_path() -> None:
    api = FakeApi()
    async with api.client() as client:
        await client.apply(WEB, deployment(), field_manager=FLOTILLA, force=True)
        await client.get(WEB)
    [patch] = api.requests(method="PATCH", path=WEB)
    assert patch.url.params["fieldManager"] == FLOTILLA
    assert patch.url.params["force"] == "true"
    assert patch.headers["content-type"] == "application/apply-patch+yaml"
    assert body_of(patch)["spec"]["replicas"] == 2
    assert [r.method for r in api.requests] == ["PATCH", "GET"]


async def test_documents_answer_fixed_paths() -> None:
    api = FakeApi(documents={"/version": {"gitVersion": "v1.36.0"}, "/readyz": "ok"})
    async with api.client() as client:
        assert (await client.get("/version"))["gitVersion"] == "v1.36.0"
        assert await client.readyz() == "ok"
