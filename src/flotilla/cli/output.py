"""Where the CLI writes for people."""

from __future__ import annotations

import sys

from rich.console import Console

# Not a terminal (CI logs, pipes): wide enough that tables are not cut.
console = Console(width=None if sys.stdout.isatty() else 160)
