"""The ``logs`` action's reading of the journal, with every secret taken out.

What counts as a secret: the values of the settings :mod:`.environment` treats as
secret (SECRET_KEY, PGPASSWORD, names with PASSWORD/SECRET/TOKEN...), as the charm
computes them and as the settings file on disk holds them (a rotated key may still be
in older lines), and the password part of any ``scheme://user:password@host`` URL; each
as printed raw, URL-encoded, or escaped in a JSON string or a Python literal.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Iterable, Mapping

from .environment import REDACTED, looks_secret, secret_names

MAX_LINES = 5000
# bytes of UTF-8: an action's result is one argument of action-set, which the kernel
# takes up to 128 KiB long (a character may take up to 4 bytes)
MAX_OUTPUT = 100_000
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
    """``value`` as a command or the app may print it: as is, URL-encoded or decoded, and
    between the quotes of a JSON string (``json.dumps``: quotes, backslashes and non-ASCII
    escaped) or of a Python literal (``repr``: ``print(os.environ)``, ``diffsettings``)."""
    for text in (value, urllib.parse.unquote(value)):
        yield text
        yield urllib.parse.quote(text, safe="")
        yield json.dumps(text)[1:-1]
        yield json.dumps(text, ensure_ascii=False)[1:-1]
        yield repr(text)[1:-1]


def redact_text(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret and every URL password replaced by ``<redacted>``."""
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return _URL_PASSWORD.sub(lambda m: m.group("head") + REDACTED, text)


def tail(text: str, limit: int = MAX_OUTPUT) -> str:
    """The end of ``text`` fit for an action's result (one argument of ``action-set``): at
    most ``limit`` bytes of UTF-8, cut at a line start (or, in one long line, at a
    character's), a NUL (which no argument can hold) shown as U+FFFD."""
    data = text.replace("\x00", "\ufffd").encode(errors="replace")
    if len(data) > limit:
        data = data[-limit:]
        newline = data.find(b"\n")
        if newline >= 0:
            data = data[newline + 1 :]
    return data.decode(errors="ignore")  # only the bytes of a character cut in two are left out
