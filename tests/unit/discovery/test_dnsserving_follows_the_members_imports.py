"""A member's DNS follows its imports through watches on a (fake) API server: the zone is
served once the first picture is in, a change is answered within about a second however long
nothing changed before it, and before the member has joined (no ServiceImport CRD) only
dns-version is served."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import dns.asyncquery
import dns.message
import dns.rcode
import httpx

from flotilla.discovery import dnsserving
from flotilla.dns import DnsServer
from flotilla.runtime.clock import LoopClock
from tests.unit.fakeapi import FakeApi, running

IMPORTS = "/apis/multicluster.x-k8s.io/v1beta1/namespaces/shop/serviceimports"


def imported(ip: str) -> dict[str, Any]:
    return {"apiVersion": "multicluster.x-k8s.io/v1beta1", "kind": "ServiceImport",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"type": "ClusterSetIP", "ips": [ip], "ports": []}}  # fmt: skip


async def resolve(server: DnsServer, name: str) -> tuple[int, list[str]]:
    where = server.listening
    assert where is not None
    answer = await dns.asyncquery.udp(
        dns.message.make_query(name, "A"), where.host, port=where.udp_port, timeout=1
    )
    return answer.rcode(), [r.to_text() for rrset in answer.answer for r in rrset]


async def until(server: DnsServer, name: str, wanted: list[str], *, within: float) -> float:
    begin = time.monotonic()
    while time.monotonic() - begin < within:
        if (await resolve(server, name))[1] == wanted:
            return time.monotonic() - begin
        await asyncio.sleep(0.02)
    raise AssertionError(f"{name} did not resolve to {wanted} within {within}s")


async def test_changes_are_answered_within_a_second_even_after_a_quiet_spell() -> None:
    api = FakeApi()
    api.put(IMPORTS, imported("10.253.0.1"))
    server, started = DnsServer(), asyncio.Event()
    name = "web.shop.svc.clusterset.local"
    async with api.client() as client:
        work = dnsserving.serve(client, server, host="127.0.0.1", port=0, clock=LoopClock(),
                                started=started)  # fmt: skip
        async with running(work):
            await asyncio.wait_for(started.wait(), 5)
            await until(server, name, ["10.253.0.1"], within=5)
            await asyncio.sleep(1.5)  # nothing changes for a while
            api.put(IMPORTS, imported("10.253.0.2"))
            assert await until(server, name, ["10.253.0.2"], within=1.0) < 1.0


async def test_before_the_member_joins_only_dns_version_is_served() -> None:
    api = FakeApi()
    api.inject(
        httpx.Response(404, json={"kind": "Status", "code": 404, "reason": "NotFound"}),
        path="/apis/multicluster.x-k8s.io/v1beta1/serviceimports",
        times=1000,
    )
    server, started = DnsServer(), asyncio.Event()
    async with api.client() as client:
        work = dnsserving.serve(client, server, host="127.0.0.1", port=0, clock=LoopClock(),
                                started=started)  # fmt: skip
        async with running(work):
            await asyncio.wait_for(started.wait(), 5)
            for _ in range(100):
                if server.zones.zones:
                    break
                await asyncio.sleep(0.02)
            rcode, _ = await resolve(server, "web.shop.svc.clusterset.local")
            assert rcode == dns.rcode.NXDOMAIN  # nothing is imported here, and that is true
            where = server.listening
            assert where is not None
            version = await dns.asyncquery.udp(
                dns.message.make_query("dns-version.clusterset.local", "TXT"), where.host,
                port=where.udp_port, timeout=1,
            )  # fmt: skip
            assert version.answer
