"""Creating an Application on a hub that does not serve them, or whose CRD is Argo CD's."""

from tests.unit.cli.test_app_harness import APPS, CRD, FakeApi, hub_with_crd, invoke
from tests.unit.fakeapi import error

CREATE = [
    "create", "guestbook", "--repo", "https://git.test/org/guestbook.git",
    "--server", "https://m1.test", "--namespace", "web",
]  # fmt: skip


def test_a_hub_without_the_crd_says_to_install_flotilla() -> None:
    hub = FakeApi()
    result = invoke(CREATE, hub)
    assert result.exit_code == 1
    assert "this hub does not serve Applications: run `flotilla hub install`" in result.output
    assert hub.requests(method="POST") == []


def test_a_crd_flotilla_does_not_own_means_its_gitops_is_off() -> None:
    hub = hub_with_crd(ours=False)
    result = invoke(CREATE, hub)
    assert result.exit_code == 1
    assert "Argo CD (or another installation) owns Applications on this hub" in result.output
    assert "GitOps is off" in result.output
    assert hub.requests(method="POST") == []


def test_when_the_crd_may_not_be_read_the_check_is_skipped() -> None:
    hub = hub_with_crd(ours=False)
    hub.inject(error(403, "Forbidden"), method="GET", path=CRD)
    result = invoke(CREATE, hub)
    assert result.exit_code == 0, result.output
    assert len(hub.requests(method="POST", path=APPS)) == 1


def test_a_collection_the_hub_does_not_serve_says_to_install_flotilla() -> None:
    hub = FakeApi()
    hub.inject(error(403, "Forbidden"), method="GET", path=CRD)
    missing = error(404, "NotFound", "the server could not find the requested resource")
    hub.inject(missing, path=APPS, times=2)
    result = invoke(CREATE, hub)
    assert result.exit_code == 1
    assert "this hub does not serve Applications: run `flotilla hub install`" in result.output
