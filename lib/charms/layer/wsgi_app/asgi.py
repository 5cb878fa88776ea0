"""WSGI or ASGI: what an application's entry point speaks, and the worker class serving it.

gunicorn's own workers (gthread, sync, gevent) speak WSGI only; an ASGI application
(FastAPI, Starlette, Django's ``asgi.py``) needs uvicorn's worker. With
``worker_class=auto`` the charm decides once per release, in two steps:

1. before the virtualenv is built, from a look at the source (:func:`looks_asgi`): the
   Procfile runs uvicorn, or the entry point's module imports an ASGI framework. The
   venv gets the worker's package when it does.
2. the import check then asks the imported callable itself (:func:`reported_asgi`), which
   has the last word: when it disagrees, the venv is built again for what it is.

The worker class chosen is recorded in the release (``release.json``), so a reload, a
restart or a rollback runs every release with the worker class it was checked with.
"""

from __future__ import annotations

import ast
import shlex
from pathlib import Path

AUTO = "auto"
GTHREAD = "gthread"
UVICORN = "uvicorn"
WORKER_CLASSES = (AUTO, GTHREAD, "sync", "gevent", UVICORN)
WSGI_ONLY = frozenset({GTHREAD, "sync", "gevent"})
# what gunicorn's worker_class setting names, where it is not the option's own value: for
# uvicorn, the charm's subclass of uvicorn-worker's (files/wsgi_app_uvicorn.py), whose
# shutdown drops no request, found on gunicorn's pythonpath
GUNICORN_CLASSES = {UVICORN: "wsgi_app_uvicorn.UvicornWorker"}
WORKER_MODULE_DIR = "/usr/local/lib/wsgi-app/python"
WORKER_MODULE = "wsgi_app_uvicorn.py"
# top-level packages whose import in the entry point's module makes it an ASGI app
ASGI_MODULES = ("fastapi", "starlette", "quart", "litestar", "django.core.asgi", "channels")
# the import check's last line of output says which interface the callable speaks
REPORT_PREFIX = "wsgi-app: the entry point speaks "
_UVICORN_WORKER_MODULES = ("uvicorn", "uvicorn_worker")  # uvicorn.workers.X, uvicorn_worker.X


class WorkerClassError(ValueError):
    """The configured worker class cannot serve the entry point; ``str()`` fits a status."""


def choose(configured: str, asgi: bool) -> str:
    """The worker class for an app: the configured one or, for ``auto``, uvicorn for an
    ASGI application and gthread for a WSGI one."""
    if configured != AUTO:
        return configured
    return UVICORN if asgi else GTHREAD


def refuse_mismatch(worker_class: str, asgi: bool, entry: str) -> None:
    """Raise :class:`WorkerClassError` when a WSGI-only worker class would serve an ASGI app.

    The other way round is let through: an ASGI app the check cannot recognise (an
    ASGI2 class, a wrapper with a plain ``__call__``) may still be one, as uvicorn knows.
    """
    if asgi and worker_class in WSGI_ONLY:
        raise WorkerClassError(
            f"worker_class {worker_class} serves WSGI only, but {entry} is an ASGI application: "
            f"set worker_class to {AUTO} or {UVICORN}"
        )


def gunicorn_worker_class(worker_class: str) -> str:
    """The value of gunicorn's ``worker_class`` setting for one of :data:`WORKER_CLASSES`."""
    return GUNICORN_CLASSES.get(worker_class, worker_class)


def gunicorn_pythonpath(worker_class: str) -> str:
    """gunicorn's ``pythonpath`` for ``worker_class``: where the charm's worker module is, or ""."""
    return WORKER_MODULE_DIR if worker_class in GUNICORN_CLASSES else ""


def reported_asgi(output: str) -> bool:
    """Whether the import check's output says the callable is an ASGI application."""
    reports = [line for line in output.splitlines() if line.startswith(REPORT_PREFIX)]
    return bool(reports) and reports[-1].removeprefix(REPORT_PREFIX).strip() == "ASGI"


def looks_asgi(app_dir: Path, entry: str, procfile_command: str | None) -> bool:
    """Whether the source suggests an ASGI app (reads files, imports nothing): the Procfile's
    ``web:`` command runs uvicorn, or the entry point's module imports an ASGI framework."""
    if procfile_command and command_serves_asgi(procfile_command):
        return True
    module = module_file(app_dir, entry)
    return module is not None and imports_asgi_framework(_read(module))


def command_serves_asgi(command: str) -> bool:
    """Whether a command line runs uvicorn, or gunicorn with a uvicorn worker class."""
    try:
        tokens = shlex.split(command)
    except ValueError:
        return False
    if any(Path(token).name == "uvicorn" for token in tokens):
        return True
    return any(value.split(".")[0] in _UVICORN_WORKER_MODULES for value in _worker_class_values(tokens))


def _worker_class_values(tokens: list[str]) -> list[str]:
    """The values of gunicorn's ``-k``/``--worker-class`` options, in any of their spellings."""
    values = []
    for index, token in enumerate(tokens):
        if token in ("-k", "--worker-class"):
            values.append(tokens[index + 1] if index + 1 < len(tokens) else "")
        elif token.startswith("--worker-class="):
            values.append(token.partition("=")[2])
        elif token.startswith("-k"):
            values.append(token[2:])
    return values


def module_file(app_dir: Path, entry: str) -> Path | None:
    """The source file of the entry point's module inside ``app_dir``, if it is there."""
    module = entry.partition(":")[0]
    if not module:
        return None
    base = app_dir.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imports_asgi_framework(code: str) -> bool:
    """Whether ``code`` imports one of :data:`ASGI_MODULES` or a module inside one."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        if any(_within(name, framework) for name in names for framework in ASGI_MODULES):
            return True
    return False


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[:1_000_000]
    except OSError:
        return ""
