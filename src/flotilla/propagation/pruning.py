"""Prune: what a pass may delete on one member, decided without I/O, then deleted.

"Unsure" never means "delete". The rules, in the order ``decide`` applies them:

1. Only this owner's objects are candidates: they carry its owner label *and* this hub's
   id (the member informer's selector), and they live in the namespaces it writes (a
   Placement's own; an Application's destination and those its syncs wrote). A label
   copied onto an object elsewhere never makes it prunable.
2. An object is pruned only after it has been unwanted for the grace period. The grace
   restarts whenever the set of unwanted objects changes, so a template deleted and created
   again (``kubectl replace --force``) is not a delete.
3. The deletion guard: within one window (``GUARD_WINDOW``) a pass removes at most
   ``maxDeletePercent`` of the Placement's objects on that member, counting what earlier
   passes of the window removed, on *every* member (chosen or not: a removed cluster label
   or a typo in ``clusterAffinity`` un-chooses clusters as surely as it empties them).
   Only a confirmation, a failover evacuation or a deliberate delete of the Placement lifts
   it. Its memory (``PruneRecord``) lives in the Placement's status, so a new leader keeps
   the window.
4. A confirmation (``flotilla placement confirm-prune``) counts once: only if it was made
   after the guard stopped a pass, not in the future, within ``CONFIRM_WINDOW``, and not
   already used by an earlier pass; and it lets go only what the guard held on each member
   (``PruneRecord.blocked_digest``), not what became unwanted since.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from flotilla.api.placement import PruneRecord
from flotilla.kube import KubeClient, KubeError, NotFound, RestMapper, resource_path
from flotilla.propagation.render import prune_order

logger = logging.getLogger(__name__)

GUARD_WINDOW = datetime.timedelta(seconds=60)
CONFIRM_WINDOW = datetime.timedelta(minutes=10)
"""How long after it was given a confirmation may be used."""
CLOCK_SKEW = datetime.timedelta(seconds=5)
"""How far in our future a confirmation may be dated (the CLI's clock is not ours)."""

ObjectKey = tuple[str, str, str, str]
"""(API group, kind, namespace, name) of an object: the version is left out, so a template
moved from ``autoscaling/v1`` to ``autoscaling/v2`` is still the object seen through the
old version's informer, never an unwanted one."""


def object_key(item: dict[str, Any]) -> ObjectKey:
    meta = item.get("metadata") or {}
    return (
        str(item.get("apiVersion") or "").rpartition("/")[0],
        str(item.get("kind") or ""),
        str(meta.get("namespace") or ""),
        str(meta.get("name") or ""),
    )


@dataclass(frozen=True)
class Decision:
    """What ``decide`` allows on one member."""

    delete: tuple[dict[str, Any], ...]
    record: PruneRecord
    """The guard's memory after this pass (write it to status)."""
    blocked: str = ""
    """Why the guard holds (for the PruneBlocked condition); "" when it does not."""
    wait: float | None = None
    """Seconds until the grace period of the waiting objects ends, when some wait."""
    confirmed: bool = False
    """A confirmation let this deletion past the guard (so the confirmation is spent)."""


def decide(
    *,
    cluster: str,
    namespaces: frozenset[str],
    managed: Sequence[dict[str, Any]],
    wanted: Iterable[ObjectKey],
    record: PruneRecord | None,
    now: datetime.datetime,
    grace_seconds: float,
    guard_percent: int,
    guarded: bool,
    confirmed: bool = False,
) -> Decision:
    """Which of ``managed`` (this owner's objects on ``cluster``) to delete now; only those
    in ``namespaces`` ("" for cluster-scoped objects) are ever candidates."""
    record = record or PruneRecord(cluster=cluster)
    if record.window_start is not None and now - record.window_start >= GUARD_WINDOW:
        record = record.model_copy(update={"window_start": None, "pruned_in_window": 0})
    mine = [item for item in managed if object_key(item)[2] in namespaces]
    wanted = set(wanted)
    unwanted = [item for item in mine if object_key(item) not in wanted]
    if not unwanted:  # nothing waits, nothing is held (a later confirmation matches nothing)
        idle_now = {"pending_since": None, "pending_digest": "", "blocked_digest": ""}
        return Decision((), record.model_copy(update=idle_now))

    digest = _digest_of(unwanted)
    if record.pending_digest != digest or record.pending_since is None:
        record = record.model_copy(update={"pending_since": now, "pending_digest": digest})
    waited = (now - record.pending_since).total_seconds() if record.pending_since else 0.0
    if waited < grace_seconds:
        return Decision((), record, wait=grace_seconds - waited)

    if guarded:
        removing = len(unwanted) + record.pruned_in_window
        total = len(mine) + record.pruned_in_window
        share = 100 * removing / total
        # A confirmation lets go exactly what the guard held: not what became unwanted since.
        released = confirmed and record.blocked_digest == digest
        if share > guard_percent and not released:
            message = (
                f"{cluster}: pruning would remove {removing} of {total} objects within "
                f"{GUARD_WINDOW.total_seconds():.0f}s ({share:.0f}% > {guard_percent}%)"
            )
            held = record.model_copy(update={"blocked_digest": digest})
            return Decision((), held, blocked=message)
    done = record.model_copy(
        update={
            "pending_since": None,
            "pending_digest": "",
            "blocked_digest": "",
            "window_start": record.window_start or now,
            "pruned_in_window": record.pruned_in_window + len(unwanted),
        }
    )
    over = guarded and 100 * (len(unwanted) + record.pruned_in_window) > guard_percent * (
        len(mine) + record.pruned_in_window
    )
    return Decision(tuple(prune_order(unwanted)), done, confirmed=over)


def idle(record: PruneRecord) -> bool:
    """Whether a record remembers nothing (it need not be kept in status)."""
    return (
        record.pending_since is None and record.window_start is None and not record.blocked_digest
    )


def confirmation_valid(
    annotation: str,
    *,
    blocked_since: datetime.datetime | None,
    used: str,
    now: datetime.datetime,
) -> bool:
    """Whether a confirm-prune annotation lets this pass past the guard (rule 4)."""
    if not annotation or annotation == used or blocked_since is None:
        return False
    when = parse_time(annotation)
    if when is None:
        return False
    return blocked_since <= when <= now + CLOCK_SKEW and now - when <= CONFIRM_WINDOW


def parse_time(text: str) -> datetime.datetime | None:
    """An RFC 3339 time as the API writes it, in UTC; None when it is not one."""
    try:
        when = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.replace(tzinfo=datetime.UTC) if when.tzinfo is None else when


def _digest_of(items: Iterable[dict[str, Any]]) -> str:
    keys = sorted("/".join(object_key(item)) for item in items)
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16]


class Deleter:
    """Deletes what ``decide`` allowed, resolving kinds with the member's own REST mapping."""

    def __init__(self, *, forget: Callable[[str, str], None]) -> None:
        self._forget = forget
        """Called with (cluster, path) for every object deleted (the applier's cache)."""

    async def delete_all(
        self,
        client: KubeClient,
        mapper: RestMapper,
        cluster: str,
        items: Sequence[dict[str, Any]],
    ) -> bool:
        """Delete ``items`` in order; True when every one is gone."""
        complete = True
        for item in items:
            complete = await self._delete(client, mapper, cluster, item) and complete
        return complete

    async def _delete(
        self, client: KubeClient, mapper: RestMapper, cluster: str, item: dict[str, Any]
    ) -> bool:
        try:
            info = await mapper.resource_for(item["apiVersion"], item["kind"])
        except (KubeError, ValueError):
            return False
        meta = item["metadata"]
        namespace = meta.get("namespace") if info.namespaced else None
        path = resource_path(
            item["apiVersion"], info.plural, namespace=namespace, name=meta["name"]
        )
        # Preconditions: delete exactly the object we judged, not one created since.
        uid = meta.get("uid")
        try:
            if uid:
                await client.request(
                    "DELETE",
                    path,
                    body={
                        "apiVersion": "v1",
                        "kind": "DeleteOptions",
                        "propagationPolicy": "Background",
                        "preconditions": {"uid": uid},
                    },
                )
            else:
                await client.delete(path, propagationPolicy="Background")
        except NotFound:
            pass
        except KubeError as exc:
            logger.warning(
                "prune failed",
                extra={"cluster": cluster, "object": f"{item['kind']} {meta['name']}",
                       "error": type(exc).__name__},
            )  # fmt: skip
            return False
        self._forget(cluster, path)
        logger.info(
            "pruned", extra={"cluster": cluster, "object": f"{item['kind']} {meta['name']}"}
        )
        return True


__all__ = [
    "CONFIRM_WINDOW",
    "GUARD_WINDOW",
    "Decision",
    "Deleter",
    "ObjectKey",
    "confirmation_valid",
    "decide",
    "idle",
    "object_key",
    "parse_time",
]
