import logging
from typing import Any

import pytest

from flotilla.api import ClusterName
from flotilla.runtime.clock import FakeClock
from flotilla.runtime.informer import Informer
from flotilla.runtime.reflector import Event
from tests.unit.fakeapi import CONFIGMAPS, FakeApi, configmap, eventually, running

MEMBER = ClusterName("member-1")


async def test_the_store_reflects_adds_modifies_and_deletes() -> None:
    api, clock = FakeApi(), FakeClock()
    api.put(CONFIGMAPS, configmap("a", v="1"))
    api.put(CONFIGMAPS, configmap("b"))
    async with api.client() as client:
        informer = Informer(client, CONFIGMAPS, cluster=MEMBER, clock=clock)
        assert not informer.has_synced
        async with running(informer.run()):
            await informer.wait_synced()
            assert informer.has_synced
            assert informer.keys() == ["default/a", "default/b"]
            await eventually(lambda: len(api.open_watches()) == 1)

            api.put(CONFIGMAPS, configmap("a", v="2"))
            api.delete(CONFIGMAPS, "default/b")
            api.put(CONFIGMAPS, configmap("c"))
            await eventually(lambda: informer.resource_version == api.resource_version)

            a = informer.get("default/a")
            assert a is not None
            assert a["data"] == {"v": "2"}
            assert informer.get("default/b") is None
            assert sorted(informer.keys()) == ["default/a", "default/c"]
            assert sorted(obj["metadata"]["name"] for obj in informer.list()) == ["a", "c"]


async def test_handlers_see_every_event_in_order_after_the_store_has_it() -> None:
    api, clock = FakeApi(), FakeClock()
    api.put(CONFIGMAPS, configmap("a"))
    async with api.client() as client:
        informer = Informer(client, CONFIGMAPS, cluster=MEMBER, clock=clock)
        first: list[tuple[str, str, bool]] = []
        second: list[str] = []

        def record(event: Event) -> None:
            first.append((event.type, event.key, informer.get(event.key) is not None))
            second.append("first handler ran")

        informer.add_handler(record)
        informer.add_handler(lambda event: second.append(f"{event.type} {event.key}"))
        async with running(informer.run()):
            await eventually(lambda: len(api.open_watches()) == 1)
            api.put(CONFIGMAPS, configmap("b"))
            api.put(CONFIGMAPS, configmap("a", v="2"))
            api.delete(CONFIGMAPS, "default/b")
            await eventually(lambda: len(first) == 4)
    assert first == [
        ("ADDED", "default/a", True),
        ("ADDED", "default/b", True),
        ("MODIFIED", "default/a", True),
        ("DELETED", "default/b", False),
    ]
    assert second[:4] == [
        "first handler ran",
        "ADDED default/a",
        "first handler ran",
        "ADDED default/b",
    ]


async def test_a_handler_added_late_first_hears_what_is_already_known() -> None:
    api, clock = FakeApi(), FakeClock()
    api.put(CONFIGMAPS, configmap("a"))
    api.put(CONFIGMAPS, configmap("b"))
    async with api.client() as client:
        informer = Informer(client, CONFIGMAPS, cluster=MEMBER, clock=clock)
        async with running(informer.run()):
            await informer.wait_synced()
            late: list[Event] = []
            informer.add_handler(late.append)
            assert [(event.type, event.key, event.synthetic) for event in late] == [
                ("ADDED", "default/a", True),
                ("ADDED", "default/b", True),
            ]
            assert all(event.cluster == MEMBER for event in late)


async def test_a_failing_handler_is_logged_and_the_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    api, clock = FakeApi(), FakeClock()
    api.put(CONFIGMAPS, configmap("a"))
    async with api.client() as client:
        informer = Informer(client, CONFIGMAPS, cluster=MEMBER, clock=clock)
        seen: list[str] = []

        def broken(event: Event) -> None:
            raise RuntimeError("handler bug")

        informer.add_handler(broken)
        informer.add_handler(lambda event: seen.append(event.key))
        with caplog.at_level(logging.ERROR, logger="flotilla.runtime.informer"):
            async with running(informer.run()):
                await eventually(lambda: len(api.open_watches()) == 1)
                api.put(CONFIGMAPS, configmap("b"))
                await eventually(lambda: len(seen) == 2)
    assert seen == ["default/a", "default/b"]
    failures = [record for record in caplog.records if record.message == "event handler failed"]
    assert [getattr(record, "key", None) for record in failures] == ["default/a", "default/b"]


def _labelled(name: str, **labels: str) -> dict[str, Any]:
    obj = configmap(name)
    obj["metadata"]["labels"] = labels
    return obj


async def test_an_index_follows_adds_relabels_and_deletes() -> None:
    api, clock = FakeApi(), FakeClock()
    api.put(CONFIGMAPS, _labelled("a", team="red"))
    api.put(CONFIGMAPS, _labelled("b", team="blue"))
    api.put(CONFIGMAPS, configmap("c"))

    def team(obj: dict[str, Any]) -> list[str]:
        label = (obj["metadata"].get("labels") or {}).get("team")
        return [label] if label else []

    def names(team_name: str) -> list[str]:
        return [obj["metadata"]["name"] for obj in informer.by_index("team", team_name)]

    async with api.client() as client:
        informer = Informer(client, CONFIGMAPS, cluster=MEMBER, clock=clock)
        async with running(informer.run()):
            await informer.wait_synced()
            informer.add_index("team", team)  # added late: indexes what is known
            assert (names("red"), names("blue"), names("green")) == (["a"], ["b"], [])
            await eventually(lambda: len(api.open_watches()) == 1)

            api.put(CONFIGMAPS, _labelled("a", team="blue"))
            api.put(CONFIGMAPS, _labelled("c", team="red"))
            api.delete(CONFIGMAPS, "default/b")
            await eventually(lambda: informer.resource_version == api.resource_version)
            assert (names("red"), names("blue")) == (["c"], ["a"])
