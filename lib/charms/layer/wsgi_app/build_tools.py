"""The installers the charm runs to build an application's venv: uv (every install) and
Poetry with its export plugin (``poetry.lock`` apps), each in a virtualenv of its own.

Their exact versions and the hashes of every file PyPI has for them are pinned in the
charm's ``files/installers/<tool>.txt`` (generated with ``uv pip compile --generate-hashes``,
see the README). Root installs them from the package index as wheels only
(``--only-binary :all:``, nothing built, so no code of theirs runs at install) with
hashes required, into ``<root>/tools/<tool>-<digest of the pins>``: root-owned, readable
by the application's group, so the application user runs them (confined, see
:mod:`.confined`) but cannot change them for a later build. A tool is installed once per
pin set and Python series; a new one (a charm upgrade, a release upgrade of the machine)
installs beside it and the old one is removed.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Mapping
from pathlib import Path

from . import ownership
from .commands import CommandFailed, base_env, run

PINS = Path(__file__).resolve().parents[4] / "files" / "installers"
INSTALL_TIMEOUT = 900
# pip's settings (the model's, see commands.base_env) and the uv settings that mean the same
_PIP_TO_UV = {
    "PIP_INDEX_URL": "UV_DEFAULT_INDEX",
    "PIP_EXTRA_INDEX_URL": "UV_INDEX",
    "PIP_FIND_LINKS": "UV_FIND_LINKS",
    "PIP_DEFAULT_TIMEOUT": "UV_HTTP_TIMEOUT",
}


# how each tool is run from its venv: Poetry as a module of the venv's Python, because its
# script's "#!" line names the directory it was installed in, which is then renamed; -I
# keeps the working directory (the app's repository) off sys.path, so a poetry/ or
# cleo/ of the app's is not what runs
COMMANDS = {"uv": ("bin/uv",), "poetry": ("bin/python", "-I", "-m", "poetry")}


class ToolError(RuntimeError):
    """An installer could not be installed; ``str()`` fits a status."""


def pins(tool: str) -> Path:
    """The charm's pin file of ``tool``: its version and every dependency's, with hashes."""
    return PINS / f"{tool}.txt"


def pinned_version(tool: str) -> str:
    """``name==version`` of the tool itself, as its pin file has it."""
    for line in pins(tool).read_text().splitlines():
        if line.startswith(f"{tool}=="):
            return line.split()[0]
    raise ToolError(f"{pins(tool)} pins no {tool}")


def digest(tool: str) -> str:
    """A short digest of ``tool``'s pins: names its install, and is part of a venv's key."""
    return hashlib.sha256(pins(tool).read_bytes()).hexdigest()[:12]


def uv_env(env: Mapping[str, str]) -> dict[str, str]:
    """uv's settings for the package index pip is told to use in ``env`` (uv reads none
    of pip's): the index, extra indexes, local wheel directories, no index at all, the
    timeout; and the platform's certificate store (a model's proxy CA lives there)."""
    found = {uv: env[pip] for pip, uv in _PIP_TO_UV.items() if env.get(pip)}
    if found.get("UV_FIND_LINKS"):  # pip's list is space-separated, uv's comma-separated
        found["UV_FIND_LINKS"] = ",".join(found["UV_FIND_LINKS"].split())
    if env.get("PIP_NO_INDEX", "").lower() in ("1", "true", "yes", "on"):
        found["UV_NO_INDEX"] = "1"
    if env.get("PIP_CERT"):
        found["SSL_CERT_FILE"] = env["PIP_CERT"]
    return {"UV_SYSTEM_CERTS": "1", "UV_PYTHON_DOWNLOADS": "never", "UV_NO_PROGRESS": "1", **found}


def ensure(tool: str, tools: Path, gid: int, python: str) -> tuple[str, ...]:
    """The command that runs ``tool`` ("uv" or "poetry"), installed under ``tools`` unless
    it is there already (a venv is renamed into place once complete); raises
    :class:`ToolError`."""
    ownership.ensure_dir(tools, 0, gid, ownership.ROOT_MODE)
    # named for the interpreter too: a venv's packages sit in lib/python3.X, so after the
    # machine's python3 moves to another series (a release upgrade) the old venv cannot run
    home = tools / f"{tool}-{digest(tool)}-{Path(os.path.realpath(python)).name}"
    program, *arguments = COMMANDS[tool]
    command = (str(home / program), *arguments)
    if home.is_dir():
        return command
    building = tools / f".{home.name}.building"
    ownership.remove(building)
    try:
        _install(tool, building, tools, gid, python)
    except CommandFailed as error:
        ownership.remove(building)
        raise ToolError(f"cannot install {pinned_version(tool)}: {error.tail(2)}") from None
    except (OSError, ownership.TreeError) as error:
        ownership.remove(building)
        raise ToolError(f"cannot install {pinned_version(tool)}: {error}") from None
    building.rename(home)
    for old in tools.glob(f"{tool}-*"):
        if old != home:
            ownership.remove(old)
    return command


def _install(tool: str, building: Path, tools: Path, gid: int, python: str) -> None:
    """Install ``tool`` into a new venv ``building``: uv with the venv's pip, others with uv."""
    wheels_only = ["--require-hashes", "--only-binary", ":all:", "--no-deps", "-r", str(pins(tool))]
    if tool == "uv":
        run("create the uv venv", [python, "-I", "-m", "venv", str(building)], cwd=Path("/"), timeout=300)
        pip = [str(building / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-cache-dir"]
        run("pip install uv", [*pip, *wheels_only], cwd=Path("/"), timeout=INSTALL_TIMEOUT)
    else:
        (uv,) = ensure("uv", tools, gid, python)
        venv = [python, "-I", "-m", "venv", "--without-pip", str(building)]
        run(f"create the {tool} venv", venv, cwd=Path("/"), timeout=300)
        target = str(building / "bin" / "python")
        argv = [uv, "pip", "install", "--quiet", "--no-cache", "--python", target]
        env = {**uv_env(base_env()), "UV_NO_CONFIG": "1"}
        run(f"uv pip install {tool}", [*argv, *wheels_only], cwd=Path("/"), env=env, timeout=INSTALL_TIMEOUT)
    _group_readable(building, gid)
    ownership.ensure_dir(building, 0, gid, ownership.ROOT_MODE)


def _group_readable(tree: Path, gid: int) -> None:
    """Give the application's group read (and, where the owner has it, execute) access
    to what root installed in ``tree``, whatever umask the hook runs with; links are left
    alone (root made them all, in a directory only root writes)."""
    for _, dirs, files, dir_fd in os.fwalk(tree, follow_symlinks=False):
        for name in (*dirs, *files):
            info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            if stat.S_ISLNK(info.st_mode):
                continue
            mode = info.st_mode | stat.S_IRGRP | (stat.S_IXGRP if info.st_mode & stat.S_IXUSR else 0)
            os.chown(name, 0, gid, dir_fd=dir_fd, follow_symlinks=False)
            os.chmod(name, stat.S_IMODE(mode), dir_fd=dir_fd)
