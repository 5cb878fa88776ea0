"""A Django project in a release: its settings module, the charm's production settings
overlay, and ``collectstatic`` at build time.

The project is found from files only (``manage.py`` naming its settings module); what its
settings say is asked of Django itself, confined, as the application user
(:data:`PROBE`). The overlay (``files/wsgi_app_django_settings.py``, installed among the
charm's modules) imports the project's settings and completes what ``startproject``
leaves for development; the release records the settings that select it
(:func:`release_environment`), so a rollback runs each release with its own.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from . import ownership, repo_files

if TYPE_CHECKING:
    from .confined import Sandbox

OVERLAY_MODULE = "wsgi_app_django_settings"
OVERLAY_FILE = f"{OVERLAY_MODULE}.py"
# the settings the overlay reads: the project's own settings module, and where
# collectstatic puts the files when the project does not say (STATIC_ROOT unset)
PROJECT_SETTINGS = "WSGI_APP_DJANGO_SETTINGS"
STATIC_ROOT_SETTING = "WSGI_APP_STATIC_ROOT"
STATIC_DIR = "staticfiles"  # in the release directory, beside app/
STATICFILES_APP = "django.contrib.staticfiles"
COLLECTSTATIC_TIMEOUT = 600
PROBE_TIMEOUT = 120
_MANAGE_SETTINGS = re.compile(r"""DJANGO_SETTINGS_MODULE['"]\s*,\s*['"]([\w.]+)['"]""")
# os.environ["DJANGO_SETTINGS_MODULE"] = ...: a project that overrides the charm's value
_FORCED_SETTINGS = re.compile(r"""environ\s*\[\s*['"]DJANGO_SETTINGS_MODULE['"]\s*\]\s*=[^=]""")
PROBE_PREFIX = "wsgi-app: django "
# what the project's settings (through the overlay when it is on) say about static files
PROBE = (
    "import json, django\n"
    "from django.apps import apps\n"
    "from django.conf import settings\n"
    "django.setup()\n"
    f"print({PROBE_PREFIX!r} + json.dumps({{\n"
    f"    'staticfiles': apps.is_installed({STATICFILES_APP!r}),\n"
    "    'static_root': str(settings.STATIC_ROOT or ''),\n"
    "    'static_url': str(settings.STATIC_URL or ''),\n"
    "}))\n"
)


class DjangoError(ValueError):
    """What the project's settings say cannot be served as they are; ``str()`` fits a status."""


@dataclass(frozen=True)
class Project:
    """A Django project found in a release's source."""

    settings_module: str  # the project's own, as manage.py (or the operator) names it
    forces_settings: bool  # manage.py or the entry point overrides DJANGO_SETTINGS_MODULE


@dataclass(frozen=True)
class StaticFiles:
    """What the project's settings say about its static files (:data:`PROBE`)."""

    staticfiles: bool  # django.contrib.staticfiles is installed
    static_root: str  # "" when unset
    static_url: str


def manage_settings_module(source: Path) -> str | None:
    """The settings module ``manage.py`` in ``source`` sets by default, if it names one."""
    match = _MANAGE_SETTINGS.search(source_text(source, source / "manage.py"))
    return match.group(1) if match else None


def find_project(source: Path, entry_module: Path | None, configured: str = "") -> Project | None:
    """The Django project in ``source``: a ``manage.py`` naming a settings module (or the
    operator's ``DJANGO_SETTINGS_MODULE``, ``configured``) whose file is there. ``None``
    when there is none. ``entry_module`` is the entry point's file, checked with
    ``manage.py`` for a line that forces the settings module."""
    if not (source / "manage.py").is_file():
        return None
    module = configured or manage_settings_module(source)
    if not module or not _module_file(source, module):
        return None
    checked = (source / "manage.py", entry_module)
    forced = any(_FORCED_SETTINGS.search(source_text(source, path)) for path in checked if path)
    return Project(settings_module=module, forces_settings=forced)


def release_environment(project: Project | None, release_dir: Path, overlay: bool) -> dict[str, str]:
    """The settings a release adds to the application's: the overlay's, when it is on and
    the project lets the charm choose its settings module."""
    if project is None or not overlay or project.forces_settings:
        return {}
    return {
        "DJANGO_SETTINGS_MODULE": OVERLAY_MODULE,
        PROJECT_SETTINGS: project.settings_module,
        STATIC_ROOT_SETTING: str(release_dir / STATIC_DIR),
    }


def parse_probe(output: str) -> StaticFiles:
    """The probe's report (its last line with :data:`PROBE_PREFIX`); raises
    :class:`DjangoError` when there is none."""
    reports = [line for line in output.splitlines() if line.startswith(PROBE_PREFIX)]
    try:
        data = json.loads(reports[-1].removeprefix(PROBE_PREFIX))
        return StaticFiles(bool(data["staticfiles"]), str(data["static_root"]), str(data["static_url"]))
    except (IndexError, ValueError, KeyError, TypeError):
        raise DjangoError("the Django settings probe gave no report") from None


def collects(static: StaticFiles) -> bool:
    """Whether ``collectstatic`` has anything to do: the app is installed, STATIC_ROOT set."""
    return static.staticfiles and bool(static.static_root)


def static_root_in(static: StaticFiles, release_dir: Path) -> Path:
    """``STATIC_ROOT`` as a path in ``release_dir``: the charm's :data:`STATIC_DIR` or a
    directory inside the code (``app/``). Raises :class:`DjangoError` when it is elsewhere:
    the build writes nothing outside the release, nor over the release's own files."""
    # relative: to the working directory collectstatic runs in, the code's
    root = PurePosixPath(os.path.normpath(release_dir / "app" / static.static_root))
    for base in {PurePosixPath(release_dir), PurePosixPath(os.path.realpath(release_dir))}:
        inside = root.relative_to(base).parts if root.is_relative_to(base) else ()
        if inside[:1] == (STATIC_DIR,) or (inside[:1] == ("app",) and len(inside) > 1):
            return release_dir.joinpath(*inside)
    raise DjangoError(
        f"STATIC_ROOT {static.static_root[:80]!r} is not a directory of the release: leave it "
        "unset (the charm collects static files into the release) or set django_collectstatic=false"
    )


def mount(static: StaticFiles, root: Path) -> tuple[str, str] | None:
    """The (URL prefix, directory) the unit serves the collected files at; ``None`` when
    ``STATIC_URL`` is a full URL (a CDN serves them)."""
    url = static.static_url
    if not url.startswith("/") or url.startswith("//"):
        return None
    return (url if url.endswith("/") else url + "/", str(root))


def prepare_static_root(root: Path, release_dir: Path, uid: int, gid: int) -> None:
    """Make ``root`` (inside the root-owned ``release_dir``) a directory the application
    user may write: missing directories on the way are made root's, none is followed
    through a link. Raises :class:`DjangoError` when the repository holds a symlink or a
    file on the way (the message names the path in the release, not a fix of the charm's)."""
    parent = release_dir
    try:
        for part in root.relative_to(release_dir).parts[:-1]:
            parent = parent / part
            ownership.ensure_dir(parent, 0, gid, ownership.ROOT_MODE)
        if os.path.lexists(root):  # the repository has it: a link there is refused
            ownership.hand_over(root, uid, gid)
        else:
            ownership.ensure_dir(root, uid, gid, ownership.APP_MODE)
    except ownership.TreeError:
        shown = str(root.relative_to(release_dir))[:80]
        raise DjangoError(
            f"STATIC_ROOT {shown!r}: the repository holds a symlink or a file on that path; "
            "collectstatic writes only through real directories"
        ) from None


def collect_static(
    confined: Sandbox, python: str, app_dir: Path, release_dir: Path, env: Mapping[str, str]
) -> tuple[str, str] | None:
    """Ask the project's settings about static files and, when it has some to collect, run
    ``collectstatic`` into ``STATIC_ROOT``, as the application user and confined, writing
    there only; the files are root's afterwards. The mount serving them, or ``None``.
    Raises :class:`~.commands.CommandFailed` (a step failed) or :class:`DjangoError`."""
    data = (confined.paths.data,)  # the app may write its data (a log...) as it starts
    probe = confined.run(
        "django settings probe",
        [python, "-c", PROBE],
        cwd=app_dir,
        writable=data,
        env=env,
        timeout=PROBE_TIMEOUT,
    )
    static = parse_probe(probe)
    if not collects(static):
        return None
    root = static_root_in(static, release_dir)
    uid, gid = confined.account.ids
    prepare_static_root(root, release_dir, uid, gid)
    try:
        confined.run(
            "collectstatic",
            [python, "-m", "django", "collectstatic", "--noinput"],
            cwd=app_dir,
            writable=(root, *data),
            env=env,
            timeout=COLLECTSTATIC_TIMEOUT,
        )
    finally:
        ownership.freeze(root, uid)
    return mount(static, root)


_MODULE_NAME = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*\Z", re.ASCII)


def _module_file(source: Path, module: str) -> bool:
    """Whether dotted ``module`` has its file in ``source`` (a name such as ``/etc/x`` or
    ``..x`` in DJANGO_SETTINGS_MODULE names no file there, nor a path elsewhere)."""
    if not _MODULE_NAME.match(module):
        return False
    base = source.joinpath(*module.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def source_text(source: Path, path: Path) -> str:
    """The text of ``path``, a file of the repository ``source``, for a search by pattern
    (nothing is run): "" when it is not a regular file inside ``source`` (a link out of
    it is not followed) or is over 1 MiB."""
    try:
        name = str(path.relative_to(source))
        return repo_files.read_bytes(source, name, repo_files.MEDIUM).decode(errors="replace")
    except (ValueError, repo_files.RepoFileError):
        return ""
