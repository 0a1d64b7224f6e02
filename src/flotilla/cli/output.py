"""Where the CLI writes for people, and how: tables, objects as JSON or YAML, lines."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
import yaml
from rich.console import Console
from rich.table import Table
from rich.text import Text

from flotilla.gitops.urls import redact

# Not a terminal (CI logs, pipes): wide enough that tables are not cut.
console = Console(width=None if sys.stdout.isatty() else 160)


def scrubbed(data: Any) -> Any:
    """``data`` with every repository URL (``repoURL``, a Fleet GitRepo's ``repo``) shown
    without its userinfo."""
    if isinstance(data, dict):
        return {
            k: redact(v) if k in ("repoURL", "repo") and isinstance(v, str) else scrubbed(v)
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [scrubbed(v) for v in data]
    return data


def dump(data: Any, output: str) -> None:
    """``data`` (repository URLs scrubbed) as JSON (``output`` "json") or YAML."""
    data = scrubbed(data)
    if output == "json":
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(yaml.safe_dump(data, sort_keys=False))


def columns(*names: str) -> Table:
    """A borderless table with these column headings."""
    table = Table(box=None, pad_edge=False)
    for name in names:
        table.add_column(name)
    return table


def row(table: Table, *cells: Any) -> None:
    # Text, not markup: names and messages may hold "[...]".
    table.add_row(*(Text("" if cell is None else str(cell)) for cell in cells))


def say(text: str) -> None:
    console.print(text, markup=False, highlight=False)
