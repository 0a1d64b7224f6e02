"""A projected ServiceAccount token rotates (hourly by default): the client reads the token
file again every minute, as client-go does, and at once when the server answers 401."""

import logging
from pathlib import Path

import httpx
import pytest

from flotilla.kube import KubeClient, Unauthorized, in_cluster_config, load_kubeconfig
from flotilla.kube.client import TOKEN_REFRESH_SECONDS
from flotilla.runtime.clock import FakeClock


@pytest.fixture
def pod(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    (tmp_path / "token").write_text("first-token\n")
    (tmp_path / "ca.crt").write_bytes(b"CA")
    return tmp_path


def _recording(seen: list[str], *, refuse: str = "") -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        if refuse and request.headers["authorization"] == f"Bearer {refuse}":
            return httpx.Response(
                401, json={"kind": "Status", "code": 401, "reason": "Unauthorized"}
            )
        return httpx.Response(200, json={})

    return httpx.MockTransport(handler)


async def test_the_in_cluster_token_is_read_again_once_it_is_a_minute_old(pod: Path) -> None:
    clock, seen = FakeClock(), list[str]()
    async with KubeClient(in_cluster_config(pod), transport=_recording(seen), clock=clock) as c:
        await c.get("/version")
        (pod / "token").write_text("second-token\n")
        await clock.advance(TOKEN_REFRESH_SECONDS - 1)
        await c.get("/version")
        await clock.advance(2)
        await c.get("/version")

    assert seen == ["Bearer first-token", "Bearer first-token", "Bearer second-token"]


async def test_a_401_reads_the_token_again_and_retries_once(pod: Path) -> None:
    clock, seen = FakeClock(), list[str]()
    transport = _recording(seen, refuse="first-token")
    async with KubeClient(in_cluster_config(pod), transport=transport, clock=clock) as client:
        (pod / "token").write_text("second-token\n")
        assert await client.get("/version") == {}

    assert seen == ["Bearer first-token", "Bearer second-token"]


async def test_a_401_with_an_unchanged_token_is_not_retried(pod: Path) -> None:
    clock, seen = FakeClock(), list[str]()
    transport = _recording(seen, refuse="first-token")
    async with KubeClient(in_cluster_config(pod), transport=transport, clock=clock) as client:
        with pytest.raises(Unauthorized):
            await client.get("/version")

    assert seen == ["Bearer first-token"]


async def test_an_unusable_new_token_keeps_the_old_one_and_is_not_logged(
    pod: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock, seen = FakeClock(), list[str]()
    async with KubeClient(in_cluster_config(pod), transport=_recording(seen), clock=clock) as c:
        (pod / "token").write_text("broken-token\u00e9\n")
        await clock.advance(TOKEN_REFRESH_SECONDS + 1)
        with caplog.at_level(logging.WARNING):
            await c.get("/version")

    assert seen == ["Bearer first-token"]
    assert "token file unusable" in caplog.text
    assert "broken-token" not in caplog.text


async def test_a_kubeconfig_token_file_is_read_again_too(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("first-token")
    (tmp_path / "config").write_text(
        "clusters: [{name: c, cluster: {server: 'https://api.test'}}]\n"
        "users: [{name: u, user: {tokenFile: token}}]\n"
        "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
        "current-context: x\n"
    )
    clock, seen = FakeClock(), list[str]()
    config = load_kubeconfig(tmp_path / "config")
    async with KubeClient(config, transport=_recording(seen), clock=clock) as client:
        (tmp_path / "token").write_text("second-token")
        await clock.advance(TOKEN_REFRESH_SECONDS + 1)
        await client.get("/version")

    assert seen == ["Bearer second-token"]
