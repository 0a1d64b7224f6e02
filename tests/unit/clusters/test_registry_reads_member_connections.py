"""``member_connection`` (for `flotilla cluster get`) decodes a Secret as the controllers do."""

from typing import Any

import pytest

from flotilla.clusters import RegistryError, member_connection
from flotilla.kube import KubeClient

from ..fakeapi import FakeApi
from .hubfake import SECRETS, TOKEN, cluster, kubeconfig, secret


def _hub(secrets: dict[str, dict[str, Any]]) -> KubeClient:
    api = FakeApi()
    for item in secrets.values():
        api.put(SECRETS, item)
    return api.client()


async def test_a_stored_kubeconfig_gives_the_member_connection() -> None:
    async with _hub({"s": secret("s", kubeconfig())}) as hub:
        config = await member_connection(hub, cluster("m1", secret_name="s"))

    assert (config.server, config.token) == ("https://member.test", TOKEN)


@pytest.mark.parametrize(
    ("secrets", "says"),
    [
        ({}, "not found"),
        ({"s": secret("s", kubeconfig(cluster={"server": "https://[::1"}))}, "server"),
        ({"s": secret("s", raw="%%%")}, "not a kubeconfig"),
    ],
)
async def test_unusable_credentials_are_a_registry_error_that_says_why(
    secrets: dict[str, dict[str, Any]], says: str
) -> None:
    async with _hub(secrets) as hub:
        with pytest.raises(RegistryError) as caught:
            await member_connection(hub, cluster("m1", secret_name="s"))

    assert says in str(caught.value)
    assert TOKEN not in str(caught.value)
