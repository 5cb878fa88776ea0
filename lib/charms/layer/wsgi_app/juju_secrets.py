"""Juju secrets through the hook tools, and what this unit last read of each.

A secret's content never reaches a command line, a log line or an error message: it is
given to ``secret-add``/``secret-set`` in a root-only file (``key#file=PATH``) and read
from ``secret-get``'s output pipe; errors carry the tool's complaint, never the content.

What a unit read is kept in a root-only cache beside the unit's memory record, per secret
with a *token* saying which revision it is (the revision the leader announced for
SECRET_KEY, ``""`` for a secret Juju tells us about with ``secret-changed``), so that
a hook in which nothing changed calls no hook tool (:func:`read`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .writes import write_atomically

# a secret's URI as Juju prints it ("secret:<xid>", "secret://<model uuid>/<xid>") or the
# bare xid: twenty characters of base32hex; nothing secret-get would read as an option
SECRET_ID = re.compile(r"(?:secret:(?://[0-9a-f-]{1,64}/)?)?[0-9a-v]{20}")
CACHE_NAME = ".wsgi-app-secrets.json"
TOOL_TIMEOUT = 60
# what secret-get answers a secret's owner that asks for --refresh up to Juju 3.1.6, where
# the owner always read the latest revision; from 3.1.7 (juju/juju#16598) an owner tracks a
# revision as a consumer does, and only --refresh reads the latest
OWNER_REFUSES_REFRESH = "owner"


class SecretError(Exception):
    """A secret could not be read or written; the message is safe to show (no content)."""


def available() -> bool:
    """Whether this Juju has secrets (Juju 2.9 has no ``secret-add``)."""
    return shutil.which("secret-add") is not None


def xid(uri: str) -> str:
    """The secret's id whatever the spelling (``secret:X``, ``secret://model/X``, ``X``)."""
    return uri.rsplit("/", 1)[-1].removeprefix("secret:")


def same(first: str, second: str) -> bool:
    return bool(first) and bool(second) and xid(first) == xid(second)


def _tool(*args: str) -> str:
    """Run the hook tool ``args``; its output, or SecretError with its complaint."""
    try:
        result = subprocess.run(list(args), capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False)
    except (OSError, subprocess.SubprocessError) as error:
        raise SecretError(f"{args[0]}: {type(error).__name__}") from None
    if result.returncode != 0:
        complaint = (result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[-1]
        raise SecretError(f"{args[0]}: {complaint.removeprefix('ERROR ')[:200]}")
    return result.stdout


def get(uri: str, refresh: bool = False) -> dict[str, str]:
    """The content of the secret ``uri`` (the revision this unit tracks; the latest with
    ``refresh``, which it then tracks). Raises SecretError."""
    if not SECRET_ID.fullmatch(uri):
        raise SecretError("not a Juju secret URI (secret:...)")
    output = _tool("secret-get", uri, "--format=json", *(["--refresh"] if refresh else []))
    try:
        content = json.loads(output)
    except ValueError:
        raise SecretError("secret-get: its answer is not JSON") from None
    if not isinstance(content, dict):
        raise SecretError("secret-get: its answer is not a mapping")
    return {str(key): str(value) for key, value in content.items()}


def get_latest(uri: str) -> dict[str, str]:
    """The latest revision, which this unit then tracks: ``--refresh``, or a plain read where
    Juju (up to 3.1.6) refuses that to the secret's owner, who read the latest anyway."""
    try:
        return get(uri, refresh=True)
    except SecretError as error:
        if OWNER_REFUSES_REFRESH not in str(error):
            raise
    return get(uri)


@contextlib.contextmanager
def _content_args(content: Mapping[str, str]) -> Iterator[list[str]]:
    """``key#file=PATH`` arguments for ``content``, each value in a root-only file removed
    afterwards (a value on the command line would show in the process listing)."""
    directory = tempfile.mkdtemp(prefix="wsgi-app-secret-")  # 0700, root's
    try:
        args = []
        for number, (key, value) in enumerate(sorted(content.items())):
            path = Path(directory) / str(number)
            write_atomically(path, value, 0o600, uid=os.geteuid(), gid=os.getegid())
            args.append(f"{key}#file={path}")
        yield args
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def add(content: Mapping[str, str], label: str, description: str) -> str:
    """A new secret owned by the application (the leader's call); its URI."""
    with _content_args(content) as args:
        uri = _tool("secret-add", "--label", label, "--description", description, *args).strip()
    if not SECRET_ID.fullmatch(uri):
        raise SecretError("secret-add: its answer is not a secret URI")
    return uri


def update(uri: str, content: Mapping[str, str]) -> None:
    """A new revision of the secret ``uri`` holding ``content`` (the owner leader's call)."""
    with _content_args(content) as args:
        _tool("secret-set", uri, *args)


def owned(uri: str = "", label: str = "") -> tuple[str, int] | None:
    """(URI, latest revision) of a secret this application owns, by URI or label; None if
    there is no such secret (the leader's call)."""
    try:
        output = _tool("secret-info-get", *([uri] if uri else ["--label", label]), "--format=json")
        found = json.loads(output)
    except (SecretError, ValueError):
        return None
    if not isinstance(found, dict):
        return None
    for key, info in found.items():
        if isinstance(info, dict) and str(info.get("revision", "")).isdigit():
            return f"secret:{xid(str(key))}", int(info["revision"])
    return None


def remove_revision(uri: str, revision: int) -> None:
    _tool("secret-remove", uri, "--revision", str(revision))


# -- what this unit read -------------------------------------------------------------


def cache_path() -> Path:
    from charmhelpers.core import hookenv

    return Path(hookenv.charm_dir()).parent / CACHE_NAME


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def cached(uri: str, token: str | None, path: Path | None = None) -> dict[str, str] | None:
    """What this unit read of ``uri`` when it was at ``token`` (None: at any); None if it
    has not."""
    entry = _load(path or cache_path()).get(xid(uri))
    if not isinstance(entry, dict) or not isinstance(entry.get("content"), dict):
        return None
    if token is not None and entry.get("token") != token:
        return None
    return {str(k): str(v) for k, v in entry["content"].items()}


def remember(uri: str, token: str, content: Mapping[str, str], path: Path | None = None) -> None:
    """Keep what was read of ``uri`` at ``token`` (root-only, in one rename)."""
    path = path or cache_path()
    data = _load(path)
    data[xid(uri)] = {"token": token, "content": dict(content)}
    write_atomically(path, json.dumps(data, sort_keys=True), 0o600, uid=os.geteuid(), gid=os.getegid())


def forget_others(uris: set[str], path: Path | None = None) -> None:
    """Drop what was read of every secret but ``uris`` (an option no longer names it)."""
    path = path or cache_path()
    data = _load(path)
    kept = {key: value for key, value in data.items() if key in {xid(u) for u in uris}}
    if kept != data:
        write_atomically(path, json.dumps(kept, sort_keys=True), 0o600, uid=os.geteuid(), gid=os.getegid())


def read(uri: str, token: str = "", fresh: bool = False) -> dict[str, str]:
    """The content of ``uri``: the cached one while its ``token`` holds and the hook does not
    say it changed (``fresh``), else the latest revision read from Juju (:func:`get_latest`,
    for owners as for consumers), and cached. Raises SecretError."""
    if not fresh:
        known = cached(uri, token)
        if known is not None:
            return known
    content = get_latest(uri)
    remember(uri, token, content)
    return content


def changed_in_this_hook() -> str:
    """The secret ``secret-changed`` (or another secret hook) is about, else ``""``."""
    from charmhelpers.core import hookenv

    if not hookenv.hook_name().startswith("secret-"):
        return ""
    return os.environ.get("JUJU_SECRET_ID", "")
