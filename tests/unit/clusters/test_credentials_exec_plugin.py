from pathlib import Path

import pytest

from flotilla.clusters import CredentialError, storable_connection

from .kubeconfigs import TOKEN, exec_user, write_kubeconfig, write_plugin


def test_a_plugin_token_without_expiry_is_stored(tmp_path: Path) -> None:
    plugin = write_plugin(tmp_path, status={"token": TOKEN})
    path = write_kubeconfig(tmp_path, {"sso": exec_user(plugin)})

    assert storable_connection(path, "sso").token == TOKEN


def test_a_plugin_client_certificate_without_expiry_is_stored(tmp_path: Path) -> None:
    status = {"clientCertificateData": "-----CERT-----\n", "clientKeyData": "-----KEY-----\n"}
    path = write_kubeconfig(tmp_path, {"sso": exec_user(write_plugin(tmp_path, status=status))})

    connection = storable_connection(path, "sso")

    assert connection.client_cert_data == b"-----CERT-----\n"
    assert connection.client_key_data == b"-----KEY-----\n"


def test_the_plugin_gets_its_args_and_env(tmp_path: Path) -> None:
    script = (
        'test "$1" = "--cluster=blue" || exit 3\n'
        'printf \'{"status": {"token": "%s"}}\' "$PLUGIN_TOKEN"\n'
    )
    user = exec_user(
        write_plugin(tmp_path, script=script),
        args=["--cluster=blue"],
        env=[{"name": "PLUGIN_TOKEN", "value": TOKEN}],
    )
    path = write_kubeconfig(tmp_path, {"sso": user})

    assert storable_connection(path, "sso").token == TOKEN


def test_a_relative_plugin_command_runs_from_the_kubeconfig_directory(tmp_path: Path) -> None:
    write_plugin(tmp_path, status={"token": TOKEN})
    path = write_kubeconfig(tmp_path, {"sso": exec_user("./plugin.sh")})

    assert storable_connection(path, "sso").token == TOKEN


def test_a_plugin_credential_that_expires_is_refused_because_it_expires(tmp_path: Path) -> None:
    status = {"token": TOKEN, "expirationTimestamp": "2030-01-01T00:00:00Z"}
    path = write_kubeconfig(tmp_path, {"sso": exec_user(write_plugin(tmp_path, status=status))})

    with pytest.raises(CredentialError, match="expires") as caught:
        storable_connection(path, "sso")

    message = str(caught.value)
    assert "2030-01-01T00:00:00Z" in message
    assert "cannot be stored" in message
    assert TOKEN not in message


def test_a_plugin_exiting_non_zero_is_refused_with_its_exit_code(tmp_path: Path) -> None:
    script = f"echo {TOKEN}\necho {TOKEN} >&2\nexit 7\n"
    path = write_kubeconfig(tmp_path, {"sso": exec_user(write_plugin(tmp_path, script=script))})

    with pytest.raises(CredentialError, match=r"failed \(exit 7\)") as caught:
        storable_connection(path, "sso")

    assert "'sso'" in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_a_plugin_that_cannot_run_is_refused(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path, {"sso": exec_user(tmp_path / "missing-plugin")})

    with pytest.raises(CredentialError, match="could not run"):
        storable_connection(path, "sso")


def test_a_plugin_printing_no_json_is_refused(tmp_path: Path) -> None:
    script = f"echo 'here is your token: {TOKEN}'\n"
    path = write_kubeconfig(tmp_path, {"sso": exec_user(write_plugin(tmp_path, script=script))})

    with pytest.raises(CredentialError, match="no ExecCredential") as caught:
        storable_connection(path, "sso")

    assert TOKEN not in str(caught.value)


def test_a_plugin_returning_no_credential_is_refused(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path, {"sso": exec_user(write_plugin(tmp_path, status={}))})

    with pytest.raises(CredentialError, match="returned no credential"):
        storable_connection(path, "sso")


@pytest.mark.parametrize("printed", ["[]", "null"])
def test_a_plugin_printing_json_that_is_no_object_is_refused(tmp_path: Path, printed: str) -> None:
    path = write_kubeconfig(
        tmp_path, {"sso": exec_user(write_plugin(tmp_path, script=f"echo '{printed}'\n"))}
    )

    with pytest.raises(CredentialError, match="no ExecCredential"):
        storable_connection(path, "sso")
