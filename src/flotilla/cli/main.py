"""Entry point of the ``flotilla`` command."""

from __future__ import annotations

import click

from flotilla import __version__
from flotilla.cli.app import app
from flotilla.cli.appset import appset
from flotilla.cli.cluster import cluster
from flotilla.cli.connectivity import connectivity
from flotilla.cli.controller import controller
from flotilla.cli.dev import dev
from flotilla.cli.dns import dns
from flotilla.cli.gitrepo import gitrepo
from flotilla.cli.hub import hub
from flotilla.cli.mesh import mesh
from flotilla.cli.placement import placement


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="flotilla")
def cli() -> None:
    """Operate many Kubernetes clusters as one fleet."""


cli.add_command(dev)
cli.add_command(cluster)
cli.add_command(hub)
cli.add_command(controller)
cli.add_command(placement)
cli.add_command(app)
cli.add_command(appset)
cli.add_command(gitrepo)
cli.add_command(dns)
cli.add_command(mesh)
cli.add_command(connectivity)


def main() -> None:
    cli()
