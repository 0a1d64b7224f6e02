import base64
from pathlib import Path

from flotilla.gitops.sources import Credentials, GitSources
from tests.gitservers import GitHttpServer, GitRepo

PASSWORD = "pw-visible-nowhere-42"


def command_lines() -> list[bytes]:
    lines = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            lines.append(cmdline.read_bytes())
        except OSError:
            continue
    return lines


async def test_credentials_are_in_no_command_line_nor_any_cache_file(tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "served", "app.git")
    sha = repo.commit({"a": "1"}, "first")
    secrets = [PASSWORD.encode(), base64.b64encode(f"deploy:{PASSWORD}".encode())]
    seen: list[bytes] = []

    def look_at_processes() -> None:  # runs while git is connected to the server
        seen.extend(line for line in command_lines() if b"git" in line)

    with GitHttpServer(
        tmp_path / "served", username="deploy", password=PASSWORD, on_request=look_at_processes
    ) as server:
        sources = GitSources(tmp_path / "cache")
        credentials = Credentials(username="deploy", password=PASSWORD)
        await sources.resolve(server.url("app.git"), "main", credentials)
        await sources.checkout(server.url("app.git"), sha, "")
    assert any(b"fetch" in line for line in seen), "git was running during the requests"
    assert not [line for line in seen if any(secret in line for secret in secrets)]
    files = [path for path in (tmp_path / "cache").rglob("*") if path.is_file()]
    assert files
    for path in files:
        content = path.read_bytes()
        assert not any(secret in content for secret in secrets), path
