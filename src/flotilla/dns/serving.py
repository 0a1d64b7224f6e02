"""A DNS server on one address: UDP and TCP, answering from zones that can be swapped.

``DnsServer.update(zones)`` replaces what is served at once: a query is answered from the
zones it found when it arrived, never from half of an update. UDP is served by a thread of
its own on a blocking socket (receive, answer, send: about three times the queries per
second of an asyncio datagram protocol, whose per-datagram callback and selector round trip
cost more than the answer); the event loop keeps TCP (RFC 7766: several queries per
connection, answered in order, closed after ``idle`` seconds without one, at most
``max_connections`` open) and the server's life. ``serve`` runs until cancelled and closes
both sockets; the UDP thread is woken by a datagram to itself and joined.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import threading
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
        """Serve on ``host``:``port`` (0: a free port, the same for UDP and TCP) until
        cancelled."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        udp, tcp = await self._bind(family, host, port)
        udp_port = udp.getsockname()[1]
        stopping = threading.Event()
        thread = threading.Thread(
            target=self._datagrams, args=(udp, stopping), name=f"dns udp {host}", daemon=True
        )
        thread.start()
        try:
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
            stopping.set()
            with contextlib.suppress(OSError), socket.socket(family, socket.SOCK_DGRAM) as waker:
                waker.sendto(b"", udp.getsockname())
            await asyncio.to_thread(thread.join, 5.0)
            udp.close()
            self.listening = None

    async def _bind(
        self, family: socket.AddressFamily, host: str, port: int
    ) -> tuple[socket.socket, asyncio.Server]:
        """A UDP socket and a TCP server on one port; with port 0, a free one for both (a
        port free for UDP may be taken for TCP: another is tried)."""
        for attempt in range(20):
            udp = socket.socket(family, socket.SOCK_DGRAM)
            try:
                udp.bind((host, port))
                tcp = await asyncio.start_server(self._connection, host, udp.getsockname()[1])
            except OSError:
                udp.close()
                if port != 0 or attempt == 19:
                    raise
                continue
            return udp, tcp
        raise AssertionError("unreachable")

    def _datagrams(self, sock: socket.socket, stopping: threading.Event) -> None:
        receive, send = sock.recvfrom, sock.sendto
        while not stopping.is_set():
            try:
                data, address = receive(4096)
            except OSError:
                if stopping.is_set():
                    return
                continue  # an ICMP error for an earlier send, say
            try:
                response = self.answers.respond(data, udp=True)
            except Exception:  # one bad query must not stop the server
                log.exception("dns query failed")
                continue
            if response is not None:
                with contextlib.suppress(OSError):
                    send(response, address)

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
                    try:
                        response = self.answers.respond(data, udp=False)
                    except Exception:  # one bad query ends its connection, not the server
                        log.exception("dns query failed")
                        break
                    if response is None:
                        break
                    writer.write(_LENGTH.pack(len(response)) + response)
                    async with asyncio.timeout(self._idle):  # a client that never reads
                        await writer.drain()
            except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                self._writers.discard(writer)
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()
