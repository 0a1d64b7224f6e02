"""The CLI's git cache, shared by the commands that read git (``app diff``, ``appset
generate``) across runs."""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def cache_dir() -> Path:
    configured = os.environ.get("FLOTILLA_CACHE_DIR")
    return Path(configured) if configured else Path.home() / ".cache" / "flotilla" / "git"


@contextlib.contextmanager
def git_cache() -> Iterator[Path]:
    """The shared git cache, or a private one while another process holds it: a cache
    belongs to one ``GitSources`` at a time (it clears the lock files it finds)."""
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f"{root.name}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            with tempfile.TemporaryDirectory(prefix="flotilla-git-") as private:
                yield Path(private)
            return
        yield root
