"""Drive a local model from Python (tests, benchmarks) through the ``localjuju`` command
line, one process per verb as a user types them, and put git repositories where its
machines read them.

    model = LocalModel("mine", app="my-charm")
    model.deploy(Path("build/my-charm"), port=8080)
    assert model.unit()["workload-status"] == "active"
    model.destroy()

Nothing here knows a charm: callers give the application that unit arguments default to,
and the systemd unit :meth:`LocalModel.main_pid` reads by default.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from .machines import SHARE
from .model import model_dir

T = TypeVar("T")

PACKAGE_PARENT = str(Path(__file__).resolve().parents[1])  # the CLI runs this very localjuju
MACHINE_REPOS = f"{SHARE}/repos"  # how a machine sees <share>/repos


class CliFailed(RuntimeError):
    """A ``localjuju`` command exited non-zero; ``str()`` has its output's tail."""


class LocalModel:
    """One local model, driven through the ``localjuju`` CLI.

    ``app``: the application whose unit 0 the unit arguments default to; ``service``: the
    systemd unit :meth:`main_pid` and :meth:`serving_unit` name by default, a shell word
    expanded on the machine (so it may read the machine's files).
    """

    def __init__(self, name: str, app: str = "", service: str = ""):
        self.name = name
        self.app = app
        self.service = service

    @property
    def default_unit(self) -> str:
        return f"{self.app}/0"

    @property
    def directory(self) -> Path:
        """Where the model's state lives on the host (``$LOCALJUJU_HOME/<model>``)."""
        return model_dir(self.name)

    def command(self, *args: str) -> list[str]:
        """The argv of ``localjuju -m <model> <args>``, for callers that read it as it runs."""
        return [sys.executable, "-m", "localjuju.cli", "-m", self.name, *args]

    def environment(self) -> dict[str, str]:
        """The environment the command runs in: this localjuju first on the import path."""
        paths = [PACKAGE_PARENT, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
        return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}

    def cli(self, *args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        """Run ``localjuju -m <model> <args>``; :class:`CliFailed` when ``check`` and it fails."""
        result = subprocess.run(
            self.command(*args),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=self.environment(),
        )
        if check and result.returncode != 0:
            raise CliFailed(
                f"localjuju {' '.join(args)} exited {result.returncode}\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result

    # -- verbs ---------------------------------------------------------------------------
    def deploy(self, charm: Path, *args: str, **config: str | int) -> subprocess.CompletedProcess[str]:
        """``deploy <charm> <args>`` with ``--config key=value`` for each of ``config``."""
        options = [arg for key, value in config.items() for arg in ("--config", f"{key}={value}")]
        return self.cli("deploy", str(charm), *args, *options)

    def config(self, **settings: str | int) -> None:
        """Set the default application's config (its hooks run when a value changed)."""
        self.cli("config", self.app, *(f"{key}={value}" for key, value in settings.items()))

    def action(self, name: str, unit: str = "", **params: str) -> dict[str, Any]:
        """Run action ``name``: its outcome (``status`` completed or failed), or
        ``{"status": "refused", "message": ...}`` when it is refused before any hook."""
        arguments = [f"{key}={value}" for key, value in params.items()]
        result = self.cli("run", unit or self.default_unit, name, *arguments, "--format", "json", check=False)
        if result.returncode != 0 and not result.stdout.strip():
            return {"status": "refused", "message": result.stderr.strip().removeprefix("ERROR ")}
        outcome: dict[str, Any] = json.loads(result.stdout)
        return outcome

    def completed(self, name: str, unit: str = "", **params: str) -> dict[str, Any]:
        """:meth:`action`, or :class:`CliFailed` unless it completed."""
        outcome = self.action(name, unit, **params)
        if outcome.get("status") != "completed":
            raise CliFailed(f"action {name} did not complete: {outcome}")
        return outcome

    def sh(self, command: str, unit: str = "", timeout: float = 900) -> str:
        """Run a shell command as root on the unit's machine; its stdout."""
        return self.cli("exec", unit or self.default_unit, "--", "sh", "-c", command, timeout=timeout).stdout

    def destroy(self) -> None:
        """``destroy`` the model (nothing left of it on the host); never raises."""
        self.cli("destroy", check=False)

    # -- what `status` and friends show ---------------------------------------------------
    def status(self) -> dict[str, Any]:
        """``status --format json``."""
        data: dict[str, Any] = json.loads(self.cli("status", "--format", "json").stdout)
        return data

    def unit(self, unit: str = "") -> dict[str, Any]:
        """The unit's entry in :meth:`status` (``workload-status``, ``address``...)."""
        name = unit or self.default_unit
        info: dict[str, Any] = self.status()["applications"][name.split("/")[0]]["units"][name]
        return info

    def version(self, app: str = "") -> str:
        """The application version ``app`` (default: the model's app) set."""
        return str(self.status()["applications"][app or self.app]["version"])

    def debug_log(self, include: str = "") -> str:
        """The whole debug log, or its lines that start with ``include`` (a unit name)."""
        return self.cli("debug-log", "--replay", "--include", include).stdout

    def main_pid(self, unit: str = "", service: str = "") -> int:
        """The MainPID of ``service`` (default: the model's) on the unit's machine; 0 when none."""
        return int(self.sh(f"systemctl show -P MainPID {service or self.service}", unit).strip() or 0)

    def serving_unit(self, unit: str = "") -> str:
        """The model's ``service``, as the unit's machine expands it."""
        return self.sh(f"echo {self.service}", unit).strip()

    def record(self) -> dict[str, Any]:
        """The model's state file (``model.json``) as it is now."""
        data: dict[str, Any] = json.loads((self.directory / "model.json").read_text())
        return data

    def machine_share(self, unit: str = "") -> Path:
        """The host directory the unit's machine sees as /var/lib/localjuju."""
        data = self.record()
        return Path(data["machines"][data["units"][unit or self.default_unit]["machine"]]["dir"]) / "share"

    def share(self, machine: str = "0") -> Path:
        """The host directory machine ``machine`` sees as /var/lib/localjuju. It may be
        filled before the machine boots (localjuju keeps what is there), so a repository
        can be in place for the very first hooks."""
        return self.directory / "machines" / machine / "share"


@contextlib.contextmanager
def fresh(model: LocalModel) -> Iterator[LocalModel]:
    """``model`` emptied first (a leftover of the same name is removed), destroyed on exit."""
    model.destroy()
    try:
        yield model
    finally:
        model.destroy()


def wait_for(predicate: Callable[[], T], timeout: float, interval: float = 0.5) -> T | None:
    """The first true value of ``predicate()`` (polled every ``interval`` s) within
    ``timeout`` s; None when it stayed false."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` with a fixed author; its stripped stdout."""
    command = ["git", "-c", "user.name=localjuju", "-c", "user.email=localjuju@example.org", *args]
    return subprocess.run(command, cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


class ShareRepo:
    """A bare git repository in a machine's share (``file:///var/lib/localjuju/repos/<name>.git``
    inside the machine) and a host working copy that pushes to it.

    The working copy is under ``work`` when given, else in a temporary directory that
    lives as long as this object.
    """

    def __init__(self, share: Path, name: str, work: Path | None = None):
        self.bare = share / "repos" / f"{name}.git"
        self.url = f"file://{MACHINE_REPOS}/{name}.git"
        self._temporary = None if work else tempfile.TemporaryDirectory(prefix=f"localjuju-{name}-")
        self.work = work / name if work else Path(self._temporary.name)  # type: ignore[union-attr]
        self.bare.parent.mkdir(parents=True, exist_ok=True)
        git(self.bare.parent, "init", "--quiet", "--bare", "--initial-branch=main", self.bare.name)
        self.work.mkdir(parents=True, exist_ok=True)
        git(self.work, "init", "--quiet", "--initial-branch=main")
        git(self.work, "remote", "add", "origin", str(self.bare))

    def commit(self, files: dict[str, str], message: str) -> str:
        """Write ``files`` (paths relative to the repository), commit and push them (tags
        too); the commit's short hash."""
        for name, text in files.items():
            path = self.work / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        git(self.work, "add", "-A")
        git(self.work, "commit", "--quiet", "--allow-empty", "-m", message)
        git(self.work, "push", "--quiet", "--tags", "origin", "main")
        return git(self.work, "rev-parse", "--short=7", "HEAD")

    def tag(self, name: str) -> None:
        git(self.work, "tag", name)
        git(self.work, "push", "--quiet", "origin", name)
