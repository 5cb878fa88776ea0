"""Running the application's code at build time (pip builds, the import check,
``release_command``) in a transient systemd unit with the service's sandbox.

Each step is ``systemd-run --wait --pipe`` of a unit named ``<app>-build-<step>-<id>``
with the same confinement as the gunicorn service (:mod:`.sandbox`), its memory and task
limits, and only the directories that step must write. Its environment, which may hold
secrets, is passed in a root-only ``EnvironmentFile`` (never on a command line, never in
the unit's properties). When the step ends, times out or fails, systemd stops the unit
and with it every process the step started: nothing it ran keeps running beside a retry.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import selectors
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .commands import CommandFailed, RunAs, base_env, run
from .paths import Paths
from .sandbox import sandbox_directives
from .settings_file import encode
from .writes import write_atomically

if TYPE_CHECKING:
    from .state import WsgiState

STOP_TIMEOUT = 10  # what a step's leftover processes get between SIGTERM and SIGKILL
OUTPUT_LIMIT = 1 << 20  # bytes of a step's output kept (its end): a step may print without end


@dataclass(frozen=True)
class Finished:
    """How a confined command ended."""

    exit_code: int  # -1 when it had to be stopped from outside
    output: str  # stdout and stderr, the end of them (from a line start) when they were long
    timed_out: bool


def read_tail(process: subprocess.Popen[bytes], limit: int, deadline: float) -> tuple[str, bool]:
    """What ``process`` prints until it ends, only the last ``limit`` bytes kept (from the
    first line start in them when some were dropped, so no line is cut, else from a
    character's start), and whether it
    ended before ``deadline`` (``time.monotonic()``)."""
    assert process.stdout is not None
    kept, dropped = bytearray(), False
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return _text(kept, dropped), False
            if not selector.select(min(left, 1.0)):
                continue
            chunk = os.read(process.stdout.fileno(), 65536)
            if not chunk:
                break
            kept += chunk
            if len(kept) > limit:
                del kept[: len(kept) - limit]
                dropped = True
    try:
        process.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        return _text(kept, dropped), False
    return _text(kept, dropped), True


def _text(kept: bytearray, dropped: bool) -> str:
    if dropped:
        newline = kept.find(b"\n")
        if newline >= 0:
            kept = kept[newline + 1 :]
        else:  # one long line (a JSON dump): its end, from a character's first byte
            del kept[: next((i for i, byte in enumerate(kept[:4]) if not 0x80 <= byte < 0xC0), 0)]
    return kept.decode(errors="replace")


def literal(argument: str) -> str:
    """``argument`` as a unit's command line must hold it to reach the command unchanged:
    systemd expands ``${NAME}`` (and ``$NAME`` alone) there with the unit's environment,
    the settings (``echo '${X:-none}'`` lost its text, ``${DATABASE_URL}`` put the
    password on a command line); ``$$`` is its one literal ``$``."""
    return argument.replace("$", "$$")


@dataclass(frozen=True)
class Sandbox:
    """Where and as whom build steps run, and their limits (config memory_max, tasks_max)."""

    paths: Paths
    account: RunAs
    memory_max: str
    tasks_max: int

    @classmethod
    def for_state(cls, state: WsgiState) -> Sandbox:
        """Where the application's code runs at build time: as its user, confined like the
        service, with its config's limits."""
        config, paths = state.config, state.paths
        return cls(paths, RunAs(user=paths.user, home=paths.root), config.memory_max, config.tasks_max)

    def unit_prefix(self) -> str:
        return f"{self.paths.name}-build-"

    def properties(self, cwd: Path, writable: Sequence[Path], env_file: Path, timeout: float) -> list[str]:
        """The transient unit's settings (values come from :class:`Paths` and validated
        config, whose characters need no quoting in a unit property)."""
        return [
            "Type=exec",
            f"User={self.account.user}",
            f"Group={self.account.user}",
            f"WorkingDirectory={cwd}",
            f"EnvironmentFile={env_file}",
            "UMask=0027",
            f"RuntimeMaxSec={max(1, int(timeout))}",
            "KillMode=control-group",
            f"TimeoutStopSec={STOP_TIMEOUT}",
            f"MemoryMax={self.memory_max}",
            f"TasksMax={self.tasks_max}",
            *sandbox_directives(self.paths, tuple(writable)),
        ]

    def run(
        self,
        what: str,
        argv: Sequence[str],
        *,
        cwd: Path,
        writable: Sequence[Path] = (),
        env: Mapping[str, str] | None = None,
        timeout: float,
    ) -> str:
        """Run ``argv`` confined; its output, or :class:`CommandFailed` naming ``what``."""
        step = "".join(c if c.isalnum() else "-" for c in what.lower()).strip("-")[:24]
        unit = f"{self.unit_prefix()}{step}-{secrets.token_hex(4)}.service"
        self.stop_leftovers()
        try:
            finished = self.execute(
                unit,
                argv,
                cwd=cwd,
                writable=writable,
                env=env,
                timeout=timeout,
                description=f"{self.paths.name} {what}",
            )
        except OSError as error:
            raise CommandFailed(what, str(error)) from None
        if finished.timed_out:
            raise CommandFailed(f"{what} timed out after {int(timeout)}s", finished.output)
        if finished.exit_code != 0:
            raise CommandFailed(f"{what} failed (exit {finished.exit_code})", finished.output)
        return finished.output

    def execute(
        self,
        unit: str,
        argv: Sequence[str],
        *,
        cwd: Path,
        writable: Sequence[Path] = (),
        env: Mapping[str, str] | None = None,
        timeout: float,
        limit: int = OUTPUT_LIMIT,
        description: str = "",
    ) -> Finished:
        """Run ``argv`` confined as the transient ``unit`` (``description``: what systemd
        says it is, else its name; never the command line, systemd-run's default, which
        systemd logs and shows to every user) and say how it ended, with the last ``limit``
        bytes of its output; raises ``OSError`` when it cannot start."""
        env_file = self.paths.etc / f".{unit}.env"
        full_env = {**base_env(), **self.account.env(), **(env or {})}
        write_atomically(env_file, encode(full_env), 0o600, uid=0, gid=0)
        argv_run = ["systemd-run", "--quiet", "--wait", "--pipe", "--collect", f"--unit={unit}"]
        argv_run.append(f"--description={description or unit}")
        for line in self.properties(cwd, writable, env_file, timeout):
            argv_run += ["--property", line]
        started = time.monotonic()
        try:
            process = subprocess.Popen(
                [*argv_run, "--", *(literal(arg) for arg in argv)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=base_env(),
            )
            with process:
                output, ended = read_tail(process, limit, started + timeout + STOP_TIMEOUT + 30)
                if not ended:  # systemd did not end it: stop the unit, and with it the command
                    process.kill()
                    self.stop(unit)
        finally:
            env_file.unlink(missing_ok=True)
        code = process.returncode if ended else -1
        timed_out = not ended or (code != 0 and time.monotonic() - started >= timeout)
        return Finished(code, output, timed_out)

    def stop(self, pattern: str) -> None:
        """Stop the units ``pattern`` names, killing what they still run."""
        with contextlib.suppress(CommandFailed):
            run("stop build steps", ["systemctl", "stop", "--", pattern], timeout=STOP_TIMEOUT + 30)

    def stop_leftovers(self) -> None:
        """Stop steps an interrupted hook left running (a killed hook does not stop its unit)."""
        self.stop(f"{self.unit_prefix()}*.service")
