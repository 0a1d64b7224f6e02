"""An Application deleted and created again under the same name starts with a clean memory:
the first one's source failure (its repository URL points at a port nothing listens on, so
its next fetch waits ``SOURCE_RETRY``) does not hold back the new one, which points at the
right repository. The controller tells them apart by their uid: the delete and the create
come together, so the pass after them may never see the name without an Application.

Fake time never moves here: the new one syncs without any wait running out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.gitservers import free_port

from .controller_harness import APP, APP_NAMESPACE, APPS, automated_application, world

DOWN = f"http://127.0.0.1:{free_port()}/apps.git"


def unreachable(_url: str) -> dict[str, Any]:
    return automated_application(DOWN)


async def test_a_recreated_application_does_not_inherit_the_failure_wait(
    tmp_path: Path,
) -> None:
    async with world(tmp_path, app=unreachable) as here:
        await here.until(lambda: bool(here.condition("ComparisonError")))
        await here.settle()
        assert "cannot fetch" in here.condition("ComparisonError")["message"]
        old = here.app()["metadata"]
        start = here.fleet.clock.monotonic()

        before = here.passes()
        here.fleet.hub.delete(APPS, f"{APP_NAMESPACE}/{APP}")
        new = here.fleet.hub.create(APPS, automated_application(here.url), manager="kubectl")
        assert new["metadata"]["uid"] != old["uid"]
        assert new["metadata"]["generation"] == old["generation"], "a new spec would look anyway"
        await here.until(lambda: here.passes() > before)
        await here.settle()

        assert here.sources.fetches(here.url) >= 1, "the new one fetched at once"
        assert here.synced(), here.status()
        assert here.on_member()["data"] == {"color": "blue"}
        assert here.fleet.clock.monotonic() == start
