"""Find an application's entry point (``module:callable``, WSGI or ASGI) in its source tree.

Order: the Procfile's ``web:`` command (:mod:`.procfile`) when it runs gunicorn or
uvicorn, a Django project's ``wsgi.py`` (or, without one, its ``asgi.py``), then a
top-level ``wsgi.py``, ``app.py``, ``asgi.py`` or ``main.py`` that binds ``application`` or
``app``. Only files are read; nothing is imported (the import is checked later, in the
app's virtualenv).
"""

from __future__ import annotations

import ast
import shlex
from pathlib import Path

from .django import manage_settings_module, source_text
from .validate import wsgi_entry_point


class EntryPointError(ValueError):
    """No entry point could be found, or the one found is malformed."""


# gunicorn options that take no value; every other option consumes the next token.
_GUNICORN_FLAGS = frozenset(
    {
        "--reload",
        "--preload",
        "--daemon",
        "-D",
        "--check-config",
        "--print-config",
        "--spew",
        "--capture-output",
        "--enable-stdio-inheritance",
        "--no-sendfile",
        "--reuse-port",
        "--strip-header-spaces",
        "-R",
        "--help",
        "-h",
        "--version",
        "-v",
    }
)
# uvicorn options that take no value (its --no-<flag> forms included)
_UVICORN_FLAGS = frozenset(
    {
        "--reload",
        "--factory",
        "--version",
        "--help",
        *(
            f"--{prefix}{flag}"
            for flag in ("proxy-headers", "server-header", "date-header", "access-log", "use-colors")
            for prefix in ("", "no-")
        ),
    }
)
MODULE_FILES = ("wsgi", "app", "asgi", "main")


def detect(source: Path, web_command: str = "") -> str:
    """The entry point of the application in ``source`` whose Procfile's ``web:`` runs
    ``web_command``; raises :class:`EntryPointError`."""
    web = gunicorn_app_argument(web_command) or uvicorn_app_argument(web_command) if web_command else None
    found = web or _from_django(source) or _from_module_files(source)
    if found:
        return found
    raise EntryPointError(
        "no entry point found: set wsgi_app (looked for a Procfile web: line, "
        "a Django wsgi.py or asgi.py, and wsgi.py, app.py, asgi.py or main.py defining application or app)"
    )


def gunicorn_app_argument(command: str) -> str | None:
    """The ``module:callable`` argument of a gunicorn command line, if it has one."""
    return _app_argument(command, "gunicorn", _GUNICORN_FLAGS)


def uvicorn_app_argument(command: str) -> str | None:
    """The ``module:callable`` argument of a uvicorn command line, if it has one; with
    ``--factory``, as the call gunicorn makes of a factory (``module:create_app()``)."""
    entry = _app_argument(command, "uvicorn", _UVICORN_FLAGS)
    if entry and ":" in entry and "--factory" in command.split():
        return entry.removesuffix("()") + "()"
    return entry


def _app_argument(command: str, program: str, flags: frozenset[str]) -> str | None:
    """The first argument after ``program`` that is no option or option value."""
    try:
        tokens = shlex.split(command)
    except ValueError:
        return None
    for index, token in enumerate(tokens):  # noqa: B007 - index is used after the loop
        if Path(token).name == program:
            break
    else:
        return None
    rest = iter(tokens[index + 1 :])
    for token in rest:
        if token.startswith("-"):
            if "=" not in token and token not in flags:
                next(rest, None)
            continue
        try:
            return wsgi_entry_point(token) or None
        except ValueError:
            return None
    return None


def _from_django(source: Path) -> str | None:
    """A Django project's ``wsgi.py``; its ``asgi.py`` only when it has no ``wsgi.py``
    (``startproject`` writes both, and WSGI is what such a project has always served)."""
    return _django_module(source, "wsgi") or _django_module(source, "asgi")


def _django_module(source: Path, kind: str) -> str | None:
    marker = f"get_{kind}_application"
    candidates = sorted(p for p in source.glob(f"*/{kind}.py") if marker in source_text(source, p))
    if not candidates:
        return None
    settings_module = manage_settings_module(source)
    if settings_module:
        package = settings_module.split(".")[0]
        for candidate in candidates:
            if candidate.parent.name == package:
                return f"{package}.{kind}:application"
    return f"{candidates[0].parent.name}.{kind}:application"


def _from_module_files(source: Path) -> str | None:
    for module in MODULE_FILES:
        path = source / f"{module}.py"
        if not path.is_file():
            continue
        names = _top_level_names(source_text(source, path))
        for callable_name in ("application", "app"):
            if callable_name in names:
                return f"{module}:{callable_name}"
    return None


def _top_level_names(code: str) -> set[str]:
    """Names bound at module level by assignments, definitions and imports."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return set()
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names
