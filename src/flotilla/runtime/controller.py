"""Controllers: a work queue, workers, and a reconcile function with a written contract.

The reconcile contract (as controller-runtime's):

- ``reconcile(key)`` is level-based: it reads caches, computes the desired state and acts.
  It is never called for the same key by two workers at once.
- It returns ``Result()`` when done: the key's backoff is forgotten.
- ``Result(requeue_after=s)``: done for now, look again in ``s`` seconds (backoff forgotten).
- ``Result(requeue=True)``: try again with per-key exponential backoff.
- Raising an exception is an error: logged (type, message and the chain behind it as
  fields; a traceback too unless it is a ``KubeError``), counted, retried with backoff.
  Raise only ``Exception`` subclasses; ``CancelledError`` stops the worker as it should.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from flotilla.kube import KubeError
from flotilla.runtime.failures import exception_fields
from flotilla.runtime.metrics import (
    RESULT_ERROR,
    RESULT_REQUEUE,
    RESULT_REQUEUE_AFTER,
    RESULT_SUCCESS,
    Metrics,
)
from flotilla.runtime.queue import QueueShutDown, WorkQueue

logger = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Result:
    requeue: bool = False
    requeue_after: float | None = None


Reconcile = Callable[[K], Awaitable[Result]]


class Controller(Generic[K]):
    """Runs ``workers`` workers over ``queue`` until cancelled."""

    def __init__(
        self,
        name: str,
        queue: WorkQueue[K],
        reconcile: Reconcile[K],
        *,
        metrics: Metrics,
        workers: int = 2,
    ) -> None:
        self.name = name
        self.queue = queue
        self._reconcile = reconcile
        self._metrics = metrics
        self._workers = workers
        metrics.register_controller(name)
        metrics.register_queue(queue)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            for index in range(self._workers):
                group.create_task(self._worker(), name=f"{self.name}-worker-{index}")

    async def _worker(self) -> None:
        while True:
            try:
                key = await self.queue.get()
            except QueueShutDown:
                return
            try:
                await self._process(key)
            finally:
                self.queue.done(key)

    async def _process(self, key: K) -> None:
        metrics = self._metrics
        metrics.active_workers.labels(controller=self.name).inc()
        timer = metrics.reconcile_time.labels(controller=self.name).time()
        try:
            with timer:
                result = await self._reconcile(key)
        except Exception as exc:
            # An API error is expected and its fields say it all; anything else is a bug
            # and keeps its traceback.
            logger.warning(
                "reconcile failed",
                extra={"controller": self.name, "key": str(key), **exception_fields(exc)},
                exc_info=None if isinstance(exc, KubeError) else exc,
            )
            metrics.reconcile_errors.labels(controller=self.name).inc()
            metrics.reconcile_total.labels(controller=self.name, result=RESULT_ERROR).inc()
            self.queue.add_rate_limited(key)
            return
        finally:
            metrics.active_workers.labels(controller=self.name).dec()
        if result.requeue_after is not None:
            outcome = RESULT_REQUEUE_AFTER
            self.queue.forget(key)
            self.queue.add_after(key, result.requeue_after)
        elif result.requeue:
            outcome = RESULT_REQUEUE
            self.queue.add_rate_limited(key)
        else:
            outcome = RESULT_SUCCESS
            self.queue.forget(key)
        metrics.reconcile_total.labels(controller=self.name, result=outcome).inc()
