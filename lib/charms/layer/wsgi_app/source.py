"""Getting the application's code: the built-in demo, or a git repository.

A repository is mirrored once (``repo.git``, a bare mirror owned by the application
user) and fetched on later deploys; each release is a ``git archive`` of one commit,
so a release directory never holds ``.git`` and is never modified after it is made.
Git runs as the application user, without a terminal, with dangerous transports off.
"""

from __future__ import annotations

import hashlib
import io
import os
import shlex
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from . import ownership
from .commands import CommandFailed, RunAs, run

GIT_TIMEOUT = 300
DEMO_NAME = "demo"
# Git settings that hold whatever the remote or the URL asks for.
_SAFE_GIT = (
    "-c",
    "protocol.ext.allow=never",
    "-c",
    "protocol.fd.allow=never",
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "credential.helper=",
)
_GIT_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_ASKPASS": "/bin/false",
    "GIT_SSH_COMMAND": "ssh -o BatchMode=yes -o StrictHostKeyChecking=yes",
}


class SourceError(RuntimeError):
    """The application's code could not be fetched; ``str()`` is fit for a status."""


@dataclass(frozen=True)
class Revision:
    """One exact version of the application's code."""

    commit: str  # full hash, or "demo-<digest>" for the built-in demo
    label: str  # what the status shows: repository name or "demo"

    @property
    def short(self) -> str:
        return self.commit.rsplit("-", 1)[-1][:7]


def demo_revision(demo_dir: Path) -> Revision:
    """The demo app's revision: a digest of its files, so a charm upgrade redeploys it."""
    digest = hashlib.sha256()
    for path in sorted(p for p in demo_dir.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(demo_dir)).encode() + b"\0" + path.read_bytes())
    return Revision(commit=f"{DEMO_NAME}-{digest.hexdigest()[:12]}", label=DEMO_NAME)


def repo_label(url: str) -> str:
    """A short name for a repository URL: its last path component without ``.git``."""
    name = url.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    return name.removesuffix(".git") or "app"


def git(mirror: Path, run_as: RunAs, *args: str, what: str, env: dict[str, str] | None = None) -> str:
    return run(
        what,
        ["git", *_SAFE_GIT, f"--git-dir={mirror}", *args],
        run_as=run_as,
        env={**_GIT_ENV, **(env or {})},
        timeout=GIT_TIMEOUT,
    )


def fetch(url: str, ref: str, mirror: Path, run_as: RunAs, env: dict[str, str] | None = None) -> Revision:
    """Update the mirror of ``url`` and resolve ``ref`` (empty: the default branch)."""
    try:
        if (mirror / "HEAD").exists() and _mirror_url(mirror, run_as) != url:
            shutil.rmtree(mirror)
        if not (mirror / "HEAD").exists():
            ownership.new_app_dir(mirror, *run_as.ids)
            git(mirror, run_as, "init", "--bare", "--quiet", what="git init")
            git(mirror, run_as, "remote", "add", "--mirror=fetch", "origin", "--", url, what="git remote add")
        trust = _trust_local_repository(url)
        git(mirror, run_as, *trust, "fetch", "--prune", "--quiet", "origin", what=f"git fetch {url}", env=env)
        if not ref:
            _follow_remote_head(mirror, run_as, env, trust)
        commit = _resolve(mirror, run_as, ref or "HEAD")
    except CommandFailed as error:
        raise SourceError(f"app_repo: cannot fetch {url}: {error.reason()}") from None
    return Revision(commit=commit, label=repo_label(url))


def _trust_local_repository(url: str) -> tuple[str, ...]:
    """Let git read a ``file://`` repository owned by another user (the operator chose it).

    git refuses a repository its user does not own ("dubious ownership"), and does not
    pass ``-c`` settings on to the local upload-pack; so the upload-pack command itself
    carries the exception, for that one path only.
    """
    if not url.startswith("file://"):
        return ()
    path = url[len("file://") :].rstrip("/")
    return ("-c", f"remote.origin.uploadpack=git -c safe.directory={shlex.quote(path)} upload-pack")


def _mirror_url(mirror: Path, run_as: RunAs) -> str:
    try:
        return git(mirror, run_as, "config", "--get", "remote.origin.url", what="git config").strip()
    except CommandFailed:
        return ""


def _follow_remote_head(
    mirror: Path, run_as: RunAs, env: dict[str, str] | None, trust: tuple[str, ...] = ()
) -> None:
    """Point the mirror's HEAD at the remote's default branch."""
    listing = git(
        mirror, run_as, *trust, "ls-remote", "--symref", "origin", "HEAD", what="git ls-remote", env=env
    )
    for line in listing.splitlines():
        if line.startswith("ref: ") and line.endswith("\tHEAD"):
            branch = line[len("ref: ") :].split("\t", 1)[0]
            git(mirror, run_as, "symbolic-ref", "HEAD", branch, what="git symbolic-ref")
            return


def resolve_commit(mirror: Path, run_as: RunAs, commit: str) -> str:
    """``commit`` (a full hash) as the mirror holds it; :class:`SourceError` when it does not."""
    try:
        return _rev_parse(mirror, run_as, commit)
    except CommandFailed:
        raise SourceError(f"commit {commit[:7]} is not in the repository") from None


def _rev_parse(mirror: Path, run_as: RunAs, name: str) -> str:
    """The commit ``name`` names in the mirror (never read as an option)."""
    verify = ("rev-parse", "--verify", "--quiet", "--end-of-options", f"{name}^{{commit}}")
    return git(mirror, run_as, *verify, what="git rev-parse").strip()


def _resolve(mirror: Path, run_as: RunAs, ref: str) -> str:
    for candidate in (ref, f"refs/heads/{ref}", f"refs/tags/{ref}"):
        try:
            return _rev_parse(mirror, run_as, candidate)
        except CommandFailed:
            continue
    raise SourceError(f"app_ref {ref!r} is not a branch, tag or commit of the repository")


def export(revision: Revision, mirror: Path, target: Path, run_as: RunAs, demo_dir: Path) -> None:
    """Write the files of ``revision`` into ``target`` (which must not exist yet).

    Root writes them, into a directory only root can write (``target``'s parent is a
    root-owned release), so they are root-owned: the application reads its code and cannot
    change it. git itself runs as the application user and only hands over an archive.
    """
    target.mkdir(mode=0o755)
    if revision.label == DEMO_NAME and revision.commit.startswith(f"{DEMO_NAME}-"):
        shutil.copytree(demo_dir, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
        return
    try:
        archive = _git_archive(mirror, run_as, revision.commit)
    except CommandFailed as error:
        raise SourceError(f"cannot export {revision.short}: {error.reason()}") from None
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        members = checked_members(tar)
        try:
            if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4 checks again, for good measure
                tar.extractall(target, members=members, filter="data")
            else:
                tar.extractall(target, members=members, numeric_owner=True)
        except tarfile.TarError as error:
            raise SourceError(f"the repository cannot be unpacked safely: {str(error)[:120]}") from None
    links_stay_inside(target)


def links_stay_inside(tree: Path) -> None:
    """Refuse a tree with a symlink that resolves outside it (after links through links)."""
    top = os.path.realpath(tree)
    for directory, dirs, files in os.walk(tree):
        for name in (*dirs, *files):
            path = os.path.join(directory, name)
            if os.path.islink(path):
                resolved = os.path.realpath(path)
                if resolved != top and not resolved.startswith(top + os.sep):
                    shown = os.path.relpath(path, tree)[:80]
                    raise SourceError(f"the repository holds a symlink pointing outside it: {shown!r}")


def checked_members(tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """The archive's entries, refusing any that could write outside the release directory.

    Only files, directories and symlinks; no absolute or ``..`` paths; nothing below a
    symlink; no symlink pointing outside the tree (a repository may hold a link to
    ``/etc/shadow``); no set-id bits. :func:`links_stay_inside` checks the links again
    once they are on disk, where links through links resolve.
    """
    links: set[PurePosixPath] = set()
    members = []
    for member in tar.getmembers():
        path = PurePosixPath(member.name)
        if path.is_absolute() or ".." in path.parts:
            raise SourceError(f"the repository holds an unsafe path: {member.name[:80]!r}")
        if not (member.isfile() or member.isdir() or member.issym()):
            raise SourceError(f"the repository holds a special file: {member.name[:80]!r}")
        if any(parent in links for parent in path.parents):
            raise SourceError(f"the repository holds a path below a symlink: {member.name[:80]!r}")
        if member.issym():
            _link_stays_inside(path, member.linkname)
            links.add(path)
        member.mode &= 0o777
        members.append(member)
    return members


def _link_stays_inside(path: PurePosixPath, target: str) -> None:
    """A symlink's target read as text: relative, and inside the tree from where it is."""
    where = PurePosixPath(os.path.normpath(PurePosixPath(path.parent, target)))
    if target.startswith("/") or where.parts[:1] == ("..",) or str(where) == "..":
        raise SourceError(f"the repository holds a symlink pointing outside it: {str(path)[:80]!r}")


def _git_archive(mirror: Path, run_as: RunAs, commit: str) -> bytes:
    import subprocess

    from .commands import base_env

    uid, gid = run_as.ids
    result = subprocess.run(
        ["git", *_SAFE_GIT, f"--git-dir={mirror}", "archive", "--format=tar", commit],
        capture_output=True,
        env={**base_env(), **run_as.env()},
        user=uid,
        group=gid,
        extra_groups=[],
        timeout=GIT_TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        raise CommandFailed("git archive", result.stderr.decode(errors="replace"))
    return result.stdout
