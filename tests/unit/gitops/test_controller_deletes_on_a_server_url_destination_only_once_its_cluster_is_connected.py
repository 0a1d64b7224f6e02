"""An Application whose destination is an API server URL (``spec.destination.server``) is
matched to a registered cluster through that cluster's connection. Deleted (with the
resources finalizer) while a registered cluster is not connected, it may be that cluster's:
the finalizer stays, and the controller looks again, until every registered cluster is
connected; then its objects are deleted from the member and the finalizer goes. (Without
the wait, "no cluster has this URL" would drop the finalizer and orphan the objects.)

m1 is disconnected by deleting its kubeconfig Secret (``MemberConnections`` drops a member
whose credentials go) and connected again by putting the Secret back; the Cluster stays
registered and Ready throughout.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flotilla.api import SYSTEM_NAMESPACE
from flotilla.api.application import RESOURCES_FINALIZER

from ..propagation.harness import SECRETS
from .controller_harness import MEMBER, TARGET_NAMESPACE, application, configmap_file, world

FILES: dict[str, str | None] = {
    f"guestbook/{name}.yaml": configmap_file(name) for name in ("alpha", "beta")
}
KUBECONFIG = f"{MEMBER}-kubeconfig"


def by_server(url: str) -> dict[str, Any]:
    destination = {"server": f"https://{MEMBER}.test", "namespace": TARGET_NAMESPACE}
    return application(
        url, automated={}, destination=destination, finalizers=(RESOURCES_FINALIZER,)
    )


async def test_the_finalizer_waits_for_the_cluster_to_connect(tmp_path: Path) -> None:
    async with world(tmp_path, files=FILES, app=by_server) as here:
        await here.until(lambda: here.names_on_member() == {"alpha", "beta"})
        await here.until(here.synced)
        await here.settle()

        # m1 goes away (still registered); the Application is deleted meanwhile.
        kubeconfig = here.fleet.hub.get(f"{SECRETS}/{KUBECONFIG}")
        assert kubeconfig is not None
        here.fleet.hub.delete(SECRETS, f"{SYSTEM_NAMESPACE}/{KUBECONFIG}")
        await here.until(lambda: MEMBER not in here.members.connected())
        before = here.passes()
        await here.delete_app()
        await here.until(lambda: here.passes() > before)
        await here.settle()
        await here.advance(12.0)  # the 5 s looks again, twice over

        meta = here.app().get("metadata") or {}
        assert meta.get("finalizers") == [RESOURCES_FINALIZER], "the finalizer stays"
        assert meta.get("deletionTimestamp")
        assert here.names_on_member() == {"alpha", "beta"}
        assert here.passes() > before + 2, "it kept looking"

        # m1 connects again: its objects go, then the finalizer (and the Application).
        kubeconfig["metadata"].pop("resourceVersion", None)
        here.fleet.hub.put(SECRETS, kubeconfig)
        await here.until(lambda: MEMBER in here.members.connected())
        await here.until(lambda: not here.app())
        assert here.names_on_member() == set()
