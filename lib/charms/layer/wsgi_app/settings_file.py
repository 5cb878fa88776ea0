"""The settings file's format, and the only code that knows it: :func:`encode`, :func:`decode`.

The file is a systemd ``EnvironmentFile``: one ``NAME="value"`` line per setting, ``#``
lines are comments. NAME is a shell variable name; inside the double quotes ``"``, ``\\``,
backquote and ``$`` are escaped with a backslash, which is what systemd (and a POSIX shell)
undoes in double quotes. A value cannot add a line: control characters (U+0000-U+001F,
U+007F) are written as spaces, and lone surrogates, which UTF-8 cannot hold, as U+FFFD.

Standard library only and no ``__future__`` import, for any Python 3.9+ the app runs on:
gunicorn.conf.py holds this module's source and reads the file with this :func:`read`
(templates/gunicorn.conf.py.j2).
"""

import re
from collections.abc import Mapping

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_ESCAPED = '"\\`$'
_LINE = re.compile(r'(?P<name>[A-Za-z_][A-Za-z0-9_]*)="(?P<value>(?:[^"\\`$]|\\["\\`$])*)"\Z')
_ESCAPE = re.compile(r"\\(.)")


def encode_value(value: str) -> str:
    """``value`` as it stands between the double quotes (see the module's docstring)."""
    out = []
    for char in value:
        code = ord(char)
        if char in _ESCAPED:
            out.append("\\" + char)
        elif code < 32 or code == 127:
            out.append(" ")
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\ufffd")
        else:
            out.append(char)
    return "".join(out)


def encode(settings: Mapping[str, str]) -> str:
    """The lines of ``settings`` (a mapping of names to str values), each ending in a newline.

    Raises ``ValueError`` for a name that is not a shell variable name.
    """
    lines = []
    for name, value in settings.items():
        if not _NAME.match(name):
            raise ValueError(f"{name[:40]!r} is not a valid setting name")
        lines.append(f'{name}="{encode_value(value)}"\n')
    return "".join(lines)


def decode(text: str, strict: bool = True) -> dict[str, str]:
    """The settings (a dict of names to values, in file order) that ``text`` holds.

    Raises ``ValueError`` naming the first line that :func:`encode` cannot have written;
    with ``strict=False`` such a line gives what follows its first ``=`` (unquoted) as its
    value instead, or nothing (for what must not miss a value, such as redaction).
    """
    settings: dict[str, str] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if match is not None:
            settings[match.group("name")] = _ESCAPE.sub(r"\1", match.group("value"))
        elif strict:
            raise ValueError(f'settings file line {number} is not NAME="value"')
        elif "=" in line:
            name, _, value = line.partition("=")
            settings[name] = value.strip().strip('"')
    return settings


def read(path: str, strict: bool = True) -> dict[str, str]:
    """The settings in the file at ``path`` (see :func:`decode`); ``OSError`` if unreadable."""
    with open(path, encoding="utf-8", newline="") as file:
        return decode(file.read(), strict)
