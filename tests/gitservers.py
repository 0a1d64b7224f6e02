"""Real git repositories and servers for tests and benchmarks: no mocks of git.

- `GitRepo`: a bare repository on disk, with commits made by git's plumbing (no work tree).
- `GitDaemon`: `git daemon` serving a directory over git://.
- `GitSshServer`: the real `sshd` (Debian's openssh-server) with a config, host key and one
  client key of its own, serving every repository under a directory as ssh://.
- `GitHttpServer`: smart HTTP, the real `git http-backend` run as CGI behind a threaded
  `http.server`, optionally behind HTTP basic auth; it counts requests per repository so a
  test or a benchmark sees fetches from the server's side.

Plain classes and context managers, usable from pytest and from scripts alike. Every git run
here ignores the user's and the system's git config.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Self

_IDENTITY = {
    "GIT_AUTHOR_NAME": "Ada Tester",
    "GIT_AUTHOR_EMAIL": "ada@example.com",
    "GIT_COMMITTER_NAME": "Ada Tester",
    "GIT_COMMITTER_EMAIL": "ada@example.com",
}


def git_env(**extra: str) -> dict[str, str]:
    """An environment for git that reads no user or system config."""
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": tempfile.gettempdir(),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        "LC_ALL": "C",
        **_IDENTITY,
        **extra,
    }


def git(*args: str, env: Mapping[str, str] | None = None, stdin: bytes | None = None) -> str:
    """Runs git and returns its stripped stdout; raises with git's stderr when it fails."""
    done = subprocess.run(
        ["git", *args],
        input=stdin,
        capture_output=True,
        env=git_env(**(env or {})),
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {done.stderr.decode().strip()}")
    return done.stdout.decode().strip()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for_port(host: str, port: int, *, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


@dataclass(frozen=True)
class GitRepo:
    """A bare repository at `path` (served as `name` below a server's root)."""

    path: Path

    @classmethod
    def create(cls, root: Path, name: str) -> GitRepo:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        git("init", "--bare", "--quiet", "--initial-branch=main", str(path))
        return cls(path=path)

    @property
    def url_file(self) -> str:
        return self.path.as_uri()

    def commit(
        self,
        files: Mapping[str, str | None],
        message: str,
        branch: str = "main",
        *,
        symlinks: Mapping[str, str] | None = None,
    ) -> str:
        """Commits `files` (a None content deletes the file) and `symlinks` (path: target)
        on top of `branch`, which is created when missing; returns the new commit's sha."""
        gitdir = ("--git-dir", str(self.path))
        ref = f"refs/heads/{branch}"
        try:
            parent: str | None = git(*gitdir, "rev-parse", "--verify", "--quiet", ref)
        except RuntimeError:
            parent = None
        with tempfile.TemporaryDirectory() as scratch:
            index = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
            git(*gitdir, "read-tree", *([parent] if parent else ["--empty"]), env=index)
            entries = [(name, content, "100644") for name, content in files.items()]
            entries += [(name, target, "120000") for name, target in (symlinks or {}).items()]
            for name, content, mode in entries:
                if content is None:
                    removal = f"0 {'0' * 40}\t{name}\n".encode()
                    git(*gitdir, "update-index", "--index-info", env=index, stdin=removal)
                    continue
                blob = git(*gitdir, "hash-object", "-w", "--stdin", stdin=content.encode())
                cacheinfo = f"{mode},{blob},{name}"
                git(*gitdir, "update-index", "--add", "--cacheinfo", cacheinfo, env=index)
            tree = git(*gitdir, "write-tree", env=index)
        parents = ["-p", parent] if parent else []
        sha = git(*gitdir, "commit-tree", tree, *parents, "-m", message)
        git(*gitdir, "update-ref", ref, sha, *([parent] if parent else []))
        return sha

    def tag(self, name: str, sha: str, *, message: str | None = None) -> None:
        """A lightweight tag, or an annotated one when `message` is given."""
        if message is None:
            git("--git-dir", str(self.path), "tag", name, sha)
        else:
            git("--git-dir", str(self.path), "tag", "-a", "-m", message, name, sha)

    def set_default_branch(self, branch: str) -> None:
        git("--git-dir", str(self.path), "symbolic-ref", "HEAD", f"refs/heads/{branch}")

    def delete_branch(self, branch: str) -> None:
        git("--git-dir", str(self.path), "update-ref", "-d", f"refs/heads/{branch}")


class GitDaemon:
    """`git daemon` serving every repository under `root` at git://host:port/<name>."""

    def __init__(self, root: Path, host: str = "127.0.0.1") -> None:
        self.root = root
        self.host = host
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    def url(self, name: str) -> str:
        return f"git://{self.host}:{self.port}/{name}"

    def start(self) -> None:
        self.port = free_port(self.host)
        self._process = subprocess.Popen(
            [
                "git",
                "daemon",
                "--export-all",
                f"--base-path={self.root}",
                "--reuseaddr",
                f"--listen={self.host}",
                f"--port={self.port}",
                str(self.root),
            ],
            env=git_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            wait_for_port(self.host, self.port)
        except OSError:
            self.stop()
            raise

    def stop(self) -> None:
        if self._process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signal.SIGTERM)
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()
        self._process = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


SSHD = next((p for p in ("/usr/sbin/sshd", "/usr/bin/sshd") if Path(p).exists()), "sshd")


class GitSshServer:
    """`sshd` on host:port serving git over ssh to one client key, reading no system config.

    `url(name)` is the ssh:// URL of a repository under `root`; `client_key` the private key
    it accepts, `known_hosts` the line that pins its host key. Needs root (the fleet runs
    as root) and openssh-server (`make test` installs it).
    """

    def __init__(self, root: Path, host: str = "127.0.0.1") -> None:
        self.root = root
        self.host = host
        self.port = 0
        self.client_key = ""
        self.known_hosts = ""
        self._dir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def url(self, name: str) -> str:
        return f"ssh://{getpass.getuser()}@{self.host}:{self.port}{self.root}/{name}"

    def start(self) -> None:
        work = self._dir = Path(tempfile.mkdtemp(prefix="sshd-"))
        for key in ("host", "client"):
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", key, "-f", str(work / key)],
                check=True, capture_output=True,
            )  # fmt: skip
        self.client_key = (work / "client").read_text()
        # The key may run git's own commands only: no shell, no forwarding.
        only_git = 'restrict,command="git-shell -c \\"$SSH_ORIGINAL_COMMAND\\""'
        (work / "authorized_keys").write_text(f"{only_git} {(work / 'client.pub').read_text()}")
        self.port = free_port(self.host)
        host_key = (work / "host.pub").read_text().split()
        self.known_hosts = f"[{self.host}]:{self.port} {host_key[0]} {host_key[1]}\n"
        (work / "sshd_config").write_text(
            "\n".join([
                f"ListenAddress {self.host}:{self.port}",
                f"HostKey {work / 'host'}",
                f"AuthorizedKeysFile {work / 'authorized_keys'}",
                f"PidFile {work / 'sshd.pid'}",
                f"AllowUsers {getpass.getuser()}",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PermitRootLogin prohibit-password",
                "StrictModes no",
                "UsePAM no",
                "",
            ])
        )  # fmt: skip
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # its privilege separation
        with (work / "sshd.log").open("wb") as log:
            self._process = subprocess.Popen(
                [SSHD, "-D", "-e", "-f", str(work / "sshd_config")],
                stdout=subprocess.DEVNULL,
                stderr=log,
                start_new_session=True,
            )
        deadline = time.monotonic() + 10
        while not (work / "sshd.pid").exists() or not _listening(self.host, self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                output = (work / "sshd.log").read_text(errors="replace")
                self.stop()
                raise RuntimeError(f"sshd did not start: {output.strip()[-2000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self._process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGTERM)
            self._process.wait(timeout=5)
            self._process = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class GitHttpServer:
    """Smart HTTP for every repository under `root`: `git http-backend` behind `http.server`.

    With `username` and `password`, every request needs HTTP basic auth (401 otherwise).
    `protocol_v2=False` withholds the client's Git-Protocol header from the backend, so it
    speaks protocol v0 and refuses a sha that is not a branch or tag tip, as some servers do.
    `on_request` runs in the handler thread before each request is served.
    """

    def __init__(
        self,
        root: Path,
        *,
        username: str | None = None,
        password: str | None = None,
        host: str = "127.0.0.1",
        protocol_v2: bool = True,
        on_request: Callable[[], None] | None = None,
    ) -> None:
        self.root = root
        self.host = host
        self.port = 0
        self._credentials = (username or "", password or "") if username or password else None
        self._protocol_v2 = protocol_v2
        self._on_request = on_request
        self._counts: dict[str, int] = {}
        self._connections: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def url(self, name: str) -> str:
        return f"http://{self.host}:{self.port}/{name}"

    def requests(self, name: str) -> int:
        """info/refs GETs and git-upload-pack POSTs received for repository `name`."""
        with self._lock:
            return self._counts.get(name.strip("/"), 0)

    def connections(self, name: str) -> int:
        """info/refs GETs for repository `name`: one per `git fetch` or `git ls-remote`."""
        with self._lock:
            return self._connections.get(name.strip("/"), 0)

    def start(self) -> None:
        server = ThreadingHTTPServer((self.host, 0), self._handler())
        server.daemon_threads = True
        self._server = server
        self.port = int(server.server_address[1])
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        wait_for_port(self.host, self.port)

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _count(self, path: str, method: str) -> None:
        for suffix, counted in (("/info/refs", "GET"), ("/git-upload-pack", "POST")):
            if path.endswith(suffix) and method == counted:
                name = path[: -len(suffix)].strip("/")
                with self._lock:
                    self._counts[name] = self._counts.get(name, 0) + 1
                    if method == "GET":
                        self._connections[name] = self._connections.get(name, 0) + 1

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _serve(self, method: str) -> None:
                path, _, query = self.path.partition("?")
                owner._count(path, method)
                if owner._on_request is not None:
                    owner._on_request()
                body = self._body()
                user = self._authorized()
                if user is None:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="git"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                env = git_env(
                    GIT_PROJECT_ROOT=str(owner.root),
                    GIT_HTTP_EXPORT_ALL="1",
                    REQUEST_METHOD=method,
                    QUERY_STRING=query,
                    PATH_INFO=path,
                    CONTENT_TYPE=self.headers.get("Content-Type", ""),
                    CONTENT_LENGTH=str(len(body)),
                    REMOTE_USER=user,
                    REMOTE_ADDR=self.client_address[0],
                )
                if self.headers.get("Content-Encoding"):
                    env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
                if owner._protocol_v2 and self.headers.get("Git-Protocol"):
                    env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
                done = subprocess.run(
                    ["git", "http-backend"], input=body, capture_output=True, env=env, check=False
                )
                self._reply(done.stdout)

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks: list[bytes] = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                        if size == 0:
                            self.rfile.readline()
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _authorized(self) -> str | None:
                """The user name ("" without auth), or None when the credentials are wrong."""
                if owner._credentials is None:
                    return ""
                expected = ":".join(owner._credentials).encode()
                header = self.headers.get("Authorization", "")
                scheme, _, encoded = header.partition(" ")
                if scheme.lower() != "basic":
                    return None
                try:
                    given = base64.b64decode(encoded, validate=True)
                except ValueError:
                    return None
                return owner._credentials[0] if given == expected else None

            def _reply(self, output: bytes) -> None:
                separator = b"\r\n\r\n" if b"\r\n\r\n" in output else b"\n\n"
                head, _, payload = output.partition(separator)
                status = 200
                headers: list[tuple[str, str]] = []
                for line in head.decode("latin-1").splitlines():
                    name, _, value = line.partition(":")
                    if name.lower() == "status":
                        status = int(value.split()[0])
                    elif name:
                        headers.append((name, value.strip()))
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in ("content-length", "transfer-encoding"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler


async def wait_until(condition: Callable[[], bool], *, timeout: float = 10.0) -> None:
    """Polls `condition` (something a real process or thread will make true) until it holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition never became true")
        await asyncio.sleep(0.01)
