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
import secrets
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
        env_file = self.paths.etc / f".{unit}.env"
        full_env = {**base_env(), **self.account.env(), **(env or {})}
        write_atomically(env_file, encode(full_env), 0o600, uid=0, gid=0)
        argv_run = ["systemd-run", "--quiet", "--wait", "--pipe", "--collect", f"--unit={unit}"]
        for line in self.properties(cwd, writable, env_file, timeout):
            argv_run += ["--property", line]
        started = time.monotonic()
        try:
            result = subprocess.run(
                [*argv_run, "--", *argv],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=base_env(),
                timeout=timeout + STOP_TIMEOUT + 30,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            self.stop(unit)
            raise CommandFailed(f"{what} timed out", (error.output or b"").decode(errors="replace")) from None
        except OSError as error:
            raise CommandFailed(what, str(error)) from None
        finally:
            env_file.unlink(missing_ok=True)
        output = result.stdout.decode(errors="replace")
        if result.returncode != 0 and time.monotonic() - started >= timeout:
            raise CommandFailed(f"{what} timed out after {int(timeout)}s", output)
        if result.returncode != 0:
            raise CommandFailed(f"{what} failed (exit {result.returncode})", output)
        return output

    def stop(self, pattern: str) -> None:
        """Stop the units ``pattern`` names, killing what they still run."""
        with contextlib.suppress(CommandFailed):
            run("stop build steps", ["systemctl", "stop", "--", pattern], timeout=STOP_TIMEOUT + 30)

    def stop_leftovers(self) -> None:
        """Stop steps an interrupted hook left running (a killed hook does not stop its unit)."""
        self.stop(f"{self.unit_prefix()}*.service")
