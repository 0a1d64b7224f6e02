"""Reading the Argo CD and Fleet kinds Flotilla serves (ApplicationSets, GitRepos) for the
CLI: a 404 says whether the kind is not served on this hub or there is no such object."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from flotilla.api.crds import KindInfo
from flotilla.cli.hubconn import HubTarget
from flotilla.kube import NotFound, resource_path

F = TypeVar("F", bound=Callable[..., Any])


def path(kind: KindInfo, namespace: str | None, name: str | None = None) -> str:
    return resource_path(kind.api_version, kind.plural, namespace=namespace, name=name)


def namespace_option(flag: str, default: str, kind: KindInfo) -> Callable[[F], F]:
    """``-N``/``flag``: the hub namespace the object lives in, into ``namespace``."""
    return click.option(
        "-N",
        flag,
        "namespace",
        default=default,
        show_default=True,
        help=f"The hub namespace the {kind.kind} lives in.",
    )


async def read(target: HubTarget, kind: KindInfo, namespace: str | None, name: str | None) -> Any:
    """The object (``name``) or the list (None) at ``namespace``."""
    async with target.client() as hub:
        try:
            return await hub.get(path(kind, namespace, name))
        except NotFound:
            try:
                await hub.get(path(kind, namespace), limit="1")
            except NotFound:
                raise click.ClickException(
                    f"this hub does not serve {kind.kind}s: run `flotilla hub install`"
                ) from None
            raise click.ClickException(
                f"no {kind.kind} {name!r} in namespace {namespace!r}"
            ) from None
