"""A pretend API server, spoken to through ``httpx.MockTransport``, to test at the wire.

Enough of the Kubernetes API contract to test the client, the runtime and the controllers
through a real ``KubeClient`` instead of patching methods:

- objects live per resource, keyed ``namespace/name``; a namespaced collection path
  (``/api/v1/namespaces/default/configmaps``) shows one namespace, the resource's own path
  (``/api/v1/configmaps``) all of them; every change takes the next resourceVersion;
- LIST honours ``limit``/``continue``, equality ``labelSelector``s, ``metadata.name`` and
  ``metadata.namespace`` field selectors and metadata-only lists; like a real server, list
  items carry no ``apiVersion``/``kind`` while watch objects do;
- WATCH replays the history after the asked resourceVersion, then streams live changes;
  a version older than the last ``compact`` gets an ERROR event with a 410 Status;
  bookmarks go out on ``bookmark``;
- GET, POST, PUT, DELETE (finalizers hold the object, with a ``deletionTimestamp``),
  PATCH as merge patch, JSON patch and server-side apply, and the ``/status``
  subresource of the resources in ``status_subresources``; ``metadata.managedFields``
  say who owns what (see ``fields``); ``documents`` answers fixed paths (``/version``);
- ``inject`` answers the next matching requests with a response or a transport error,
  ``hold`` keeps them waiting; ``requests(method=..., path=...)`` says what was asked;
- ``break_watches``, ``end_watches`` and ``expire_watches`` act on the open streams.

``running`` and ``eventually`` help tests drive a task under test with a ``FakeClock``.
"""

from tests.unit.fakeapi.bodies import APPLY_PATCH, JSON_PATCH, MERGE_PATCH, merge
from tests.unit.fakeapi.driving import FixedRandom, eventually, idle, running, settle_until
from tests.unit.fakeapi.refusals import Refused
from tests.unit.fakeapi.server import DEFAULT_MANAGER, FakeApi
from tests.unit.fakeapi.watching import WatchStream
from tests.unit.fakeapi.wire import (
    Hold,
    RequestLog,
    always,
    body_of,
    configmap,
    error,
    is_continue,
    is_list,
    is_watch,
    key_of,
    matching,
    status,
)

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"

__all__ = [
    "APPLY_PATCH",
    "CONFIGMAPS",
    "DEFAULT_MANAGER",
    "JSON_PATCH",
    "MERGE_PATCH",
    "FakeApi",
    "FixedRandom",
    "Hold",
    "Refused",
    "RequestLog",
    "WatchStream",
    "always",
    "body_of",
    "configmap",
    "error",
    "eventually",
    "idle",
    "is_continue",
    "is_list",
    "is_watch",
    "key_of",
    "matching",
    "merge",
    "running",
    "settle_until",
    "status",
]
