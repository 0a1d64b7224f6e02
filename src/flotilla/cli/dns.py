"""``flotilla dns``: the DNS data plane a member runs."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from flotilla.cli import logs
from flotilla.cli.controller import run_until_stopped
from flotilla.cli.errors import fail_on_errors
from flotilla.cli.hubconn import default_kubeconfig
from flotilla.discovery import dnsserving
from flotilla.dns import DnsServer
from flotilla.kube import KubeClient, in_cluster_config, load_kubeconfig
from flotilla.kube.config import SERVICE_ACCOUNT_DIR
from flotilla.runtime.clock import LoopClock


@click.group()
def dns() -> None:
    """Flotilla's DNS servers."""


@dns.command()
@click.option(
    "--kubeconfig",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The member's kubeconfig [default: in-cluster, else $KUBECONFIG]",
)
@click.option("--context", default=None, help="The member's context in --kubeconfig.")
@click.option(
    "--listen",
    default="0.0.0.0:53",
    show_default=True,
    metavar="HOST:PORT",
    help="Where to answer, UDP and TCP.",
)
@click.option("--log-level", default="info", show_default=True)
@fail_on_errors
def serve(kubeconfig: Path | None, context: str | None, listen: str, log_level: str) -> None:
    """Answer for clusterset.local from this member's ServiceImports and EndpointSlices.

    Reads only the member it is given: it keeps answering while the hub is down.
    """
    logs.setup(log_level)
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise click.BadParameter(f"{listen!r} is not HOST:PORT", param_hint="--listen")
    if kubeconfig is None and (SERVICE_ACCOUNT_DIR / "token").exists():
        config = in_cluster_config(SERVICE_ACCOUNT_DIR)
    else:
        config = load_kubeconfig(kubeconfig or default_kubeconfig(), context=context)

    async def work() -> None:
        async with KubeClient(config) as client:
            started = asyncio.Event()
            server = DnsServer()

            async def announce() -> None:
                await started.wait()
                where = server.listening
                if where is not None:
                    click.echo(
                        f"serving clusterset.local on {where.host}:{where.udp_port}", err=True
                    )

            async with asyncio.TaskGroup() as group:
                group.create_task(announce())
                await dnsserving.serve(
                    client, server, host=host.strip("[]"), port=int(port),
                    clock=LoopClock(), started=started,
                )  # fmt: skip

    sys.exit(run_until_stopped(work))
