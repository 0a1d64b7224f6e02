"""How CLI commands find the hub: ``--kubeconfig`` and ``--context`` options.

The kubeconfig is, in order: ``--kubeconfig``, ``$KUBECONFIG`` (first file) and
``~/.kube/config``; the context defaults to ``hub``. The local dev fleet is not a default:
``export KUBECONFIG=$(flotilla dev kubeconfig)`` (or ``make shell``) says it once.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from flotilla.kube import KubeClient, load_kubeconfig

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class HubTarget:
    kubeconfig: Path
    context: str

    def client(self, *, timeout: float = 10.0) -> KubeClient:
        return KubeClient(load_kubeconfig(self.kubeconfig, context=self.context), timeout=timeout)


def default_kubeconfig() -> Path:
    if os.environ.get("KUBECONFIG"):
        return Path(os.environ["KUBECONFIG"].split(os.pathsep)[0])
    home = Path.home() / ".kube" / "config"
    if not home.exists():
        raise click.UsageError(
            "no kubeconfig: pass --kubeconfig or set KUBECONFIG "
            "(for the local fleet: export KUBECONFIG=$(flotilla dev kubeconfig))"
        )
    return home


def hub_options(command: F) -> F:
    """``--kubeconfig`` and ``--context`` for commands whose only cluster is the hub."""
    return _options(command, "")


def prefixed_hub_options(command: F) -> F:
    """``--hub-kubeconfig`` and ``--hub-context``, for commands that also take a member's."""
    return _options(command, "hub-")


def _options(command: F, prefix: str) -> F:
    command = click.option(
        f"--{prefix}context",
        "hub_context",
        default="hub",
        show_default=True,
        help="The hub's context.",
    )(command)
    command = click.option(
        f"--{prefix}kubeconfig",
        "hub_kubeconfig",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Kubeconfig with the hub [default: $KUBECONFIG, ~/.kube/config]",
    )(command)
    return command


def hub_target(kubeconfig: Path | None, context: str) -> HubTarget:
    return HubTarget(kubeconfig or default_kubeconfig(), context)
