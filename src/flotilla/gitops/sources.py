"""Git sources: the commits and trees that GitOps applications are rendered from.

Many applications share a handful of repositories and poll them often, so this module keeps
one bare cache repository per URL and makes as few network operations as it can: shallow
fetches (`--depth 1`) of the one revision asked for, one fetch shared by concurrent callers
(single flight), results reused for `max_age` seconds, and a commit asked for by its full sha
never fetched again once in the cache. A shorter hex revision (`cafe`, `2024`) may be a branch
or a tag: the server is asked for that ref first, and only when it has none is the revision
taken for an abbreviated sha (from the cache when it is there). Trees are extracted once per
(url, sha) and read by renderers.

It runs the `git` CLI, because that is what speaks every transport and auth scheme the way
servers expect. How it keeps secrets and the host safe:

- Credentials go to git through the environment only (`GIT_CONFIG_COUNT`/`KEY_n`/`VALUE_n`
  for an `http.extraHeader`, `GIT_SSH_COMMAND` naming a key file written 0600 in a private
  temp dir that is removed after the call): never in argv, which every local user can read in
  /proc, and never in the cache repository's files. The URL git is given has no userinfo:
  `https://user:token@host/x` is fetched as `https://host/x` with those as its credentials.
  A token with an empty username is sent as user `x-access-token` (`TOKEN_USERNAME`), which
  GitHub, Gitea and Bitbucket Server accept; GitLab accepts any user name with a token.
- git never reads the user's or the system's config (`GIT_CONFIG_NOSYSTEM`, `HOME` and
  `GIT_CONFIG_GLOBAL` point at private places), never prompts (`GIT_TERMINAL_PROMPT=0`,
  ssh `BatchMode`) and may only use the transports listed (`protocol.allow=never` else;
  `ext::` would run commands). Its messages are read in the C locale and cut to their tail.
- The cache repository is shared by every caller of a URL, but a caller is answered from it
  without asking the server (a fresh result, a sha already fetched) only with credentials
  that the server accepted for that URL before: knowing a URL and a sha is not enough to read
  a private repository that someone else fetched. `checkout` takes no credentials: callers
  check out only shas that their own `resolve` returned.
- `checkout` refuses a path that leaves the repository, and a tree holding a symlink that
  points outside it (renderers follow links). Submodules and LFS objects are not fetched.

The cache directory belongs to one `GitSources` (one process): a git process killed on a
timeout leaves lock files, which are removed under the per-repository lock.

Errors: `SourceError`, its message safe to show users; `transient` is True for what a retry
may fix (unreachable server, timeout, a commit evicted from the cache between `resolve` and
`checkout`) and False for what needs a change of spec or Secret (authentication, host key,
not a repository, revision or path not found, bad URL or path).

Why one module of ~950 lines: it is one client of one tool. The cache layout, the single
flight, the environment that keeps credentials out of argv and off disk, and the sorting of
git's failures into safe messages all act on the same cache entries and processes; split,
each half would need the other's internals.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import os
import re
import secrets
import shlex
import shutil
import signal
import tempfile
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

logger = logging.getLogger(__name__)

TOKEN_USERNAME = "x-access-token"
"""The user name sent with a password (token) whose username is empty."""

MAX_CHECKOUTS = 256
_MESSAGE_TAIL = 300
_KILL_GRACE = 2.0
_MAX_FRESH = 4096

_FULL_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
_HEX_REVISION = re.compile(r"^[0-9a-f]{4,64}$")  # a full or abbreviated sha, or a hex ref name
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_SCP_LIKE = re.compile(r"^(?:[^@/:\s]+@)?[^@/:\s]+:")
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s'\"]*@")
_OPTION_LIKE = re.compile(r"(?:^|@|://)-")
_HELPER = re.compile(r"^[A-Za-z0-9+.-]+::")
_BAD_REF_CHARS = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")
_TRANSPORTS = {"https": "http", "http": "http", "ssh": "ssh", "git": "git", "file": "file"}
_ALLOWED_PROTOCOLS = ("https", "http", "ssh", "git", "file")
_PASSED_ENV = (
    "PATH",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "all_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "GIT_SSL_CAINFO",
)
_LOCK_FILES = ("shallow.lock", "packed-refs.lock", "HEAD.lock", "config.lock", "index.lock")


@dataclass(frozen=True, repr=False)
class Credentials:
    """What a hub Secret holds for a repository. `repr` and `str` only say which are set."""

    username: str = ""
    password: str = ""  # a password or a token (https/http)
    ssh_private_key: str = ""
    known_hosts: str = ""  # ssh known_hosts lines; empty and not insecure: host keys fail
    insecure_ignore_host_key: bool = False

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={'<set>' if getattr(self, name) else '<unset>'}"
            for name in ("username", "password", "ssh_private_key", "known_hosts")
        )
        return f"Credentials({shown}, insecure_ignore_host_key={self.insecure_ignore_host_key})"

    __str__ = __repr__


class SourceError(Exception):
    """A git source could not be read. The message holds no credentials nor URL userinfo."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class Revision:
    sha: str  # full commit sha
    ref: str  # what was asked (branch, tag, sha, "HEAD"; "" is reported as "HEAD")
    message: str = ""  # first line of the commit message
    author: str = ""  # "Name <email>"
    date: str = ""  # ISO 8601 commit date


@dataclass(frozen=True)
class _Remote:
    url: str  # what git is given: rewritten, without http userinfo
    shown: str  # for messages: the URL asked for, scrubbed, and what it was rewritten to
    key: str  # names the cache repository
    transport: str  # "http", "ssh", "git" or "file"
    credentials: Credentials
    fingerprint: str  # of the credentials, salted per GitSources, kept in memory only


@dataclass
class _Repo:
    path: Path
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0
    ready: bool = False
    stale_locks: bool = True  # a previous process or a killed git may have left lock files


class _FetchFailed(Exception):
    def __init__(self, category: str, detail: str) -> None:
        super().__init__(category)
        self.category = category
        self.detail = detail


class GitSources:
    """Resolves revisions and checks out trees of git repositories, through one cache."""

    def __init__(
        self,
        cache_dir: Path,
        *,
        rewrites: Sequence[tuple[str, str]] = (),
        max_repos: int = 64,
        max_checkouts: int = MAX_CHECKOUTS,
        timeout: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._root = Path(cache_dir)
        self._home = self._root / "home"
        self._repos_dir = self._root / "repos"
        self._checkouts_dir = self._root / "checkouts"
        self._tmp = self._root / "tmp"
        self._rewrites = sorted(rewrites, key=lambda rule: len(rule[0]), reverse=True)
        self._max_repos = max(1, max_repos)
        self._max_checkouts = max(1, max_checkouts)
        self._timeout = timeout
        self._monotonic = monotonic
        self._salt = secrets.token_bytes(32)
        self._setup_lock = asyncio.Lock()
        self._set_up = False
        self._repos: OrderedDict[str, _Repo] = OrderedDict()
        self._checkouts: OrderedDict[tuple[str, str], Path] = OrderedDict()
        self._verified: set[tuple[str, str, str]] = set()
        self._fresh: OrderedDict[tuple[str, str, str], tuple[Revision, float]] = OrderedDict()
        self._flights: dict[tuple[str, str, str], asyncio.Future[Revision]] = {}
        self._accepted: dict[str, set[str]] = {}
        self._fetch_counts: dict[str, int] = {}

    # -- public surface -------------------------------------------------------------------

    def rewritten(self, url: str) -> str:
        """`url` after the rewrites: the longest matching prefix is replaced (git's insteadOf)."""
        for prefix, replacement in self._rewrites:
            if url.startswith(prefix):
                return replacement + url[len(prefix) :]
        return url

    def fetches(self, url: str) -> int:
        """How many network operations were made for `url` (after rewrites)."""
        return self._fetch_counts.get(self._key_of(url), 0)

    def invalidate(self, url: str) -> None:
        """The repository changed: the next resolve of any of its revisions asks the server."""
        key = self._key_of(url)
        for flight_key in [k for k in self._fresh if k[0] == key]:
            del self._fresh[flight_key]

    async def resolve(
        self,
        url: str,
        revision: str,
        credentials: Credentials | None = None,
        *,
        max_age: float = 0.0,
    ) -> Revision:
        """The commit `revision` names in the repository at `url`, fetched into the cache.

        `revision`: a branch, a tag, a full or abbreviated sha, or "HEAD" / "" for the
        remote's default branch; a ref wins over an abbreviated sha of the same spelling.
        Concurrent calls for one (url, revision, credentials) share one fetch; a result
        fetched less than `max_age` seconds ago is returned as it is.
        """
        remote = self._remote(url, credentials)
        asked = _checked_revision(revision)
        flight_key = (remote.key, asked, remote.fingerprint)
        cached = self._fresh.get(flight_key)
        if cached is not None and self._monotonic() - cached[1] < max_age:
            self._fresh.move_to_end(flight_key)
            return cached[0]
        while (flight := self._flights.get(flight_key)) is not None:
            try:
                return await asyncio.shield(flight)
            except _Abandoned:
                continue  # the caller that fetched was cancelled: fetch again
        flight = asyncio.get_running_loop().create_future()
        self._flights[flight_key] = flight
        try:
            result = await self._resolve_now(remote, asked)
        except asyncio.CancelledError:
            flight.set_exception(_Abandoned())
            raise
        except BaseException as error:
            flight.set_exception(error)
            raise
        else:
            flight.set_result(result)
            self._fresh[flight_key] = (result, self._monotonic())
            self._fresh.move_to_end(flight_key)
            while len(self._fresh) > _MAX_FRESH:
                self._fresh.popitem(last=False)
            return result
        finally:
            flight.exception()  # retrieved: no "never retrieved" warning when nobody waited
            del self._flights[flight_key]

    async def checkout(self, url: str, sha: str, path: str) -> Path:
        """A directory holding the tree of `path` at commit `sha`, which `resolve` fetched.

        `path` is relative to the repository root ("" or "." is the root). The directory is
        shared and for reading only; it stays until `max_checkouts` other trees were used.
        """
        remote = self._remote(url, None)
        if not _FULL_SHA.match(sha):
            raise SourceError(
                f"checkout needs a full commit sha, not {sha[:80]!r}", transient=False
            )
        relative = _relative_path(path)
        await self._setup()
        tree_key = (remote.key, sha)
        root = self._checkouts.get(tree_key)
        if root is None:
            entry = self._repos.get(remote.key)
            if entry is None:
                raise _not_fetched(remote, sha)
            entry.users += 1
            self._repos.move_to_end(remote.key)
            try:
                async with entry.lock:
                    root = self._checkouts.get(tree_key)
                    if root is None:
                        await self._prepare(entry)
                        root = await self._extract(entry, remote, sha)
                        self._checkouts[tree_key] = root
            finally:
                entry.users -= 1
        self._checkouts.move_to_end(tree_key)
        await self._evict_checkouts()
        return await self._subtree(root, remote, sha, path, relative)

    # -- resolving ------------------------------------------------------------------------

    async def _resolve_now(self, remote: _Remote, asked: str) -> Revision:
        await self._setup()
        entry = await self._open(remote.key)
        try:
            async with entry.lock:
                await self._prepare(entry)
                return await self._resolve_in(entry, remote, asked)
        finally:
            entry.users -= 1
            if remote.key in self._repos:
                self._repos.move_to_end(remote.key)

    async def _resolve_in(self, entry: _Repo, remote: _Remote, asked: str) -> Revision:
        accepted = remote.fingerprint in self._accepted.get(remote.key, set())
        target = f"refs/flotilla/r/{hashlib.sha256(asked.encode()).hexdigest()[:24]}"
        full_sha = _FULL_SHA.match(asked) is not None
        if full_sha and accepted:  # a commit never changes: no need to ask
            local = await self._describe(entry, asked, asked)
            if local is not None:
                return local
        # A shorter hex revision may name a branch or a tag ("cafe", "2024"): it is asked for
        # as a ref first, for the cache may hold an unrelated commit that starts with it.
        try:
            await self._fetch(entry, remote, [f"+{asked}:{target}"], shallow=True)
        except _FetchFailed as failure:
            if failure.category != "missing" or not _HEX_REVISION.match(asked):
                raise _source_error(failure, remote, asked) from None
            # No such ref: a sha the server will not send alone, or an abbreviated one.
            if not full_sha and accepted:
                local = await self._describe(entry, asked, asked)
                if local is not None:
                    return local
            await self._fetch_everything(entry, remote, asked)
            target = asked
        found = await self._describe(entry, target, asked)
        if found is None:
            raise SourceError(f"revision {asked!r} not found in {remote.shown}", transient=False)
        return found

    async def _fetch_everything(self, entry: _Repo, remote: _Remote, asked: str) -> None:
        """All branches and tags with their history: for a sha the server will not send alone."""
        refspecs = ["+refs/heads/*:refs/flotilla/heads/*", "+refs/tags/*:refs/flotilla/tags/*"]
        try:
            await self._fetch(entry, remote, refspecs, shallow=False)
        except _FetchFailed as failure:
            raise _source_error(failure, remote, asked) from None

    async def _fetch(
        self, entry: _Repo, remote: _Remote, refspecs: Sequence[str], *, shallow: bool
    ) -> None:
        args = ["--git-dir", str(entry.path), "fetch", "--quiet", "--no-write-fetch-head"]
        args += ["--no-tags", "--no-recurse-submodules"]
        if shallow:
            args += ["--depth", "1"]
        else:
            args += ["--prune"]
            if (entry.path / "shallow").exists():
                args += ["--unshallow"]
        args += ["--", remote.url, *refspecs]
        self._fetch_counts[remote.key] = self._fetch_counts.get(remote.key, 0) + 1
        logger.debug("git fetch", extra={"url": remote.shown, "shallow": shallow})
        with self._credentials_env(remote) as (config, extra, hidden):
            returncode, _, stderr = await self._git(
                args, config=config, extra_env=extra, entry=entry, what=f"fetch {remote.shown}"
            )
        if returncode == 0:
            self._accepted.setdefault(remote.key, set()).add(remote.fingerprint)
            return
        category = _categorize(stderr)
        if category in ("auth", "not-repo", "host-key"):
            self._accepted.get(remote.key, set()).discard(remote.fingerprint)
        raise _FetchFailed(category, _tail(stderr, hidden))

    async def _commit_of(self, entry: _Repo, revision: str) -> str:
        """The full sha of the commit `revision` names in the cache repository, or ""."""
        args = ["--git-dir", str(entry.path), "rev-parse", "--verify", "--quiet"]
        returncode, stdout, _ = await self._git([*args, f"{revision}^{{commit}}"], what="rev-parse")
        return stdout.decode().strip() if returncode == 0 else ""

    async def _describe(self, entry: _Repo, revision: str, asked: str) -> Revision | None:
        """The commit `revision` names in the cache repository, or None when it has none."""
        args = ["--git-dir", str(entry.path), "log", "-1", "--format=%H%x00%an <%ae>%x00%cI%x00%B"]
        returncode, stdout, _ = await self._git([*args, f"{revision}^{{commit}}", "--"], what="log")
        if returncode != 0:
            return None
        sha, author, date, body = (stdout.decode(errors="replace").split("\x00", 3) + [""] * 4)[:4]
        lines = body.strip().splitlines()
        return Revision(
            sha=sha.strip(),
            ref=asked,
            message=lines[0].strip() if lines else "",
            author=author,
            date=date,
        )

    # -- checkouts ------------------------------------------------------------------------

    async def _extract(self, entry: _Repo, remote: _Remote, sha: str) -> Path:
        if not await self._commit_of(entry, sha):
            raise _not_fetched(remote, sha)
        work = Path(tempfile.mkdtemp(prefix="checkout-", dir=self._tmp))
        tree = work / "tree"
        tree.mkdir()
        index = {"GIT_INDEX_FILE": str(work / "index")}
        try:
            base = ["--git-dir", str(entry.path), "--work-tree", str(tree)]
            for args in ([*base, "read-tree", sha], [*base, "checkout-index", "--all"]):
                returncode, _, stderr = await self._git(args, extra_env=index, what="checkout")
                if returncode != 0:
                    raise SourceError(
                        f"checkout of {sha} from {remote.shown} failed: {_tail(stderr, ())}",
                        transient=True,
                    )
            # A name no one can guess: a kustomization's `../../<name>` (or a chart's
            # file:// dependency) in one repository cannot reach another's tree.
            final = self._checkouts_dir / f"{remote.key}-{sha}-{secrets.token_hex(16)}"
            os.rename(tree, final)
            return final
        finally:
            shutil.rmtree(work, ignore_errors=True)

    async def _subtree(
        self, root: Path, remote: _Remote, sha: str, path: str, relative: PurePosixPath
    ) -> Path:
        verified = (remote.key, sha, str(relative))
        outcome, found = await asyncio.to_thread(
            _inspect, root, relative, check_links=verified not in self._verified
        )
        at = f"{remote.shown} at {sha}"
        if outcome == "outside":
            message = f"path {path!r} of {at} leads outside the repository"
        elif outcome == "missing":
            message = f"path {path!r} does not exist in {at}"
        elif outcome == "file":
            message = f"path {path!r} in {at} is a file, not a directory"
        elif outcome == "link":
            message = f"{found.as_posix()!r} in {at} is a symlink leading outside the repository"
        else:
            self._verified.add(verified)
            return found
        raise SourceError(message, transient=False)

    async def _evict_checkouts(self) -> None:
        while len(self._checkouts) > self._max_checkouts:
            (key, sha), root = self._checkouts.popitem(last=False)
            self._verified = {v for v in self._verified if v[:2] != (key, sha)}
            await self._discard(root)

    # -- the cache of repositories --------------------------------------------------------

    async def _setup(self) -> None:
        if self._set_up:
            return
        async with self._setup_lock:
            if self._set_up:
                return
            for directory in (self._root, self._home, self._repos_dir, self._tmp):
                directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            (self._home / "templates").mkdir(exist_ok=True)
            leftovers = list(self._tmp.iterdir())
            if self._checkouts_dir.exists():
                old = self._tmp / f"old-checkouts-{secrets.token_hex(4)}"
                os.rename(self._checkouts_dir, old)
                leftovers.append(old)
            self._checkouts_dir.mkdir(mode=0o700)
            await asyncio.to_thread(_remove_all, leftovers)
            existing = [p for p in self._repos_dir.iterdir() if p.is_dir()]
            for path in sorted(existing, key=lambda p: p.stat().st_mtime):
                self._repos[path.name] = _Repo(path=path)
            self._set_up = True

    async def _open(self, key: str) -> _Repo:
        """The cache repository for `key`, counted as in use; the caller releases it."""
        entry = self._repos.get(key)
        if entry is None:
            entry = self._repos[key] = _Repo(path=self._repos_dir / key)
        entry.users += 1
        self._repos.move_to_end(key)
        while len(self._repos) > self._max_repos:
            victim = next(
                (k for k, e in self._repos.items() if e.users == 0 and not e.lock.locked()), None
            )
            if victim is None:
                break  # all in use: over the bound until one is released
            evicted = self._repos.pop(victim)
            self._accepted.pop(victim, None)
            for flight_key in [k for k in self._fresh if k[0] == victim]:
                del self._fresh[flight_key]
            logger.debug("git cache repository evicted", extra={"repository": victim})
            await self._discard(evicted.path)
        return entry

    async def _prepare(self, entry: _Repo) -> None:
        """Under the entry's lock: the bare repository exists, with no stale lock files."""
        if entry.stale_locks:
            _remove_lock_files(entry.path)
            entry.stale_locks = False
        if entry.ready:
            return
        if not (entry.path / "HEAD").exists():
            shutil.rmtree(entry.path, ignore_errors=True)
            template = f"--template={self._home / 'templates'}"
            returncode, _, stderr = await self._git(
                ["init", "--bare", "--quiet", template, str(entry.path)], what="init"
            )
            if returncode != 0:
                raise SourceError(
                    f"cannot create a cache repository: {_tail(stderr, ())}", transient=True
                )
        entry.ready = True

    async def _discard(self, path: Path) -> None:
        """Removes `path`: renamed away at once (the name is free again), deleted in a thread."""
        trash = self._tmp / f"discarded-{secrets.token_hex(8)}"
        try:
            os.rename(path, trash)
        except FileNotFoundError:
            return
        await asyncio.to_thread(shutil.rmtree, trash, True)

    # -- running git ----------------------------------------------------------------------

    def _environment(
        self, config: Sequence[tuple[str, str]], extra: Mapping[str, str]
    ) -> dict[str, str]:
        env = {name: os.environ[name] for name in _PASSED_ENV if name in os.environ}
        env.setdefault("PATH", os.defpath)
        env.update(
            HOME=str(self._home),
            XDG_CONFIG_HOME=str(self._home / ".config"),
            GIT_CONFIG_NOSYSTEM="1",
            GIT_CONFIG_GLOBAL=os.devnull,
            GIT_TERMINAL_PROMPT="0",
            GIT_SSH_VARIANT="ssh",
            LC_ALL="C",
            LANG="C",
        )
        settings = [
            ("protocol.allow", "never"),
            *((f"protocol.{name}.allow", "always") for name in _ALLOWED_PROTOCOLS),
            ("credential.helper", ""),
            ("gc.autoDetach", "false"),
            ("maintenance.autoDetach", "false"),
            ("fetch.recurseSubmodules", "false"),
            ("init.defaultBranch", "main"),
            ("advice.detachedHead", "false"),
            *config,
        ]
        env["GIT_CONFIG_COUNT"] = str(len(settings))
        for number, (key, value) in enumerate(settings):
            env[f"GIT_CONFIG_KEY_{number}"] = key
            env[f"GIT_CONFIG_VALUE_{number}"] = value
        env.update(extra)
        return env

    @contextlib.contextmanager
    def _credentials_env(
        self, remote: _Remote
    ) -> Iterator[tuple[list[tuple[str, str]], dict[str, str], list[str]]]:
        """git settings and environment for `remote`'s credentials, and the strings to hide."""
        credentials = remote.credentials
        hidden = [credentials.password, credentials.ssh_private_key]
        if remote.transport == "http":
            config: list[tuple[str, str]] = []
            if credentials.password or credentials.username:
                user = credentials.username or TOKEN_USERNAME
                basic = base64.b64encode(f"{user}:{credentials.password}".encode()).decode()
                config.append(("http.extraHeader", f"Authorization: Basic {basic}"))
                hidden += [basic, urllib.parse.quote(credentials.password, safe="")]
            yield config, {}, hidden
            return
        if remote.transport != "ssh":
            yield [], {}, hidden
            return
        private = Path(tempfile.mkdtemp(prefix="ssh-", dir=self._tmp))
        try:
            known_hosts = private / "known_hosts"
            _write_private(known_hosts, credentials.known_hosts)
            command = [
                "ssh",
                "-F",
                os.devnull,
                "-o",
                "IdentitiesOnly=yes",
                "-o",
                "BatchMode=yes",
                "-o",
                f"ConnectTimeout={max(1, int(self._timeout))}",
                "-o",
                f"GlobalKnownHostsFile={os.devnull}",
            ]
            if credentials.insecure_ignore_host_key:
                command += ["-o", f"UserKnownHostsFile={os.devnull}"]
                command += ["-o", "StrictHostKeyChecking=no"]
            else:
                command += ["-o", f"UserKnownHostsFile={known_hosts}"]
                command += ["-o", "StrictHostKeyChecking=yes"]
            if credentials.ssh_private_key:
                key_file = private / "identity"
                key = credentials.ssh_private_key
                _write_private(key_file, key if key.endswith("\n") else key + "\n")
                command += ["-i", str(key_file)]
            hidden += [line.strip() for line in credentials.ssh_private_key.splitlines()]
            yield [], {"GIT_SSH_COMMAND": shlex.join(command)}, hidden
        finally:
            shutil.rmtree(private, ignore_errors=True)

    async def _git(
        self,
        args: Sequence[str],
        *,
        what: str,
        config: Sequence[tuple[str, str]] = (),
        extra_env: Mapping[str, str] | None = None,
        entry: _Repo | None = None,
    ) -> tuple[int, bytes, str]:
        env = self._environment(config, extra_env or {})
        try:
            process = await asyncio.create_subprocess_exec(
                "git",
                *args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                cwd=self._home,
                start_new_session=True,  # git's helpers (ssh, remote-http) are stopped with it
            )
        except FileNotFoundError:
            raise SourceError("git is not installed", transient=False) from None
        try:
            async with asyncio.timeout(self._timeout):
                stdout, stderr = await process.communicate()
        except TimeoutError:
            await _stop(process)
            if entry is not None:
                entry.stale_locks = True
            raise SourceError(
                f"git {what} timed out after {self._timeout:g}s", transient=True
            ) from None
        except BaseException:
            await _stop(process)
            if entry is not None:
                entry.stale_locks = True
            raise
        assert process.returncode is not None
        return process.returncode, stdout, stderr.decode(errors="replace")

    # -- URLs -----------------------------------------------------------------------------

    def _remote(self, url: str, credentials: Credentials | None) -> _Remote:
        given = self.rewritten(url)
        _check_url(url)
        _check_url(given)
        transport = _transport(given)
        fetched, from_url = _without_userinfo(given, transport)
        chosen = credentials if credentials is not None else Credentials()
        if from_url is not None and not (chosen.username or chosen.password):
            chosen = from_url
        shown = _scrub_urls(url)
        if given != url:
            shown += f" (as {_scrub_urls(fetched)})"
        material = "\x00".join(
            [
                chosen.username,
                chosen.password,
                chosen.ssh_private_key,
                chosen.known_hosts,
                str(chosen.insecure_ignore_host_key),
            ]
        )
        fingerprint = hashlib.blake2b(material.encode(), key=self._salt, digest_size=16).hexdigest()
        return _Remote(
            url=fetched,
            shown=shown,
            key=_key(fetched),
            transport=transport,
            credentials=chosen,
            fingerprint=fingerprint,
        )

    def _key_of(self, url: str) -> str:
        given = self.rewritten(url)
        try:
            transport = _transport(given)
        except SourceError:
            return _key(given)
        return _key(_without_userinfo(given, transport)[0])


class _Abandoned(Exception):
    """The caller that was fetching for a flight was cancelled."""


def _checked_revision(revision: str) -> str:
    if revision in ("", "HEAD"):
        return "HEAD"
    problem = (
        len(revision) > 255
        or revision.startswith(("-", "/", "."))
        or revision.endswith(("/", ".", ".lock"))
        or ".." in revision
        or "@{" in revision
        or "//" in revision
        or "/." in revision
        or _BAD_REF_CHARS.search(revision) is not None
    )
    if problem:
        raise SourceError(f"{revision[:80]!r} is not a valid git revision", transient=False)
    return revision


def _relative_path(path: str) -> PurePosixPath:
    relative = PurePosixPath(path or ".")
    if "\x00" in path or relative.is_absolute() or ".." in relative.parts:
        raise SourceError(f"path {path[:200]!r} must stay inside the repository", transient=False)
    return relative


def _check_url(url: str) -> None:
    """Refuses what git would read as an option (a URL or host starting with "-"), remote
    helper syntax (`ext::command`), whitespace and control characters."""
    unusable = (
        not url
        or _OPTION_LIKE.search(url) is not None
        or _HELPER.match(url) is not None
        or any(ord(c) < 0x21 or ord(c) == 0x7F for c in url)
    )
    if unusable:
        raise SourceError(f"{_scrub_urls(url)[:200]!r} is not a usable git URL", transient=False)


def _transport(url: str) -> str:
    scheme = _SCHEME.match(url)
    if scheme is not None:
        transport = _TRANSPORTS.get(scheme.group(1).lower())
        if transport is None:
            raise SourceError(
                f"git URL scheme {scheme.group(1)!r} is not supported "
                f"(use one of {', '.join(_ALLOWED_PROTOCOLS)})",
                transient=False,
            )
        return transport
    if url.startswith("/"):
        return "file"
    if _SCP_LIKE.match(url):
        return "ssh"
    raise SourceError(
        f"{_scrub_urls(url)[:200]!r} is not a git URL (scheme://..., user@host:path or an "
        "absolute path)",
        transient=False,
    )


def _without_userinfo(url: str, transport: str) -> tuple[str, Credentials | None]:
    """`url` without secrets in it, and the credentials an http URL carried."""
    scheme = _SCHEME.match(url)
    if scheme is None:
        return url, None
    start = scheme.end()
    end = url.find("/", start)
    end = len(url) if end < 0 else end
    authority = url[start:end]
    if "@" not in authority:
        return url, None
    userinfo, host = authority.rsplit("@", 1)
    user, _, password = userinfo.partition(":")
    if transport == "ssh":  # the user is who to log in as; an ssh password is never used
        return f"{url[:start]}{user}@{host}{url[end:]}", None
    found = Credentials(
        username=urllib.parse.unquote(user), password=urllib.parse.unquote(password)
    )
    return f"{url[:start]}{host}{url[end:]}", found if transport == "http" else None


def _key(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:32]


def _scrub_urls(text: str) -> str:
    return _USERINFO.sub(r"\1", text)


def _scrub(text: str, hidden: Iterable[str]) -> str:
    text = _scrub_urls(text)
    for secret in sorted((s for s in hidden if s), key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, "***")
        else:  # a very short one only as a whole word, not inside every other word
            text = re.sub(rf"(?<!\w){re.escape(secret)}(?!\w)", "***", text)
    return text


def _tail(stderr: str, hidden: Iterable[str]) -> str:
    """The useful end of git's message: its last lines, scrubbed, at most ~300 characters."""
    lines = [
        line.strip()
        for line in stderr.splitlines()
        if line.strip() and not line.startswith(("hint:", "Please make sure", "and the repository"))
    ]
    text = _scrub(" | ".join(lines[-3:]), hidden)
    return text if len(text) <= _MESSAGE_TAIL else "..." + text[-_MESSAGE_TAIL:]


_CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "not-repo",
        (
            "does not appear to be a git repository",
            "repository not found",
            "not a git repository",
            "access denied or repository not exported",
            "no such repository",
            "returned error: 404",
            "not found: did you run git update-server-info",
            "' not found",
        ),
    ),
    (
        "auth",
        (
            "authentication failed",
            "could not read username",
            "could not read password",
            "terminal prompts disabled",
            "returned error: 401",
            "returned error: 403",
            "permission denied (",
            "permission denied, please try again",
            "invalid username or password",
            "invalid credentials",
        ),
    ),
    (
        "host-key",
        (
            "host key verification failed",
            "host key is known",
            "remote host identification has changed",
        ),
    ),
    (
        "missing",
        (
            "couldn't find remote ref",
            "not our ref",
            "unadvertised object",
            "no such remote ref",
            "remote ref does not exist",
        ),
    ),
)


def _categorize(stderr: str) -> str:
    lowered = stderr.lower()
    for category, needles in _CATEGORIES:
        if any(needle in lowered for needle in needles):
            return category
    return "unreachable"


def _source_error(failure: _FetchFailed, remote: _Remote, asked: str) -> SourceError:
    detail = f": {failure.detail}" if failure.detail else ""
    if failure.category == "auth":
        message = f"authentication failed for {remote.shown}"
    elif failure.category == "host-key":
        message = f"ssh host key verification failed for {remote.shown}"
    elif failure.category == "not-repo":
        message = f"{remote.shown} is not a git repository, or not one these credentials can read"
    elif failure.category == "missing":
        message = f"revision {asked!r} not found in {remote.shown}"
    else:
        message = f"cannot fetch from {remote.shown}"
    return SourceError(message + detail, transient=failure.category == "unreachable")


def _not_fetched(remote: _Remote, sha: str) -> SourceError:
    return SourceError(
        f"commit {sha} of {remote.shown} is not in the cache: resolve it first", transient=True
    )


def _inspect(root: Path, relative: PurePosixPath, *, check_links: bool) -> tuple[str, Path]:
    """What `relative` is in the tree at `root`: "ok" and the directory, "outside", "missing",
    "file", or "link" and (relative to `root`) a symlink under it leading outside `root`."""
    real_root = root.resolve()
    target = root.joinpath(*relative.parts).resolve()
    if not target.is_relative_to(real_root):
        return "outside", target
    if not target.exists():
        return "missing", target
    if not target.is_dir():
        return "file", target
    if check_links:
        for directory, dirnames, filenames in os.walk(target):
            for name in [*dirnames, *filenames]:
                candidate = Path(directory, name)
                if candidate.is_symlink() and not candidate.resolve().is_relative_to(real_root):
                    return "link", candidate.relative_to(real_root)
    return "ok", target


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)


def _remove_lock_files(repo: Path) -> None:
    for name in _LOCK_FILES:
        with contextlib.suppress(FileNotFoundError):
            (repo / name).unlink()
    refs = repo / "refs"
    if refs.is_dir():
        for lock in refs.rglob("*.lock"):
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()


def _remove_all(paths: Iterable[Path]) -> None:
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


async def _stop(process: asyncio.subprocess.Process) -> None:
    """Stops git and its helpers: SIGTERM first (git removes its lock files), then SIGKILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)
        try:
            async with asyncio.timeout(_KILL_GRACE):
                await process.wait()
            return
        except TimeoutError:
            continue
