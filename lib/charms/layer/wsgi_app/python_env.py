"""The application's own virtualenv: created once per set of requirements, then shared.

A venv's key is a digest of everything that decides its contents (the lock or
requirements file, or for a project whose own code is installed the release itself, plus
the charm's extra packages, the installer and the Python version). A release whose key
already has a venv reuses it; a new one is built under a temporary name and renamed when
complete, so a failed install never leaves a half-made venv behind; its scripts are
then pointed at the new name (:mod:`.venv_scripts`).

uv installs (``bench/venv_build.py`` measures it against pip). What the repository holds
(:mod:`.lockfiles`) decides the steps:

- ``uv.lock``: ``uv sync --frozen`` of the main dependencies (the project itself, if it is
  a package, built into the venv, not linked to the build copy); on a model with its own
  package index or wheels (which ``uv sync --frozen`` ignores: it fetches the lock's URLs),
  ``uv export`` of the same set with hashes, installed from the model's index;
- ``poetry.lock``: Poetry exports the main group with hashes, uv installs exactly that set
  checking every hash (a path or git dependency has none), then the project itself (if it
  is a package) without dependencies;
- ``requirements.txt`` with hashes: installed with hashes required;
- after each of those the charm's packages (gunicorn, worker class packages, the
  ``python_packages`` option) are installed constrained to the versions now in the venv:
  the app's locked set never changes, a conflict fails the build naming it;
- otherwise the charm's packages and ``requirements.txt`` (or the project) are resolved
  together in one install, as pip did.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from . import build_tools, lockfiles, ownership, python_version, repo_files, venv_scripts
from .commands import CommandFailed, base_env
from .confined import Sandbox
from .lockfiles import Kind
from .writes import write_atomically

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
EXPORTED = ".wsgi-app-locked-requirements.txt"  # Poetry's or uv's export, in the build copy
_PIN = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]{0,127})==([A-Za-z0-9][A-Za-z0-9.+!_-]{0,63})")


class VenvError(RuntimeError):
    """The application's requirements could not be installed; ``str()`` fits a status."""


@dataclass(frozen=True)
class VenvPlan:
    """What goes into a venv, and the key that names it."""

    app: lockfiles.AppRequirements
    extra: tuple[str, ...]  # gunicorn, worker class and static packages, the python_packages option
    key: str


@dataclass(frozen=True)
class Layout:
    """Where one build happens: the venv being built, the copy of the release it builds
    from (the step's working directory), the installers and the constraints file."""

    venv: Path
    workspace: Path
    uv: Path
    poetry: tuple[str, ...]  # the command that runs Poetry, for poetry.lock apps
    pins: Path  # root-owned: the locked set's versions, for the extras step


@dataclass(frozen=True)
class Step:
    """One confined install command; ``what`` names it in a failure."""

    what: str
    argv: tuple[str, ...]


def machine_python() -> str:
    """The machine's Python as "major.minor.micro": from ``sys.version_info``, because
    ``platform.python_version()`` of a distribution's snapshot build ("3.12.0+") is no
    PEP 440 version and would crash the check."""
    return ".".join(str(number) for number in sys.version_info[:3])


def plan(
    app_dir: Path,
    release_id: str,
    python_packages: tuple[str, ...],
    worker_class: str,
    python: str | None = None,
    *,
    static: bool = False,
) -> VenvPlan:
    """Decide how to install the app in ``app_dir`` (pure: reads files, runs nothing);
    raises :class:`VenvError` when the repository's files are unreadable or ask for a
    Python other than ``python`` (the machine's, e.g. "3.11.2"). ``static``: the release
    serves static files (see :data:`STATIC_PACKAGES`)."""
    python = python or machine_python()
    try:
        app = lockfiles.read(app_dir)
        python_version.check(app.python, python)
    except (repo_files.RepoFileError, python_version.PythonVersionError) as error:
        raise VenvError(str(error)) from None
    static_packages = STATIC_PACKAGES if static else ()
    extra = (GUNICORN, *WORKER_CLASS_PACKAGES.get(worker_class, ()), *static_packages, *python_packages)
    major_minor = ".".join(python.split(".")[:2])
    digest = hashlib.sha256(f"python {major_minor}\ninstaller uv {build_tools.digest('uv')}\n".encode())
    digest.update("\n".join(extra).encode() + b"\n" + app.kind.value.encode() + b"\n")
    if app.kind is Kind.POETRY_LOCK:
        digest.update(f"poetry {build_tools.digest('poetry')}\n".encode())
    for name in app.files:
        if repo_files.present(app_dir, name):
            digest.update(f"{name}\n".encode() + _read(app_dir, name) + b"\n")
    if app.per_release:
        digest.update(f"code of release {release_id}\n".encode())
    return VenvPlan(app=app, extra=extra, key=digest.hexdigest()[:16])


def _read(app_dir: Path, name: str) -> bytes:
    try:
        return repo_files.read_bytes(app_dir, name, repo_files.LARGE)
    except repo_files.RepoFileError as error:
        raise VenvError(str(error)) from None


def mirrored(env: Mapping[str, str]) -> bool:
    """Whether the model says where packages come from (an index, local wheels, no index):
    ``uv sync --frozen`` would ignore it and fetch the URLs written in ``uv.lock``."""
    return any(env.get(name) for name in ("UV_DEFAULT_INDEX", "UV_FIND_LINKS", "UV_NO_INDEX"))


def app_steps(venv_plan: VenvPlan, layout: Layout, *, mirror: bool = False) -> list[Step]:
    """The steps that install the app's own set (and, when it is not locked, the charm's
    packages with it); ``mirror``: the model's package index settings must be honoured
    (see :func:`mirrored`)."""
    kind, uv, python = venv_plan.app.kind, str(layout.uv), str(layout.venv / "bin" / "python")
    install = (uv, "pip", "install", "--quiet", "--python", python)
    if kind is Kind.UV_LOCK:
        return _uv_lock_steps(uv, install, mirror)
    if kind is Kind.POETRY_LOCK:
        assert layout.poetry, "poetry.lock needs poetry"
        export = ("--only", "main", "--format", "requirements.txt", "--output", EXPORTED)
        steps = [
            Step("poetry export of poetry.lock", (*layout.poetry, "export", "--no-interaction", *export)),
            # --no-deps, not --require-hashes: the export is the whole set, and a path or git
            # dependency (which has no hash) must install; uv checks every hash there is
            Step("installing poetry.lock's packages", (*install, "--no-deps", "-r", EXPORTED)),
        ]
        if venv_plan.app.installs_project:
            steps.append(Step("installing the project", (*install, "--no-deps", ".")))
        return steps
    if kind is Kind.HASHED_REQUIREMENTS:
        hashed = (*install, "--require-hashes", "-r", lockfiles.REQUIREMENTS)
        return [Step("installing requirements.txt", hashed)]
    own = {Kind.REQUIREMENTS: ("-r", lockfiles.REQUIREMENTS), Kind.PROJECT: (".",)}.get(kind, ())
    return [Step("installing requirements", (*install, *venv_plan.extra, *own))]


def _uv_lock_steps(uv: str, install: tuple[str, ...], mirror: bool) -> list[Step]:
    """``uv sync`` of the lock's main set, or (``mirror``) that set exported by name,
    version and hashes (the project itself as ".") and installed from the model's index,
    every hash the lock has checked."""
    main_only = ("--frozen", "--no-default-groups", "--no-editable")
    if mirror:
        export = (
            uv,
            "export",
            "--quiet",
            *main_only,
            "--format",
            "requirements.txt",
            "--output-file",
            EXPORTED,
        )
        return [
            Step("uv export of uv.lock", export),
            Step("installing uv.lock's packages", (*install, "--no-deps", "-r", EXPORTED)),
        ]
    # the venv's own interpreter is /usr/bin/python3's: uv keeps the venv it was given
    return [Step("uv sync of uv.lock", (uv, "sync", "--quiet", *main_only, "--python", sys_python()))]


def extras_step(venv_plan: VenvPlan, layout: Layout) -> Step:
    """The charm's packages, installed after a locked set without changing it."""
    python = str(layout.venv / "bin" / "python")
    argv = (str(layout.uv), "pip", "install", "--quiet", "--python", python, "--constraint", str(layout.pins))
    what = f"installing {', '.join(venv_plan.extra)} beside the locked versions"
    return Step(what, (*argv, *venv_plan.extra))


def freeze_step(layout: Layout) -> Step:
    """The step whose output lists every version in the venv (for :func:`pins`)."""
    python = str(layout.venv / "bin" / "python")
    # "list --format freeze", not "freeze": a package the lock takes from git, a path or a
    # URL is "name @ url" in freeze's output, which pins() cannot keep, so the extras step
    # could replace it; list names its version like any other
    listing = (str(layout.uv), "pip", "list", "--format", "freeze", "--python", python)
    return Step("listing the locked versions", listing)


def pins(freeze_output: str) -> str:
    """The ``name==version`` lines of ``uv pip list --format freeze`` output (the app
    user's process wrote it: nothing else is kept), as a constraints file."""
    kept = [line.strip() for line in freeze_output.splitlines() if _PIN.fullmatch(line.strip())]
    return "".join(f"{line}\n" for line in kept)


def build_env(layout: Layout, cache: Path, base: Mapping[str, str]) -> dict[str, str]:
    """The environment of every install step: caches in the app user's cache, uv told
    about the model's package index, Poetry kept off keyrings and prompts."""
    return {
        **build_tools.uv_env(base),
        "UV_CACHE_DIR": str(cache / "uv"),
        "UV_LINK_MODE": "copy",  # the venv's files are its own, not links into the app user's cache
        "UV_PROJECT_ENVIRONMENT": str(layout.venv),
        "VIRTUAL_ENV": str(layout.venv),
        "POETRY_CACHE_DIR": str(cache / "poetry"),
        "POETRY_CONFIG_DIR": str(cache / "poetry-config"),
        "POETRY_DATA_DIR": str(cache / "poetry-data"),
        "POETRY_VIRTUALENVS_CREATE": "false",
        "POETRY_NO_INTERACTION": "1",
        "POETRY_KEYRING_ENABLED": "false",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        "PIP_CACHE_DIR": str(cache / "pip"),
        "PIP_NO_INPUT": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "XDG_CACHE_HOME": str(cache),
    }


def ensure(venv_plan: VenvPlan, venvs: Path, sandbox: Sandbox, app_dir: Path, workspace: Path) -> Path:
    """The venv for ``venv_plan``, building it if it does not exist yet, its scripts naming
    it (:mod:`.venv_scripts`; a venv an older charm built gets them mended here).

    Every install runs confined (see :mod:`.confined`), as the application user, writing
    only the new venv, its cache and ``workspace``: a copy of ``app_dir`` it may build the
    project in (``app_dir`` itself is root's). The installers are root's
    (:mod:`.build_tools`). The finished venv is made root's before it is used.
    """
    venv = venvs / venv_plan.key
    building = venvs / f".{venv_plan.key}.building"
    if not (venv / "bin" / "python").exists():
        _build_new(venv_plan, building, sandbox, app_dir, workspace)
        ownership.remove(venv)  # what a failed removal left (there is no bin/python): not renamed onto
        building.rename(venv)
    try:
        venv_scripts.retarget(venv, building)
    except (OSError, ownership.TreeError) as error:
        raise VenvError(f"cannot point the venv's scripts at {venv}: {error}") from None
    return venv


def _build_new(venv_plan: VenvPlan, building: Path, sandbox: Sandbox, app_dir: Path, workspace: Path) -> None:
    """Build the venv in ``building`` and freeze it; on failure remove it and raise :class:`VenvError`."""
    uid, gid = sandbox.account.ids
    layout = _layout(venv_plan, building, workspace, sandbox.paths.tools, gid)
    ownership.new_app_dir(building, uid, gid)
    try:
        _copy_for_build(app_dir, workspace, uid, gid)
        _build(venv_plan, layout, sandbox)
        ownership.freeze(building, uid)
    except CommandFailed as error:
        ownership.remove(building)
        raise VenvError(f"{error.what}: {failure(error.output) or error.tail(2)}") from None
    except (OSError, ownership.TreeError) as error:  # copying the release, writing the pins
        ownership.remove(building)
        raise VenvError(f"cannot build the venv: {error}") from None
    finally:
        ownership.remove(workspace)
        layout.pins.unlink(missing_ok=True)


def failure(output: str, width: int = 300) -> str:
    """What an installer's output says went wrong: uv's ``error:`` line and its last
    cause (a hash mismatch, the conflicting requirements), or "" when it has none."""
    lines = [line.strip() for line in output.splitlines()]
    errors = [line for line in lines if line.startswith("error:")]
    causes = [line for line in lines if line.lower().startswith(("caused by:", "cause:"))]
    return " | ".join([*errors[:1], *causes[-1:]])[:width]


def _layout(venv_plan: VenvPlan, building: Path, workspace: Path, tools: Path, gid: int) -> Layout:
    """Where the build happens, with the installers it needs installed."""
    needs_poetry = venv_plan.app.kind is Kind.POETRY_LOCK
    try:
        (uv,) = build_tools.ensure("uv", tools, gid, sys_python())
        poetry = build_tools.ensure("poetry", tools, gid, sys_python()) if needs_poetry else ()
    except build_tools.ToolError as error:
        raise VenvError(str(error)) from None
    pins_file = workspace.parent / f".{workspace.name}.pins.txt"
    return Layout(venv=building, workspace=workspace, uv=Path(uv), poetry=poetry, pins=pins_file)


def _build(venv_plan: VenvPlan, layout: Layout, sandbox: Sandbox) -> None:
    """Create the venv and run the install steps in it."""
    env = build_env(layout, sandbox.paths.cache, base_env())
    writable = (layout.venv, sandbox.paths.cache, layout.workspace)

    def confined(step: Step) -> str:
        return sandbox.run(
            step.what, step.argv, cwd=layout.workspace, writable=writable, env=env, timeout=PIP_TIMEOUT
        )

    # -I: the working directory is the repository's copy, whose venv.py must not be what runs
    confined(Step("create the virtualenv", (sys_python(), "-I", "-m", "venv", str(layout.venv))))
    for step in app_steps(venv_plan, layout, mirror=mirrored(env)):
        confined(step)
    if venv_plan.app.kind.locked:
        locked = pins(confined(freeze_step(layout)))
        write_atomically(layout.pins, locked, 0o640, uid=0, gid=sandbox.account.ids[1])
        confined(extras_step(venv_plan, layout))


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
