"""The one decoder from a Cluster and its Secret to a member client, and what it refuses."""

import base64
from typing import Any

import pytest

from flotilla.clusters.connections import (
    CredentialsProblem,
    decode_credentials,
    open_client,
    secret_ref,
)

from .hubfake import TOKEN, cluster, kubeconfig, secret

NOT_PEM = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nnope\n").decode()


def _decode(document: Any = None, *, raw: str | None = None) -> Any:
    ref = secret_ref(cluster("m1", secret_name="s"))
    return decode_credentials(ref, secret("s", document, raw=raw))


def test_a_stored_kubeconfig_decodes_into_its_connection() -> None:
    credentials = _decode(kubeconfig())

    assert (credentials.config.server, credentials.config.token) == ("https://member.test", TOKEN)
    assert credentials.fingerprint == _decode(kubeconfig()).fingerprint
    assert credentials.fingerprint != _decode(kubeconfig(user={"token": "other"})).fingerprint


@pytest.mark.parametrize(
    ("document", "raw", "says"),
    [
        (None, "%%% not base64", "not a kubeconfig"),
        (None, base64.b64encode(b"[1, 2").decode(), "not a kubeconfig"),
        ("just text", None, "not a kubeconfig"),
        ({"clusters": "nope", "current-context": "x"}, None, "no entry"),
        (kubeconfig(cluster={"server": "https://[::1"}), None, "server"),
        (kubeconfig(cluster={"server": "member.test:6443"}), None, "server"),
        (kubeconfig(cluster={"tls-server-name": 123}), None, "tls-server-name"),
        (kubeconfig(user={"token": "tökén-" + TOKEN}), None, "token"),
        (kubeconfig(user={"token": "tok\x07" + TOKEN}), None, "token"),
    ],
)
def test_a_kubeconfig_that_cannot_make_a_client_is_invalid_and_says_what_to_fix(
    document: Any, raw: str | None, says: str
) -> None:
    with pytest.raises(CredentialsProblem) as caught:
        _decode(document, raw=raw)

    assert caught.value.reason == "CredentialsInvalid"
    assert says in caught.value.message
    assert "Secret s key 'kubeconfig'" in caught.value.message
    assert TOKEN not in caught.value.message


def test_a_ca_that_is_not_pem_is_found_when_the_client_is_built() -> None:
    credentials = _decode(kubeconfig(cluster={"certificate-authority-data": NOT_PEM}))

    with pytest.raises(CredentialsProblem) as caught:
        open_client(credentials, timeout=2.0)

    assert caught.value.reason == "CredentialsInvalid"
    assert "certificate-authority-data is not a PEM certificate" in caught.value.message


def test_any_failure_to_build_a_client_is_a_credentials_problem_naming_only_its_type() -> None:
    credentials = _decode(kubeconfig())

    def connect(*_: Any) -> Any:
        raise UnicodeEncodeError("ascii", TOKEN, 0, 1, "ordinal not in range")

    with pytest.raises(CredentialsProblem) as caught:
        open_client(credentials, timeout=2.0, connect=connect)

    assert "UnicodeEncodeError" in caught.value.message
    assert TOKEN not in caught.value.message


def test_a_missing_secret_says_to_register_again() -> None:
    ref = secret_ref(cluster("m1", secret_name="gone"))

    with pytest.raises(CredentialsProblem) as caught:
        decode_credentials(ref, None)

    assert caught.value.reason == "CredentialsMissing"
    assert "flotilla cluster add" in caught.value.message


def test_a_secret_without_the_key_says_which_key() -> None:
    ref = secret_ref(cluster("m1", secret_name="s"))
    empty = {**secret("s", kubeconfig()), "data": None}

    with pytest.raises(CredentialsProblem, match="has no key 'kubeconfig'"):
        decode_credentials(ref, empty)


def test_a_secret_outside_flotilla_system_is_refused() -> None:
    body = cluster("m1")
    body["spec"]["kubeconfigSecretRef"]["namespace"] = "default"

    with pytest.raises(CredentialsProblem) as caught:
        secret_ref(body)

    assert caught.value.reason == "CredentialsMissing"
    assert "flotilla-system" in caught.value.message


def test_a_null_namespace_or_key_in_the_reference_means_the_default() -> None:
    body = cluster("m1", secret_name="s")
    body["spec"]["kubeconfigSecretRef"].update(namespace=None, key=None)

    ref = secret_ref(body)

    assert (ref.namespace, ref.name, ref.key) == ("flotilla-system", "s", "kubeconfig")


def test_a_cluster_without_a_reference_has_an_invalid_spec() -> None:
    with pytest.raises(CredentialsProblem) as caught:
        secret_ref({"metadata": {"name": "m1"}, "spec": None})

    assert caught.value.reason == "InvalidSpec"
