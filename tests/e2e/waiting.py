"""Polling for end-to-end tests: real servers change state in their own time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, timeout: float, what: str, every: float = 0.25
) -> T:
    """Await ``probe()`` until it returns something truthy; fail with ``what`` after timeout."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            result = await probe()
        except Exception as exc:  # a probe of a real server may fail on the way
            last = exc
        else:
            if result:
                return result
            last = result
        await asyncio.sleep(every)
    raise AssertionError(f"{what}: not within {timeout}s (last: {last!r})")
