"""The ``logs`` action's reading of the journal, with every secret taken out.

What counts as a secret: the values of the settings :mod:`.environment` treats as
secret (SECRET_KEY, PGPASSWORD, names with PASSWORD/SECRET/TOKEN...), as the charm
computes them and as the settings file on disk holds them (a rotated key may still be
in older lines), and the password part of any ``scheme://user:password@host`` URL.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable, Mapping

from .environment import REDACTED, looks_secret, secret_names

MAX_LINES = 5000
MAX_OUTPUT = 100_000  # characters: action results are passed on a command line
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*:)(?P<password>[^\s@/]+)(?=@)")
MIN_SECRET = 4  # shorter values would blank ordinary words


def journal_argv(identifier: str, lines: int) -> list[str]:
    """journalctl reading the last ``lines`` lines logged under ``identifier``."""
    if not 1 <= lines <= MAX_LINES:
        raise ValueError(f"lines must be 1-{MAX_LINES}")
    return ["journalctl", "--no-pager", "--quiet", "-o", "short-iso", "-t", identifier, "-n", str(lines)]


def secret_values(*sources: Mapping[str, str]) -> list[str]:
    """Every secret value in ``sources``, in the forms it may be logged in, longest first
    (a setting a Juju secret gave is secret in every source, see :func:`.secret_names`)."""
    found: set[str] = set()
    hidden = {name for settings in sources for name in secret_names(settings)}
    for settings in sources:
        for key, value in settings.items():
            if looks_secret(key) or key in hidden:
                found.update(_forms(value))
            for match in _URL_PASSWORD.finditer(value):
                found.update(_forms(match.group("password")))
    return sorted((v for v in found if len(v) >= MIN_SECRET), key=len, reverse=True)


def _forms(value: str) -> Iterable[str]:
    yield value
    yield urllib.parse.quote(value, safe="")
    yield urllib.parse.unquote(value)


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret and every URL password replaced by ``<redacted>``."""
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return _URL_PASSWORD.sub(lambda m: m.group("head") + REDACTED, text)


def tail(text: str, limit: int = MAX_OUTPUT) -> str:
    """The end of ``text``, cut at a line start, at most ``limit`` characters."""
    if len(text) <= limit:
        return text
    cut = text[-limit:]
    return cut.split("\n", 1)[1] if "\n" in cut else cut
