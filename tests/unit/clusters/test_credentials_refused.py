from pathlib import Path

import pytest

from flotilla.clusters import CredentialError, storable_connection

from .kubeconfigs import TOKEN, write_kubeconfig


def test_an_auth_provider_user_is_refused_with_what_to_do(tmp_path: Path) -> None:
    user = {"auth-provider": {"name": "oidc", "config": {"id-token": TOKEN}}}
    path = write_kubeconfig(tmp_path, {"oidc": user})

    with pytest.raises(CredentialError, match="auth-provider") as caught:
        storable_connection(path, "oidc")

    assert "ServiceAccount token" in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_a_missing_context_names_the_known_contexts(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path, {"blue": {"token": TOKEN}, "green": {"token": TOKEN}})

    with pytest.raises(CredentialError) as caught:
        storable_connection(path, "red")

    message = str(caught.value)
    assert "no context 'red'" in message
    assert "blue, green" in message
    assert TOKEN not in message


def test_a_missing_kubeconfig_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CredentialError, match="cannot read kubeconfig"):
        storable_connection(tmp_path / "absent", None)


def test_a_kubeconfig_that_is_not_yaml_is_refused_without_its_content(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(f"users: [token: {TOKEN}\n  : : ]]\n")

    with pytest.raises(CredentialError, match="not valid YAML") as caught:
        storable_connection(path, None)

    assert TOKEN not in str(caught.value)


def test_a_yaml_file_that_is_no_mapping_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text("- just\n- a list\n")

    with pytest.raises(CredentialError, match="is not a kubeconfig"):
        storable_connection(path, None)


def test_a_missing_token_file_is_refused(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path, {"robot": {"tokenFile": "no-such-token"}})

    with pytest.raises(CredentialError, match="cannot read tokenFile no-such-token"):
        storable_connection(path, "robot")


def test_bad_inline_key_data_is_refused_without_the_data(tmp_path: Path) -> None:
    user = {"client-certificate-data": "Zm9v", "client-key-data": f"!{TOKEN}!"}
    path = write_kubeconfig(tmp_path, {"admin": user})

    with pytest.raises(CredentialError, match="client-key-data is not valid base64") as caught:
        storable_connection(path, "admin")

    assert TOKEN not in str(caught.value)


def test_without_a_context_or_current_context_it_asks_for_a_context(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path, {"robot": {"token": TOKEN}})

    with pytest.raises(CredentialError) as caught:
        storable_connection(path, None)

    assert "'None'" not in str(caught.value)
    assert "current-context" in str(caught.value)
