"""One place where errors become messages and exit codes."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from flotilla.clusters import CredentialError, RegistryError, VerificationError
from flotilla.devfleet import FleetError, MissingBinaries
from flotilla.hub.install import InstallError
from flotilla.kube import KubeError

F = TypeVar("F", bound=Callable[..., Any])

EXPECTED: tuple[type[Exception], ...] = (
    KubeError,
    FleetError,
    MissingBinaries,
    InstallError,
    CredentialError,
    RegistryError,
    VerificationError,
    click.ClickException,
)


def fail_on_errors(command: F) -> F:
    """Print an expected error as ``error: ...`` and exit 1, without a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except click.ClickException:
            raise
        except EXPECTED as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]
