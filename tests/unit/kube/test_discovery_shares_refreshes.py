import asyncio

import pytest

from flotilla.kube import RestMapper, UnknownKind
from tests.unit.fakeapi import eventually
from tests.unit.kube.fake_discovery import FakeDiscovery


async def test_concurrent_first_lookups_share_one_fetch() -> None:
    api = FakeDiscovery()
    api.hold()
    async with api.client() as client:
        mapper = RestMapper(client)
        lookups = [
            asyncio.create_task(mapper.resource_for("apps/v1", kind))
            for kind in ("Deployment", "StatefulSet", "DaemonSet", "Deployment")
        ]
        await eventually(lambda: len(api.requests) == 1)
        api.release()
        infos = await asyncio.gather(*lookups)
    assert [info.plural for info in infos] == [
        "deployments",
        "statefulsets",
        "daemonsets",
        "deployments",
    ]
    assert api.requests == ["/apis", "/apis/apps/v1"]


async def test_concurrent_lookups_of_a_new_kind_share_one_refresh() -> None:
    api = FakeDiscovery()
    async with api.client() as client:
        # No interval: only sharing can keep the lookups to one refresh.
        mapper = RestMapper(client, refresh_interval=0.0)
        await mapper.resource_for("apps/v1", "Deployment")
        api.install_flotilla_crds()
        api.requests.clear()
        api.hold()
        lookups = [
            asyncio.create_task(mapper.resource_for("flotilla.io/v1alpha1", "Cluster"))
            for _ in range(5)
        ]
        await eventually(lambda: len(api.requests) == 1)
        api.release()
        infos = await asyncio.gather(*lookups)
    assert {info.plural for info in infos} == {"clusters"}
    assert api.requests == ["/apis", "/apis/flotilla.io/v1alpha1"]


async def test_concurrent_misses_share_one_refresh() -> None:
    api = FakeDiscovery()
    async with api.client() as client:
        mapper = RestMapper(client, refresh_interval=0.0)
        await mapper.resource_for("apps/v1", "Deployment")
        api.requests.clear()
        api.hold()
        lookups = [asyncio.create_task(mapper.resource_for("apps/v1", "Widget")) for _ in range(5)]
        await eventually(lambda: len(api.requests) == 1)
        api.release()
        results = await asyncio.gather(*lookups, return_exceptions=True)
    assert all(isinstance(result, UnknownKind) for result in results)
    assert api.requests == ["/apis", "/apis/apps/v1"]


async def test_a_miss_that_began_after_a_refresh_was_fetched_refreshes_again() -> None:
    api = FakeDiscovery()
    async with api.client() as client:
        mapper = RestMapper(client, refresh_interval=0.0)
        await mapper.resource_for("apps/v1", "Deployment")
        api.requests.clear()
        for _ in range(3):
            with pytest.raises(UnknownKind):
                await mapper.resource_for("apps/v1", "Widget")
    assert api.requests == ["/apis", "/apis/apps/v1"] * 3
