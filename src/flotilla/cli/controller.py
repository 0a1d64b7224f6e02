"""``flotilla controller run``: the controller process."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from pathlib import Path

import click

from flotilla import manager
from flotilla.cli import logs
from flotilla.cli.errors import fail_on_errors
from flotilla.cli.hubconn import hub_options, hub_target
from flotilla.kube import in_cluster_config, load_kubeconfig
from flotilla.runtime.leader import LeadershipLost


@click.group()
def controller() -> None:
    """The Flotilla controller."""


@controller.command("run")
@hub_options
@click.option("--in-cluster", is_flag=True, help="Use the pod's ServiceAccount for the hub.")
@click.option("--leader-elect", is_flag=True, help="Lead through a Lease; others stand by.")
@click.option("--identity", default=None, help="Leader election identity [default: host-random]")
@click.option(
    "--metrics-bind-address",
    default="127.0.0.1:8080",
    show_default=True,
    help="HOST:PORT for /metrics, /healthz and /readyz (port 0 picks one).",
)
@click.option("--log-level", default="info", show_default=True)
@fail_on_errors
def run(
    *,
    hub_kubeconfig: Path | None,
    hub_context: str,
    in_cluster: bool,
    leader_elect: bool,
    identity: str | None,
    metrics_bind_address: str,
    log_level: str,
) -> None:
    """Run the controllers against the hub until stopped."""
    logs.setup(log_level)
    host, _, port = metrics_bind_address.rpartition(":")
    if in_cluster:
        config = in_cluster_config()
    else:
        target = hub_target(hub_kubeconfig, hub_context)
        config = load_kubeconfig(target.kubeconfig, context=target.context)
    options = manager.ManagerOptions(
        leader_elect=leader_elect,
        metrics_host=host or "127.0.0.1",
        metrics_port=int(port),
        identity=identity,
    )

    def serving(bound: int) -> None:
        click.echo(f"serving /metrics on {options.metrics_host}:{bound}", err=True)

    async def main() -> None:
        # SIGTERM (a pod being stopped) cancels the manager: controllers stop and a leader
        # releases its lease, so a standby takes over at once.
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await manager.run(config, options, serving=serving)

    try:
        asyncio.run(main())
    except LeadershipLost:
        click.echo("error: lost leadership; exiting so a fresh process can stand again", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        pass
