"""``flotilla app create`` refuses flags that make no valid Application, before any request."""

import pytest

from tests.unit.cli.test_app_harness import FakeApi, invoke

BASE = ["create", "guestbook", "--repo", "https://git.test/org/apps.git", "--namespace", "web"]


def refused(*flags: str) -> tuple[int, str]:
    hub = FakeApi()
    result = invoke([*BASE, *flags], hub)
    assert hub.requests == [], "refused before asking the hub"
    return result.exit_code, result.output


@pytest.mark.parametrize("flag", ["--prune", "--self-heal", "--allow-empty"])
def test_automated_sync_options_need_auto_sync(flag: str) -> None:
    code, output = refused("--cluster", "m1", flag)
    assert code == 2
    assert f"{flag} needs --auto-sync" in output


def test_the_destination_is_one_of_cluster_or_server() -> None:
    for flags in ((), ("--cluster", "m1", "--server", "https://m1.test")):
        code, output = refused(*flags)
        assert code == 2
        assert "--cluster NAME or --server URL" in output


def test_a_helm_chart_and_a_path_exclude_each_other() -> None:
    code, output = refused("--cluster", "m1", "--chart", "redis", "--path", "x")
    assert code == 2 and "exclude each other" in output


def test_sync_options_and_helm_parameters_are_key_value() -> None:
    code, output = refused("--cluster", "m1", "--sync-option", "CreateNamespace")
    assert code == 2 and "'CreateNamespace' is not KEY=VALUE" in output
    code, output = refused("--cluster", "m1", "--helm-set", "=3")
    assert code == 2 and "--helm-set" in output


def test_a_name_that_kubernetes_refuses() -> None:
    hub = FakeApi()
    result = invoke(["create", "Guest_Book", *BASE[2:], "--cluster", "m1"], hub)
    assert result.exit_code == 2 and "lower-case letters" in result.output
    assert hub.requests == []


def test_the_model_bounds_are_checked_with_a_clear_message() -> None:
    code, output = refused("--cluster", "m1", "--release-name", "r" * 60)
    assert code == 1
    assert "invalid application: source.helm.releaseName: String should have at most 53" in output


def test_credentials_in_the_repository_url_are_refused_and_not_repeated() -> None:
    hub = FakeApi()
    url = "https://ada:canary-token-never-shown@git.test/org/apps.git"
    result = invoke(["create", "guestbook", "--repo", url, "--namespace", "web",
                     "--cluster", "m1"], hub)  # fmt: skip
    assert result.exit_code == 2
    assert "repository Secret" in result.output
    assert "canary-token-never-shown" not in result.output
