import pytest

from flotilla.kube import ConfigError, connection_from_kubeconfig


def _doc(user: dict[str, str]) -> dict[str, object]:
    return {
        "clusters": [{"name": "c", "cluster": {"server": "https://member.test"}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "c",
    }


@pytest.mark.parametrize(
    "user",
    [
        {"tokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token"},
        {"client-certificate": "/etc/cert.pem", "client-key": "/etc/key.pem"},
    ],
)
def test_a_stored_kubeconfig_may_not_read_local_files(user: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="refers to local files"):
        connection_from_kubeconfig(_doc(user), allow_files=False)


def test_a_malformed_context_is_a_config_error() -> None:
    document = _doc({"token": "t"})
    document["contexts"] = [{"name": "c", "context": "oops"}]
    with pytest.raises(ConfigError):
        connection_from_kubeconfig(document, allow_files=False)
