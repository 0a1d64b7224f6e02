"""Leader election on a ``coordination.k8s.io/v1`` Lease, with client-go's semantics.

Why: Flotilla runs more than one replica for availability, but two replicas reconciling the
same fleet fight each other. One replica at a time leads; the others wait, ready to take
over. The algorithm is client-go's ``tools/leaderelection`` (``tryAcquireOrRenew``), so a
Flotilla replica behaves on the Lease exactly as a kube-controller-manager would.

Time. Clocks of different machines disagree, so the server's ``renewTime`` is never
compared with local wall time. A candidate remembers when, on its own monotonic ``Clock``,
it last saw the lease record (its ``spec``) change, and considers the lease expired only once
the holder's ``leaseDurationSeconds`` have passed on that clock with no change. A candidate
that starts up therefore waits a full lease duration before taking over a lease that looks
stale. ``renewTime`` and ``acquireTime`` are still written (RFC 3339 with microseconds, UTC),
for people and for other implementations, which judge them the same way.

The contract of ``LeaderElector.run(lead)``:

- It waits to acquire the lease: GET it; create it if missing (a Conflict on create means
  another candidate won); if another holder's lease has not expired, retry after the retry
  period (jittered by up to 1.2x, as client-go); otherwise PUT with the observed
  resourceVersion (a Conflict means another candidate won the race). Taking over from
  another holder increments ``leaseTransitions`` and sets ``acquireTime``.
- Once leader, it awaits ``lead()`` in the calling task and renews every retry period in a
  child task. Each renewal must succeed within the renew deadline (retrying every retry
  period; a hung request is cancelled at the deadline). The leader renews first with a PUT
  of the lease it last wrote and falls back to GET then PUT, as client-go does.
- Leadership is lost when a renewal does not succeed within the renew deadline, or at once
  when the lease turns out to name another holder (client-go keeps retrying until the
  deadline in that case, with two leaders running meanwhile). ``lead()`` is then cancelled,
  awaited, and ``run`` raises ``LeadershipLost``: stop the controllers and exit, as
  controller-runtime does. The lease is not released then: the API did not answer us, and
  another candidate takes over when the lease expires.
- When ``run`` is cancelled while leading, or ``lead()`` returns or raises, ``lead()`` has
  stopped before the lease is released, best-effort and within the renew deadline: the
  holder is cleared and the duration set to 1 s (client-go's ``ReleaseOnCancel``), so
  another candidate takes over at once. An error from ``lead()`` propagates unchanged.
- Conflicts, missing leases, transient errors (5xx, 429, timeouts, refused connections)
  are retried. A terminal error (401, 403, 422, ...) is raised out of ``run``: retrying
  cannot fix missing RBAC.

Defaults are client-go's: lease 15 s, renew deadline 10 s, retry period 2 s. A leader that
last renewed at ``t`` gives up by ``t + retry_period + renew_deadline`` (12 s), before any
other candidate can see the lease expire (15 s after it observed that renewal).

Writers check before each write batch. The renew loop notices a lost lease only when its
renewal gives up, up to ``retry_period + renew_deadline`` after the last renewal; a write
batch started in that window could land after another candidate has taken over.
``leading`` (and ``ensure_leading()``, which raises ``LeadershipLost``) turns false as soon
as ``renew_deadline`` has passed since the start of the last successful renewal, judged on
the injected clock: earlier than the renew loop, and well before the lease can expire for
anyone else (``lease_duration`` after they saw that renewal). It is a comparison of two
numbers, cheap enough for every batch.

All time, including the renew deadline and the wall time written into the lease, is taken
from the injected ``Clock`` (``clock.timeout``, ``clock.now``) rather than ``asyncio.timeout``
or ``datetime.now``, so tests drive it with ``FakeClock``.
"""

from __future__ import annotations

import asyncio
import copy
import enum
import logging
import math
import random
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from flotilla.kube.client import KubeClient
from flotilla.kube.errors import Conflict, KubeError, NotFound
from flotilla.kube.paths import resource_path
from flotilla.runtime.clock import Clock, LoopClock

__all__ = ["LeaderElector", "LeadershipLost", "default_identity", "micro_time"]

logger = logging.getLogger(__name__)

LEASE_API_VERSION = "coordination.k8s.io/v1"
DEFAULT_LEASE_DURATION = 15.0
DEFAULT_RENEW_DEADLINE = 10.0
DEFAULT_RETRY_PERIOD = 2.0
JITTER_FACTOR = 1.2
"""Acquire retries wait ``retry_period * (1 + random * JITTER_FACTOR)``, as client-go."""

RELEASED_LEASE_SECONDS = 1


class LeadershipLost(Exception):
    """This candidate no longer holds the lease; whatever it was leading has been stopped."""

    def __init__(self, *, namespace: str, name: str, identity: str) -> None:
        super().__init__(f"lost the lease {namespace}/{name} held as {identity}")
        self.namespace = namespace
        self.name = name
        self.identity = identity


class _Attempt(enum.Enum):
    LEADING = "leading"
    HELD_ELSEWHERE = "held elsewhere"
    FAILED = "failed"


def default_identity() -> str:
    """``<hostname>_<uuid4>``, like controller-runtime: unique even for two processes on a host."""
    return f"{socket.gethostname()}_{uuid.uuid4()}"


def micro_time(moment: datetime) -> str:
    """A ``metav1.MicroTime`` in its wire form: ``2006-01-02T15:04:05.000000Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    """One candidate for one Lease. ``run(lead)`` leads when elected; see the module docstring."""

    def __init__(
        self,
        client: KubeClient,
        *,
        namespace: str,
        name: str,
        identity: str | None = None,
        clock: Clock | None = None,
        lease_duration: float = DEFAULT_LEASE_DURATION,
        renew_deadline: float = DEFAULT_RENEW_DEADLINE,
        retry_period: float = DEFAULT_RETRY_PERIOD,
    ) -> None:
        if min(lease_duration, renew_deadline, retry_period) <= 0:
            raise ValueError("lease_duration, renew_deadline and retry_period must be positive")
        if lease_duration <= renew_deadline:
            raise ValueError("lease_duration must be greater than renew_deadline")
        if renew_deadline <= JITTER_FACTOR * retry_period:
            raise ValueError(f"renew_deadline must be greater than {JITTER_FACTOR} * retry_period")
        if identity == "":
            raise ValueError("identity must not be empty")
        self._client = client
        self._namespace = namespace
        self._name = name
        self._identity = identity if identity is not None else default_identity()
        self._clock: Clock = clock if clock is not None else LoopClock()
        self._lease_duration = lease_duration
        self._renew_deadline = renew_deadline
        self._retry_period = retry_period
        self._path = resource_path(LEASE_API_VERSION, "leases", namespace=namespace, name=name)
        self._collection = resource_path(LEASE_API_VERSION, "leases", namespace=namespace)
        self._random = random.Random()
        self._log = {
            "lease": f"{namespace}/{name}",
            "identity": self._identity,
            "server": client.server,
        }
        # What this candidate last saw of the lease, and when (on self._clock) it changed.
        self._observed: dict[str, Any] | None = None
        self._observed_spec: dict[str, Any] = {}
        self._observed_at = 0.0
        self._leading = False
        self._running = False
        self._renewed_at: float | None = None
        """When (on self._clock) the last successful acquire or renewal started."""

    @property
    def identity(self) -> str:
        return self._identity

    @property
    def is_leader(self) -> bool:
        """True from acquiring the lease until losing it or stepping down."""
        return self._leading

    @property
    def leading(self) -> bool:
        """Leader, and the last successful renewal started less than ``renew_deadline`` ago.

        Check it (or call ``ensure_leading``) before each write batch: it turns false before
        the renew loop gives up, and before another candidate can take the lease over.
        """
        if not self._leading or self._renewed_at is None:
            return False
        return self._clock.monotonic() - self._renewed_at < self._renew_deadline

    def ensure_leading(self) -> None:
        """Raise ``LeadershipLost`` unless ``leading``: call it before each write batch."""
        if not self.leading:
            raise LeadershipLost(
                namespace=self._namespace, name=self._name, identity=self._identity
            )

    async def run(self, lead: Callable[[], Awaitable[None]]) -> None:
        """Wait to be elected, then await ``lead()`` while renewing the lease.

        Raises ``LeadershipLost`` (after ``lead()`` has been cancelled) when the lease cannot
        be renewed in time. Returns when ``lead()`` returns. Releases the lease whenever it
        stops while still leader, including on cancellation.
        """
        if self._running:
            raise RuntimeError("LeaderElector.run is already running")
        self._running = True
        try:
            await self._acquire()
            self._leading = True
            logger.info("became leader", extra=self._log)
            try:
                async with asyncio.TaskGroup() as group:
                    renewing = group.create_task(self._keep_renewing())
                    await lead()
                    renewing.cancel()
            except BaseExceptionGroup as errors:
                if len(errors.exceptions) == 1:
                    raise errors.exceptions[0] from None
                raise
        finally:
            self._running = False
            self._renewed_at = None
            if self._leading:
                self._leading = False
                await self._release()

    async def _acquire(self) -> None:
        logger.info("waiting to acquire the lease", extra=self._log)
        while await self._try_acquire_or_renew() is not _Attempt.LEADING:
            jitter = 1.0 + self._random.random() * JITTER_FACTOR
            await self._clock.sleep(self._retry_period * jitter)

    async def _keep_renewing(self) -> None:
        """Renew every retry period; raise ``LeadershipLost`` when a renewal is not in time."""
        while True:
            await self._clock.sleep(self._retry_period)
            try:
                async with self._clock.timeout(self._renew_deadline):
                    renewed = await self._renew()
            except TimeoutError:
                renewed = False
            except KubeError:
                self._leading = False
                raise
            if not renewed:
                self._leading = False
                logger.error("lost leadership", extra=self._log)
                raise LeadershipLost(
                    namespace=self._namespace, name=self._name, identity=self._identity
                )

    async def _renew(self) -> bool:
        """Retry until renewed (True) or the lease names another holder (False)."""
        while True:
            attempt = await self._try_acquire_or_renew()
            if attempt is _Attempt.LEADING:
                return True
            if attempt is _Attempt.HELD_ELSEWHERE:
                return False
            await self._clock.sleep(self._retry_period)

    async def _try_acquire_or_renew(self) -> _Attempt:
        """client-go's ``tryAcquireOrRenew``: one round of reading and writing the lease."""
        now = self._clock.monotonic()
        attempt = await self._acquire_or_renew_once(now)
        if attempt is _Attempt.LEADING:
            # From when the request left, not when the answer came: others start their
            # expiry clock only once the server has written it.
            self._renewed_at = now
        return attempt

    async def _acquire_or_renew_once(self, now: float) -> _Attempt:
        stamp = micro_time(self._clock.now())
        # Fast path: the leader PUTs over the lease it last wrote, saving the GET.
        if self._observed is not None and self._holds_observed() and self._observed_valid(now):
            spec = self._spec(
                renew_time=stamp,
                acquire_time=self._observed_spec.get("acquireTime") or stamp,
                transitions=_transitions(self._observed_spec),
            )
            try:
                written = await self._client.replace(self._path, _with_spec(self._observed, spec))
            except KubeError as error:
                logger.info(
                    "optimistic renewal failed; reading the lease",
                    extra={**self._log, "error": str(error)},
                )
            else:
                self._observe(written)
                return _Attempt.LEADING

        try:
            lease = await self._client.get(self._path)
        except NotFound:
            return await self._create(stamp)
        except KubeError as error:
            return self._failed("could not read the lease", error)
        self._observe(lease)

        holder = self._observed_spec.get("holderIdentity") or ""
        if holder and not self._holds_observed() and self._observed_valid(now):
            logger.debug(
                "lease is held by another candidate", extra={**self._log, "holder": holder}
            )
            return _Attempt.HELD_ELSEWHERE

        transitions = _transitions(self._observed_spec)
        if self._holds_observed():
            acquire_time = self._observed_spec.get("acquireTime") or stamp
        else:
            acquire_time, transitions = stamp, transitions + 1
        spec = self._spec(renew_time=stamp, acquire_time=acquire_time, transitions=transitions)
        try:
            written = await self._client.replace(self._path, _with_spec(lease, spec))
        except (Conflict, NotFound) as error:
            logger.info("lost the race for the lease", extra={**self._log, "error": str(error)})
            return _Attempt.FAILED
        except KubeError as error:
            return self._failed("could not write the lease", error)
        self._observe(written)
        return _Attempt.LEADING

    async def _create(self, stamp: str) -> _Attempt:
        lease = {
            "apiVersion": LEASE_API_VERSION,
            "kind": "Lease",
            "metadata": {"name": self._name, "namespace": self._namespace},
            "spec": self._spec(renew_time=stamp, acquire_time=stamp, transitions=0),
        }
        try:
            created = await self._client.create(self._collection, lease)
        except Conflict as error:
            logger.info(
                "lost the race to create the lease", extra={**self._log, "error": str(error)}
            )
            return _Attempt.FAILED
        except KubeError as error:
            return self._failed("could not create the lease", error)
        self._observe(created)
        return _Attempt.LEADING

    async def _release(self) -> None:
        """Best-effort: clear the holder so another candidate need not wait out the lease."""
        try:
            async with self._clock.timeout(self._renew_deadline):
                released = await self._give_up_lease()
        except TimeoutError:
            logger.warning("could not release the lease in time", extra=self._log)
        except KubeError as error:
            logger.warning("could not release the lease", extra={**self._log, "error": str(error)})
        else:
            if released:
                logger.info("released the lease", extra=self._log)

    async def _give_up_lease(self) -> bool:
        lease = await self._client.get(self._path)
        self._observe(lease)
        if not self._holds_observed():
            return False
        stamp = micro_time(self._clock.now())
        spec = {
            **self._observed_spec,
            "holderIdentity": "",
            "leaseDurationSeconds": RELEASED_LEASE_SECONDS,
            "acquireTime": stamp,
            "renewTime": stamp,
            "leaseTransitions": _transitions(self._observed_spec),
        }
        self._observe(await self._client.replace(self._path, _with_spec(lease, spec)))
        return True

    def _spec(self, *, renew_time: str, acquire_time: str, transitions: int) -> dict[str, Any]:
        return {
            **self._observed_spec,
            "holderIdentity": self._identity,
            "leaseDurationSeconds": max(1, math.ceil(self._lease_duration)),
            "acquireTime": acquire_time,
            "renewTime": renew_time,
            "leaseTransitions": transitions,
        }

    def _observe(self, lease: dict[str, Any]) -> None:
        """Remember the lease; restart the expiry clock if its record changed."""
        spec = lease.get("spec") or {}
        if self._observed is None or spec != self._observed_spec:
            self._observed_at = self._clock.monotonic()
        self._observed = lease
        self._observed_spec = spec

    def _holds_observed(self) -> bool:
        return bool(self._observed_spec.get("holderIdentity") == self._identity)

    def _observed_valid(self, now: float) -> bool:
        """Whether the observed holder's lease is still running on our clock."""
        seconds = self._observed_spec.get("leaseDurationSeconds")
        if not isinstance(seconds, int | float) or seconds <= 0:
            seconds = self._lease_duration
        return self._observed_at + seconds > now

    def _failed(self, message: str, error: KubeError) -> _Attempt:
        if not error.transient:
            logger.error(message, extra={**self._log, "error": str(error)})
            raise error
        logger.warning(message, extra={**self._log, "error": str(error)})
        return _Attempt.FAILED


def _transitions(spec: dict[str, Any]) -> int:
    value = spec.get("leaseTransitions")
    return value if isinstance(value, int) else 0


def _with_spec(lease: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """The lease with a new spec; metadata (and its resourceVersion) kept for the PUT."""
    body = copy.deepcopy(lease)
    body["spec"] = spec
    body.setdefault("apiVersion", LEASE_API_VERSION)
    body.setdefault("kind", "Lease")
    return body
