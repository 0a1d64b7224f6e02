"""Confirming what the deletion guard holds, for the owners of generated Applications
(``appset confirm-delete``, ``gitrepo confirm-delete``)."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Awaitable, Callable
from typing import Any

import click

from flotilla.api.labels import CONFIRM_PRUNE_ANNOTATION
from flotilla.cli.hubconn import HubTarget
from flotilla.cli.output import say
from flotilla.kube.client import MERGE_PATCH


def confirm_deletion(
    target: HubTarget,
    path: str,
    read: Callable[[], Awaitable[dict[str, Any]]],
    *,
    shown: str,
) -> None:
    """Annotate the object at ``path`` (read by ``read``) with a confirmation, if its
    deletion guard holds something now; a confirmation counts only for what is held."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    async def run() -> bool:
        item = await read()
        guard = (item.get("status") or {}).get("pruneGuard") or []
        if not any(record.get("blockedDigest") for record in guard):
            return False
        async with target.client() as hub:
            patch = {"metadata": {"annotations": {CONFIRM_PRUNE_ANNOTATION: now}}}
            await hub.request("PATCH", path, body=patch, content_type=MERGE_PATCH)
        return True

    if not asyncio.run(run()):
        raise click.ClickException(
            f"the deletion guard holds nothing of {shown} now: nothing to confirm"
        )
    say(f"deletion confirmed for {shown}")
