"""Running machine commands for the charm: bounded in time, output kept for messages.

Every external command the charm runs goes through :func:`run`, so that failures carry
the command's last output lines (for a ``blocked`` status) and never its environment,
which may hold secrets.
"""

from __future__ import annotations

import os
import pwd
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_TIMEOUT = 600


_SSH_ERRORS = (
    "Permission denied",
    "Host key verification failed",
    "Could not resolve hostname",
    "Connection refused",
    "Connection timed out",
    "No route to host",
)


class CommandFailed(RuntimeError):
    """A command exited non-zero, timed out or could not start."""

    def __init__(self, what: str, output: str):
        self.what = what
        self.output = output
        super().__init__(f"{what}: {self.tail()}")

    def tail(self, lines: int = 3, width: int = 200) -> str:
        """The last non-empty output lines, joined, for a one-line status message."""
        kept = [line.strip() for line in self.output.splitlines() if line.strip()][-lines:]
        return " | ".join(kept)[-width:] or "no output"

    def reason(self, width: int = 200) -> str:
        """The lines that say what went wrong (git's and pip's ``fatal:``/``error:``, ssh's
        complaints) joined, else the last line."""
        significant = [
            line.strip()
            for line in self.output.splitlines()
            if line.strip().lower().startswith(("fatal:", "error:")) or any(m in line for m in _SSH_ERRORS)
        ]
        if significant:
            return " | ".join(significant[:2])[:width]
        return self.tail(1, width)


@dataclass(frozen=True)
class RunAs:
    """An unprivileged account commands may run as."""

    user: str
    home: Path

    def env(self) -> dict[str, str]:
        return {"HOME": str(self.home), "USER": self.user, "LOGNAME": self.user}

    @property
    def ids(self) -> tuple[int, int]:
        entry = pwd.getpwnam(self.user)
        return entry.pw_uid, entry.pw_gid


def base_env() -> dict[str, str]:
    """A clean environment for child commands: PATH, locale and the model's proxy settings."""
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
    for juju_name, name in (
        ("JUJU_CHARM_HTTP_PROXY", "http_proxy"),
        ("JUJU_CHARM_HTTPS_PROXY", "https_proxy"),
        ("JUJU_CHARM_NO_PROXY", "no_proxy"),
    ):
        if os.environ.get(juju_name):
            env[name] = env[name.upper()] = os.environ[juju_name]
    for passthrough in (
        "PIP_INDEX_URL",
        "PIP_EXTRA_INDEX_URL",
        "PIP_FIND_LINKS",
        "PIP_NO_INDEX",
        "PIP_CERT",
        "SSL_CERT_FILE",
        "PIP_DEFAULT_TIMEOUT",
    ):
        if os.environ.get(passthrough):
            env[passthrough] = os.environ[passthrough]
    return env


def run(
    what: str,
    argv: Sequence[str],
    *,
    run_as: RunAs | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    stdin: bytes | None = None,
) -> str:
    """Run ``argv``; return its combined output or raise :class:`CommandFailed` naming ``what``."""
    full_env = base_env()
    kwargs: dict[str, Any] = {}
    if run_as is not None:
        uid, gid = run_as.ids
        full_env.update(run_as.env())
        kwargs.update(user=uid, group=gid, extra_groups=[])
    full_env.update(env or {})
    try:
        result = subprocess.run(
            list(argv),
            cwd=cwd,
            env=full_env,
            input=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            check=False,
            **kwargs,
        )
    except subprocess.TimeoutExpired as error:
        output = (error.output or b"").decode(errors="replace")
        raise CommandFailed(f"{what} timed out after {int(timeout)}s", output) from None
    except OSError as error:
        raise CommandFailed(what, str(error)) from None
    output = result.stdout.decode(errors="replace")
    if result.returncode != 0:
        raise CommandFailed(f"{what} failed (exit {result.returncode})", output)
    return str(output)


def unit_states(names: Sequence[str]) -> dict[str, str]:
    """Each systemd unit's state (``active``, ``activating``, ``inactive``, ``failed``...),
    by name, from one ``systemctl is-active`` call (which exits non-zero for any but
    active, so its exit code says nothing); {} without names (no call at all)."""
    if not names:
        return {}
    result = subprocess.run(["systemctl", "is-active", *names], capture_output=True, text=True, check=False)
    return dict(zip(names, result.stdout.split(), strict=False))
