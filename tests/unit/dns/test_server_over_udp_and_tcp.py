"""The server on a real socket: UDP and TCP on one port, several queries on one TCP
connection, zones swapped by ``update`` between two queries, idle connections closed, and
cancellation closes everything."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator

import dns.asyncquery
import dns.message
import dns.rcode
import pytest

from flotilla.dns import DnsServer, Listening, Record, Zone, compile_zones
from tests.unit.dns.zonedata import zones


@contextlib.asynccontextmanager
async def serving(server: DnsServer) -> AsyncIterator[Listening]:
    started = asyncio.Event()
    task = asyncio.create_task(server.serve("127.0.0.1", 0, started=started))
    await asyncio.wait_for(started.wait(), 5)
    assert server.listening is not None
    try:
        yield server.listening
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert server.listening is None


async def test_udp_and_tcp_answer_and_update_swaps_the_zones() -> None:
    server = DnsServer(zones())
    async with serving(server) as where:
        assert where.udp_port == where.tcp_port
        query = dns.message.make_query("web.shop.svc.clusterset.local", "A")
        over_udp = await dns.asyncquery.udp(query, where.host, port=where.udp_port, timeout=2)
        over_tcp = await dns.asyncquery.tcp(query, where.host, port=where.tcp_port, timeout=2)
        assert over_udp.answer[0][0].address == over_tcp.answer[0][0].address == "10.96.0.10"
        server.update(
            compile_zones([Zone("clusterset.local", [Record("web.shop.svc", "A", "10.0.0.9")])])
        )
        again = await dns.asyncquery.udp(query, where.host, port=where.udp_port, timeout=2)
        assert again.answer[0][0].address == "10.0.0.9"
        gone = dns.message.make_query("db.shop.svc.clusterset.local", "A")
        missing = await dns.asyncquery.udp(gone, where.host, port=where.udp_port, timeout=2)
        assert missing.rcode() == dns.rcode.NXDOMAIN


async def test_one_tcp_connection_takes_several_queries_and_idle_ones_are_closed() -> None:
    server = DnsServer(zones(), idle=0.3)
    async with serving(server) as where:
        reader, writer = await asyncio.open_connection(where.host, where.tcp_port)
        for name in ("web.shop.svc.clusterset.local", "nope.shop.svc.clusterset.local"):
            data = dns.message.make_query(name, "A").to_wire()
            writer.write(struct.pack("!H", len(data)) + data)
        await writer.drain()
        rcodes = []
        for _ in range(2):
            (length,) = struct.unpack("!H", await reader.readexactly(2))
            rcodes.append(dns.message.from_wire(await reader.readexactly(length)).rcode())
        assert rcodes == [dns.rcode.NOERROR, dns.rcode.NXDOMAIN]
        # nothing more asked: the server closes the connection once idle
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()


async def test_a_server_that_is_cancelled_closes_open_connections() -> None:
    server = DnsServer(zones())
    async with serving(server) as where:
        reader, writer = await asyncio.open_connection(where.host, where.tcp_port)
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()
    with pytest.raises(OSError):
        await asyncio.open_connection(where.host, where.tcp_port)
