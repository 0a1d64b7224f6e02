"""An automated sync whose next wave waits for this one to be healthy is looked at again
after ``WAVE_RETRY``, not on every pass: wave 0 is a Deployment the member never makes ready
(nothing runs its pods), wave 1 a ConfigMap (``argocd.argoproj.io/sync-wave: "1"``); the
operation stays Running. Every event in the meantime (a Cluster event enqueues every
Application) is a pass that must not sync again: each sync writes a new operationState
(its ``startedAt``), and that write is an Application event, the next pass, and so on.

The member serves ``apps/v1`` (its discovery document is added before the commit), and
its Deployment keeps no status (``status`` is a subresource nobody writes). Fake time moves
only by ``World.advance``: by a tenth of a second before each event, so that a sync
again would write a new ``startedAt``, and never as far as ``WAVE_RETRY`` in the burst.
"""

from __future__ import annotations

from pathlib import Path

from flotilla.gitops.controller import WAVE_RETRY

from ..kube.fake_discovery import APPS_V1
from .controller_harness import TARGET_NAMESPACE, configmap_file, world

DEPLOYMENT = f"/apis/apps/v1/namespaces/{TARGET_NAMESPACE}/deployments/web"
WAVES: dict[str, str | None] = {
    "guestbook/deployment.yaml": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx
""",
    "guestbook/late.yaml": configmap_file(
        "late", annotations={"argocd.argoproj.io/sync-wave": "1"}
    ),
}
EVENTS = 8
STEP = 0.1


async def test_a_sync_waiting_on_a_wave_does_not_sync_again_on_every_pass(
    tmp_path: Path,
) -> None:
    async with world(tmp_path) as here:
        await here.until(here.synced)
        await here.settle()
        here.member.documents["/apis/apps/v1"] = APPS_V1
        here.commit(WAVES, "a deployment, then a config map in the next wave")
        await here.until(lambda: here.operation_state().get("phase") == "Running")
        await here.settle()
        assert here.member.get(DEPLOYMENT), "wave 0 is applied"
        assert "late" not in here.names_on_member(), "wave 1 waits for wave 0"
        assert "sync wave" in here.operation_state()["message"]
        applies = len(here.member_writes(DEPLOYMENT))
        syncs = here.syncs_written()

        # A burst of events, short of WAVE_RETRY: passes, but no sync.
        assert EVENTS * STEP < WAVE_RETRY
        before = here.passes()
        for _ in range(EVENTS):
            await here.advance(STEP)
            await here.touch_cluster()
        assert here.passes() >= before + EVENTS
        assert here.syncs_written() == syncs
        assert len(here.member_writes(DEPLOYMENT)) == applies
        assert "late" not in here.names_on_member()

        # WAVE_RETRY is over: one more look (the wave still waits), then a wait again.
        await here.advance(WAVE_RETRY)
        assert len(here.syncs_written()) == len(syncs) + 1
        for _ in range(3):
            await here.touch_cluster()
        assert len(here.syncs_written()) == len(syncs) + 1
        assert here.operation_state().get("phase") == "Running"
        assert "late" not in here.names_on_member()

        # The Deployment becomes ready: at the next look, wave 1 follows.
        generation = here.member.get(DEPLOYMENT)["metadata"]["generation"]
        ready = {"observedGeneration": generation, "replicas": 1, "updatedReplicas": 1,
                 "readyReplicas": 1, "availableReplicas": 1}  # fmt: skip
        here.member.merge_patch(f"{DEPLOYMENT}/status", {"status": ready}, manager="kcm")
        await here.advance(WAVE_RETRY + 0.5)
        await here.until(lambda: "late" in here.names_on_member())
        await here.until(lambda: here.operation_state().get("phase") == "Succeeded")
