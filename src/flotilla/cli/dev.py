"""``flotilla dev``: the local fleet of real control planes on this machine."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from flotilla.api import ClusterName
from flotilla.cli.errors import EXPECTED
from flotilla.cli.output import console
from flotilla.devfleet import (
    MAX_MEMBERS,
    ClusterStatus,
    FaultAction,
    Fleet,
    FleetStatus,
    default_directory,
)
from flotilla.devfleet.components import CLUSTERSET_DNS
from flotilla.devfleet.topology import DNS_PORT

T = TypeVar("T")


def _run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(coro)
    except EXPECTED as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


@click.group()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="State directory of the fleet [default: $FLOTILLA_DEV_DIR or ~/.local/state/flotilla/dev]",
)
@click.pass_context
def dev(ctx: click.Context, directory: Path | None) -> None:
    """A local fleet: a hub and member clusters, each a real control plane."""
    ctx.obj = directory or default_directory()


@dev.command()
@click.option(
    "--members",
    type=click.IntRange(1, MAX_MEMBERS),
    default=None,
    help="Number of member clusters [default: 3, or what the running fleet has]",
)
@click.pass_obj
def up(directory: Path, members: int | None) -> None:
    """Start the hub and the members (idempotent: starts only what is missing)."""
    lines: dict[ClusterName, str] = {}

    def render() -> Table:
        table = Table(show_header=False, box=None)
        for name, message in lines.items():
            table.add_row(f"[bold]{name}[/bold]", message)
        return table

    if console.is_terminal:
        with Live(render(), console=console, transient=True) as live:

            def progress(cluster: ClusterName, message: str) -> None:
                lines[cluster] = message
                live.update(render())

            status = _run(Fleet(directory, progress=progress).up(members=members))
    else:

        def log(cluster: ClusterName, message: str) -> None:
            console.print(f"{cluster}: {message}", highlight=False)

        status = _run(Fleet(directory, progress=log).up(members=members))
    _print_table(status)
    console.print(f"kubeconfig: {status.kubeconfig}", highlight=False)
    if not all(cluster.ready for cluster in status.clusters):
        sys.exit(1)


@dev.command()
@click.option("-o", "--output", type=click.Choice(["table", "json"]), default="table")
@click.pass_obj
def status(directory: Path, output: str) -> None:
    """Show every cluster of the fleet, its components and whether its API answers."""
    result = _run(Fleet(directory).status())
    if output == "json":
        click.echo(json.dumps(result.to_json(), indent=2))
        return
    if not result.clusters:
        console.print("no fleet here; start one with `flotilla dev up`", highlight=False)
        return
    _print_table(result, components=True)


@dev.command()
@click.pass_obj
def kubeconfig(directory: Path) -> None:
    """Print the path of the fleet's kubeconfig (a context per cluster)."""
    path = Fleet(directory).kubeconfig
    if not path.exists():
        click.echo(
            f"error: no kubeconfig at {path}; start the fleet with `flotilla dev up`", err=True
        )
        sys.exit(1)
    click.echo(str(path))


@dev.command()
@click.option("--purge", is_flag=True, help="Also delete the clusters' data and certificates")
@click.pass_obj
def down(directory: Path, purge: bool) -> None:
    """Stop every process of the fleet (data is kept unless --purge)."""
    stopped = _run(Fleet(directory).down(purge=purge))
    console.print(f"stopped {stopped} processes" + (", data deleted" if purge else ""))


@dev.command()
@click.argument("cluster")
@click.argument("action", type=click.Choice([action.value for action in FaultAction]))
@click.pass_obj
def fault(directory: Path, cluster: str, action: str) -> None:
    """Break or heal a cluster: crash (SIGKILL), hang (SIGSTOP) or heal its API server."""
    _run(Fleet(directory).fault(cluster, FaultAction(action)))
    console.print(f"{cluster}: {action}", highlight=False)


def _print_table(status: FleetStatus, *, components: bool = False) -> None:
    table = Table(title=f"fleet in {status.directory}", title_justify="left")
    for column in ("NAME", "ROLE", "SERVER", "READY", "VERSION", "NODES", "DNS", "LABELS"):
        table.add_column(column)
    if components:
        table.add_column("COMPONENTS")
    for cluster in status.clusters:
        if not cluster.ready:
            ready = f"[red]no[/red] {escape(cluster.detail)}"
        elif cluster.detail:
            ready = f"[yellow]yes[/yellow] {escape(cluster.detail)}"
        else:
            ready = "[green]yes[/green]"
        row = [
            cluster.name,
            cluster.role,
            cluster.server,
            ready,
            cluster.version,
            "" if cluster.nodes is None else str(cluster.nodes),
            _dns(cluster),
            ",".join(f"{k}={v}" for k, v in cluster.labels.items()),
        ]
        if components:
            row.append(" ".join(f"{k}:{v}" for k, v in cluster.components.items()))
        table.add_row(*row)
    console.print(table)


def _dns(cluster: ClusterStatus) -> str:
    """Where the member answers for clusterset.local, and whether it runs."""
    state = cluster.components.get(CLUSTERSET_DNS)
    if state is None:
        return ""
    host = urlsplit(cluster.server).hostname or ""
    where = f"{host}:{DNS_PORT}"
    return where if state == "running" else f"[red]{where} {escape(state)}[/red]"
