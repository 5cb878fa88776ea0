"""The host's processes as ``/proc`` shows them: which ones refer to a directory (by an
argument, their working directory or their root), which TCP ports they listen on, and
stopping them. Used to clean up, and to check, what a model left running."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
LISTEN = "0A"  # the TCP state in /proc/net/tcp


@dataclass(frozen=True)
class Process:
    """One process: its arguments, working directory and root directory."""

    pid: int
    argv: tuple[str, ...]
    cwd: str = ""
    root: str = "/"

    def mentions(self, directory: Path) -> bool:
        """Whether an argument names ``directory`` (or a path in it), or it runs in it."""
        prefix = f"{str(directory).rstrip('/')}/"
        found = any(prefix in f"{arg}/" for arg in self.argv)
        return found or any(f"{place}/".startswith(prefix) for place in (self.cwd, self.root))


def _link(path: Path) -> str:
    try:
        return os.readlink(path).removesuffix(" (deleted)")
    except OSError:
        return ""


def read(pid: int) -> Process | None:
    """Process ``pid``, or ``None`` when it is gone or has no arguments (a kernel thread)."""
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return None
    if not raw:
        return None
    argv = tuple(part.decode(errors="replace") for part in raw.rstrip(b"\0").split(b"\0"))
    return Process(pid, argv, _link(PROC / str(pid) / "cwd"), _link(PROC / str(pid) / "root") or "/")


def processes() -> list[Process]:
    """Every process but this one."""
    found = []
    for entry in PROC.iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            process = read(int(entry.name))
            if process is not None:
                found.append(process)
    return found


def under(directory: Path) -> list[Process]:
    """The processes that refer to ``directory``."""
    return [p for p in processes() if p.mentions(directory)]


def listening_sockets(table: str) -> dict[int, int]:
    """Socket inode -> port of the listening sockets in a ``/proc/net/tcp``(6) table."""
    found = {}
    for line in table.splitlines()[1:]:
        fields = line.split()
        if len(fields) > 9 and fields[3] == LISTEN:
            found[int(fields[9])] = int(fields[1].rsplit(":", 1)[1], 16)
    return found


def socket_inodes(pid: int) -> set[int]:
    """The inodes of the sockets process ``pid`` holds open."""
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in (PROC / str(pid) / "fd").iterdir():
            target = _link(fd)
            if target.startswith("socket:["):
                inodes.add(int(target[8:-1]))
    return inodes


def listening_ports(pid: int) -> list[int]:
    """The TCP ports process ``pid`` listens on (in whatever network namespace it is in)."""
    sockets: dict[int, int] = {}
    for table in ("tcp", "tcp6"):
        with contextlib.suppress(OSError):
            sockets.update(listening_sockets((PROC / str(pid) / "net" / table).read_text()))
    return sorted({port for inode, port in sockets.items() if inode in socket_inodes(pid)})


def netns(pid: int) -> str:
    """Which network namespace process ``pid`` is in (``net:[<inode>]``)."""
    return _link(PROC / str(pid) / "ns" / "net")


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, gone but not yet reaped by its parent, does not)."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def terminate(pids: Iterable[int], timeout: float = 10.0) -> None:
    """SIGTERM ``pids``, wait up to ``timeout`` for them to go, then SIGKILL what is left."""
    pending = set(pids)
    for pid in pending:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    end = time.monotonic() + timeout
    while pending and time.monotonic() < end:
        time.sleep(0.1)
        pending = {pid for pid in pending if alive(pid)}
    for pid in pending:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
