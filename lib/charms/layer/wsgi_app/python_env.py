"""The application's own virtualenv: created once per set of requirements, then shared.

A venv's key is a digest of everything that decides its contents (the requirements
file, or for a ``pyproject.toml``/``setup.py`` project the release itself, plus the
charm's extra packages and the Python version). A release whose key already has a venv
reuses it; a new one is built under a temporary name and renamed when complete, so a
failed install never leaves a half-made venv behind.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from . import ownership
from .commands import CommandFailed
from .confined import Sandbox

# 27 is the first whose gthread worker, when it stops, answers requests on kept-alive
# connections (with "Connection: close") instead of dropping them: the handover needs it.
GUNICORN = "gunicorn>=27,<28"
PIP_TIMEOUT = 1800
# gunicorn's own extras: its gevent worker also imports packaging; uvicorn-worker 0.4 needs
# gunicorn >= 21 and uvicorn >= 0.36 (its metadata), and is pinned to 0.4 because
# files/wsgi_app_uvicorn.py subclasses its worker
WORKER_CLASS_PACKAGES = {"gevent": ("gunicorn[gevent]",), "uvicorn": ("uvicorn-worker>=0.4,<0.5",)}
# what serves and compresses a release's static files (files/wsgi_app_static.py,
# static_files): installed only into the venvs of apps that have static files, so no other
# app's venv (or its key) changes, nor needs Brotli's compiled wheel. Loose bounds: an app
# that pins its own whitenoise (Django apps often do) keeps its version; 5.3 is the
# oldest whose API (immutable_file_test, compress's command line) the charm uses.
STATIC_PACKAGES = ("whitenoise>=5.3", "Brotli>=1.0")


class VenvError(RuntimeError):
    """The application's requirements could not be installed; ``str()`` fits a status."""


@dataclass(frozen=True)
class VenvPlan:
    """What goes into a venv, and the key that names it."""

    requirements_file: Path | None  # requirements.txt in the release
    project_dir: Path | None  # a pyproject.toml/setup.py project to install itself
    extra: tuple[str, ...]  # gunicorn, worker class and static packages, the python_packages option
    key: str


def plan(
    app_dir: Path,
    release_id: str,
    python_packages: tuple[str, ...],
    worker_class: str,
    python_version: str = f"{sys.version_info.major}.{sys.version_info.minor}",
    *,
    static: bool = False,
) -> VenvPlan:
    """Decide how to install the app in ``app_dir`` (pure: reads files, runs nothing);
    ``static``: the release serves static files (see :data:`STATIC_PACKAGES`)."""
    static_packages = STATIC_PACKAGES if static else ()
    extra = (GUNICORN, *WORKER_CLASS_PACKAGES.get(worker_class, ()), *static_packages, *python_packages)
    digest = hashlib.sha256(f"python {python_version}\n".encode())
    digest.update("\n".join(extra).encode() + b"\n")
    requirements = app_dir / "requirements.txt"
    project = None
    if requirements.is_file():
        digest.update(b"requirements.txt\n" + requirements.read_bytes())
    elif (app_dir / "pyproject.toml").is_file() or (app_dir / "setup.py").is_file():
        project = app_dir
        digest.update(f"project of release {release_id}\n".encode())
    return VenvPlan(
        requirements_file=requirements if requirements.is_file() else None,
        project_dir=project,
        extra=extra,
        key=digest.hexdigest()[:16],
    )


def ensure(venv_plan: VenvPlan, venvs: Path, sandbox: Sandbox, app_dir: Path, workspace: Path) -> Path:
    """The venv for ``venv_plan``, building it if it does not exist yet.

    pip runs confined (see :mod:`.confined`), as the application user, writing only the
    new venv, its cache and ``workspace``: a copy of ``app_dir`` it may build the project
    in (``app_dir`` itself is root's). The finished venv is made root's before it is used.
    """
    venv = venvs / venv_plan.key
    if (venv / "bin" / "python").exists():
        return venv
    building = venvs / f".{venv_plan.key}.building"
    uid, gid = sandbox.account.ids
    ownership.new_app_dir(building, uid, gid)
    try:
        _copy_for_build(app_dir, workspace, uid, gid)
        sandbox.run(
            "create the virtualenv",
            [sys_python(), "-m", "venv", str(building)],
            cwd=workspace,
            writable=(building,),
            timeout=PIP_TIMEOUT,
        )
        args: list[str] = list(venv_plan.extra)
        if venv_plan.requirements_file is not None:
            args += ["-r", str(venv_plan.requirements_file.relative_to(app_dir))]
        if venv_plan.project_dir is not None:
            args.append(".")
        sandbox.run(
            "pip install",
            [str(building / "bin" / "python"), "-m", "pip", "install", "--quiet", *args],
            cwd=workspace,
            writable=(building, sandbox.paths.cache, workspace),
            env={
                "PIP_CACHE_DIR": str(sandbox.paths.cache / "pip"),
                "PIP_NO_INPUT": "1",
                "PIP_DISABLE_PIP_VERSION_CHECK": "1",
                "XDG_CACHE_HOME": str(sandbox.paths.cache),
            },
            timeout=PIP_TIMEOUT,
        )
        ownership.freeze(building, uid)
    except CommandFailed as error:
        ownership.remove(building)
        raise VenvError(f"{error.what}: {error.tail(2)}") from None
    finally:
        ownership.remove(workspace)
    building.rename(venv)
    return venv


def _copy_for_build(app_dir: Path, workspace: Path, uid: int, gid: int) -> None:
    """Copy the release's code into ``workspace`` (in a root-owned parent) as root, then
    give the copy to the application user."""
    ownership.remove(workspace)
    shutil.copytree(app_dir, workspace, symlinks=True)
    ownership.hand_over(workspace, uid, gid)


def sys_python() -> str:
    """The machine's python3 (the charm's own venv must not leak into the app's)."""
    return "/usr/bin/python3"


def prune(venvs: Path, keep: set[Path]) -> None:
    """Remove venvs no kept release uses."""
    for venv in venvs.iterdir():
        if venv not in keep:
            ownership.remove(venv)
