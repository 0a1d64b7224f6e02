"""A DNS server on one address: UDP and TCP, answering from zones that can be swapped.

``DnsServer.update(zones)`` replaces what is served at once: a query is answered from the
zones it found when it arrived, never from half of an update. UDP answers are sent from
the datagram callback (no task per query); TCP (RFC 7766) takes several queries per
connection, answered in order, closed after ``idle`` seconds without one, with at most
``max_connections`` open. ``serve`` runs until cancelled and closes both sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from dataclasses import dataclass

from flotilla.dns.wire import Answers
from flotilla.dns.zones import EMPTY, Zones

log = logging.getLogger(__name__)

_LENGTH = struct.Struct("!H")


@dataclass(frozen=True)
class Listening:
    host: str
    udp_port: int
    tcp_port: int


class DnsServer:
    def __init__(
        self,
        zones: Zones = EMPTY,
        *,
        idle: float = 10.0,
        max_connections: int = 256,
    ) -> None:
        self.answers = Answers(zones)
        self._idle = idle
        self._slots = asyncio.Semaphore(max_connections)
        self.listening: Listening | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def zones(self) -> Zones:
        return self.answers.zones

    def update(self, zones: Zones) -> None:
        if zones is not self.answers.zones:
            self.answers = Answers(zones)

    async def serve(self, host: str, port: int, *, started: asyncio.Event | None = None) -> None:
        """Serve on ``host``:``port`` (0: a free port, the same for UDP and TCP when it
        can be had) until cancelled."""
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Datagrams(self), local_addr=(host, port)
        )
        try:
            udp_port = transport.get_extra_info("sockname")[1]
            tcp = await asyncio.start_server(self._connection, host, udp_port)
            try:
                tcp_port = tcp.sockets[0].getsockname()[1]
                self.listening = Listening(host, udp_port, tcp_port)
                log.info("dns serving", extra={"host": host, "port": udp_port})
                if started is not None:
                    started.set()
                await asyncio.Future()  # until cancelled
            finally:
                tcp.close()
                for writer in list(self._writers):  # their handlers then see the end
                    writer.transport.abort()
                with contextlib.suppress(Exception):
                    await tcp.wait_closed()
        finally:
            transport.close()
            self.listening = None

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._slots.locked():
            writer.close()
            return
        async with self._slots:
            self._writers.add(writer)
            try:
                while True:
                    async with asyncio.timeout(self._idle):
                        (length,) = _LENGTH.unpack(await reader.readexactly(2))
                        data = await reader.readexactly(length)
                    response = self.answers.respond(data, udp=False)
                    if response is None:
                        break
                    writer.write(_LENGTH.pack(len(response)) + response)
                    await writer.drain()
            except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                self._writers.discard(writer)
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, server: DnsServer) -> None:
        self._server = server
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # a datagram transport

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        try:
            response = self._server.answers.respond(data, udp=True)
        except Exception:  # one bad query must not stop the server
            log.exception("dns query failed")
            return
        if response is not None and self._transport is not None:
            self._transport.sendto(response, addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("dns udp error", extra={"error": str(exc)})
