"""Options several commands share, parsed one way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def pairs(values: tuple[str, ...], *, option: str) -> list[tuple[str, str]]:
    """``KEY=VALUE`` values of ``option`` as (key, value)."""
    found = []
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{value!r} is not KEY=VALUE", param_hint=option)
        found.append((key.strip(), val))
    return found


def rewrite_option(command: F) -> F:
    """``--git-url-rewrite FROM=TO`` (as ``controller run`` takes it), into ``rewrites``."""
    return click.option(
        "--git-url-rewrite", "rewrites", multiple=True,
        help="FROM=TO: fetch URLs under FROM from TO.",
    )(command)  # fmt: skip
