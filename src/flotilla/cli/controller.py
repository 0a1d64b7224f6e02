"""``flotilla controller run``: the controller process."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import click

from flotilla import manager
from flotilla.api.application import DEFAULT_APP_NAMESPACES
from flotilla.cli import logs
from flotilla.cli.errors import fail_on_errors
from flotilla.cli.hubconn import hub_options, hub_target
from flotilla.devfleet.binaries import find_tool
from flotilla.discovery.allocating import DEFAULT_RANGES, RangeError, Ranges
from flotilla.kube import KubeError, in_cluster_config, load_kubeconfig
from flotilla.kube.config import SERVICE_ACCOUNT_DIR
from flotilla.propagation.tenancy import DEFAULT_RESERVED_NAMESPACES, TenancyPolicy
from flotilla.runtime.leader import LeadershipLost


@click.group()
def controller() -> None:
    """The Flotilla controller."""


@controller.command("run")
@hub_options
@click.option("--in-cluster", is_flag=True, help="Use the pod's ServiceAccount for the hub.")
@click.option(
    "--service-account-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=SERVICE_ACCOUNT_DIR,
    show_default=True,
    help="Where --in-cluster finds the ServiceAccount's token and CA.",
)
@click.option("--leader-elect", is_flag=True, help="Lead through a Lease; others stand by.")
@click.option("--identity", default=None, help="Leader election identity [default: host-random]")
@click.option(
    "--metrics-bind-address",
    default="127.0.0.1:8080",
    show_default=True,
    help="HOST:PORT for /metrics, /healthz and /readyz (port 0 picks one).",
)
@click.option(
    "--reserved-namespace",
    "reserved",
    multiple=True,
    metavar="NS",
    help="Also reserve this namespace (beside kube-system, kube-public, kube-node-lease and "
    "flotilla-system): Placements never write into it. Repeatable.",
)
@click.option(
    "--allow-namespace",
    "allowed",
    multiple=True,
    metavar="NS",
    help="Let Placements write into this reserved namespace after all. Repeatable.",
)
@click.option(
    "--allow-cluster-kind",
    "cluster_kinds",
    multiple=True,
    metavar="KIND.GROUP",
    help="Let Placements write objects of this kind where a member serves it as "
    "cluster-scoped (KIND.GROUP; the hub's cluster-scoped kinds are never templates). "
    "Repeatable.",
)
@click.option(
    "--adopt-namespace",
    "adoptable",
    multiple=True,
    metavar="NS",
    help="Let Placements write into this namespace on members that have it although "
    "Flotilla did not create it ('*': any; for one team that owns its members). Repeatable.",
)
@click.option(
    "--app-namespace",
    "app_namespaces",
    multiple=True,
    metavar="NS",
    help="Hub namespace whose Applications, ApplicationSets and GitRepos are reconciled "
    "[default: argocd, fleet-default]. Repeatable.",
)
@click.option(
    "--git-poll-interval",
    default=180.0,
    show_default=True,
    type=click.FloatRange(min=5),
    help="Seconds between polls of a repository (webhooks trigger at once).",
)
@click.option(
    "--git-url-rewrite",
    "rewrites",
    multiple=True,
    metavar="FROM=TO",
    help="Fetch URLs starting with FROM from TO instead (git's url.TO.insteadOf=FROM). Repeatable.",
)
@click.option(
    "--git-cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where fetched repositories are kept [default: a new temporary directory].",
)
@click.option(
    "--webhook-allow-unsigned",
    is_flag=True,
    help="Accept push webhooks of providers without a secret in flotilla-webhook.",
)
@click.option(
    "--clusterset-ip-range",
    "clusterset_ranges",
    multiple=True,
    metavar="CIDR",
    help="Where ClusterSetIP imports get their addresses, one range per IP family "
    f"[default: {', '.join(DEFAULT_RANGES)}]. Repeatable.",
)
@click.option(
    "--clusterset-name",
    default="flotilla",
    show_default=True,
    help="The clusterset's name (members' clusterset.k8s.io ClusterProperty).",
)
@click.option("--log-level", default="info", show_default=True)
@fail_on_errors
def run(
    *,
    hub_kubeconfig: Path | None,
    hub_context: str,
    in_cluster: bool,
    service_account_dir: Path,
    leader_elect: bool,
    identity: str | None,
    metrics_bind_address: str,
    reserved: tuple[str, ...],
    allowed: tuple[str, ...],
    cluster_kinds: tuple[str, ...],
    adoptable: tuple[str, ...],
    app_namespaces: tuple[str, ...],
    git_poll_interval: float,
    rewrites: tuple[str, ...],
    git_cache_dir: Path | None,
    webhook_allow_unsigned: bool,
    clusterset_ranges: tuple[str, ...],
    clusterset_name: str,
    log_level: str,
) -> None:
    """Run the controllers against the hub until stopped."""
    logs.setup(log_level)
    pairs = []
    for rewrite in rewrites:
        old, sep, new = rewrite.partition("=")
        if not sep or not old or not new:
            raise click.BadParameter(f"{rewrite!r} is not FROM=TO", param_hint="--git-url-rewrite")
        pairs.append((old, new))
    try:
        Ranges.parse(clusterset_ranges or DEFAULT_RANGES)
    except RangeError as exc:
        raise click.BadParameter(str(exc), param_hint="--clusterset-ip-range") from None
    host, _, port = metrics_bind_address.rpartition(":")
    if in_cluster:
        config = in_cluster_config(service_account_dir)
    else:
        target = hub_target(hub_kubeconfig, hub_context)
        config = load_kubeconfig(target.kubeconfig, context=target.context)
    options = manager.ManagerOptions(
        leader_elect=leader_elect,
        metrics_host=host or "127.0.0.1",
        metrics_port=int(port),
        identity=identity,
        tenancy=TenancyPolicy(
            reserved_namespaces=DEFAULT_RESERVED_NAMESPACES | set(reserved),
            allowed_reserved=frozenset(allowed),
            allowed_cluster_kinds=frozenset(cluster_kinds),
            adoptable_namespaces=frozenset(adoptable),
        ),
        gitops=manager.GitOpsOptions(
            app_namespaces=frozenset(app_namespaces or DEFAULT_APP_NAMESPACES),
            poll_interval=git_poll_interval,
            rewrites=tuple(pairs),
            cache_dir=git_cache_dir,
            kubectl=find_tool("kubectl"),
            helm=find_tool("helm"),
            gotemplate=find_tool("flotilla-gotemplate"),
            webhook_allow_unsigned=webhook_allow_unsigned,
        ),
        discovery=manager.DiscoveryOptions(
            ranges=clusterset_ranges or DEFAULT_RANGES, clusterset=clusterset_name
        ),
    )

    def serving(bound: int) -> None:
        click.echo(f"serving /metrics on {options.metrics_host}:{bound}", err=True)

    sys.exit(run_until_stopped(lambda: manager.run(config, options, serving=serving)))


EXIT_LEADERSHIP_LOST = 2
"""Documented in docs/architecture.md: the lease was lost; restart the process fresh."""


def run_until_stopped(work: Callable[[], Awaitable[None]]) -> int:
    """Run ``work`` in a new event loop until it ends or SIGTERM/SIGINT; the exit code.

    The manager runs the elector inside TaskGroups, so what it raises arrives in (nested)
    ExceptionGroups. A ``LeadershipLost`` anywhere in them is exit code 2, whatever else
    was cancelled with it. A single ``KubeError`` (a 403 on the lease, say) is raised on its
    own so that ``fail_on_errors`` prints it; anything else propagates with its traceback.
    """

    async def main() -> None:
        # SIGTERM (a pod being stopped) cancels the manager: controllers stop and a leader
        # releases its lease, so a standby takes over at once.
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await work()

    lost = False
    failure: BaseException | None = None
    try:
        try:
            asyncio.run(main())
        except* LeadershipLost:
            lost = True
        except* KubeError as errors:
            failure = _alone(errors)
    except KeyboardInterrupt:
        return 0
    if lost:
        click.echo("error: lost leadership; exiting so a fresh process can stand again", err=True)
        return EXIT_LEADERSHIP_LOST
    if failure is not None:
        raise failure
    return 0


def _alone(errors: BaseExceptionGroup[KubeError]) -> BaseException:
    """The one error in ``errors`` however deeply nested, or the group if there are more."""
    leaves: list[BaseException] = []
    pending: list[BaseException] = [errors]
    while pending:
        error = pending.pop()
        if isinstance(error, BaseExceptionGroup):
            pending.extend(error.exceptions)
        else:
            leaves.append(error)
    return leaves[0] if len(leaves) == 1 else errors
