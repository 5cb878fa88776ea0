"""What every relation reader shares: the raw data's shape and strict value checks.

Values come from other applications, so each one is checked against the narrow shape
it may have before it can reach a settings file, a command line or a log line.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HOSTNAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?\Z")
_NUMERIC_LABEL = re.compile(r"[0-9]+\Z|0[xX][0-9a-fA-F]*\Z")
_IP_TEXT = re.compile(r"[0-9a-f:.]{2,45}")
T = TypeVar("T")
_ANSWER_KEYS = ("host", "hostname", "port")  # a unit that published one of these has answered


class BadData(ValueError):
    """A remote unit's relation data cannot be used; the message names the key, never a secret."""


class Pending(BadData):
    """A remote unit has not answered our request yet (normal for a while: logged at DEBUG)."""


@dataclass(frozen=True)
class RemoteUnit:
    """One remote unit's data on a relation."""

    name: str
    data: Mapping[str, str]


@dataclass(frozen=True)
class RawRelation:
    """One established relation as Juju shows it to this unit, in hook-tool form."""

    relation_id: str
    units: tuple[RemoteUnit, ...] = ()
    app: Mapping[str, str] = field(default_factory=dict)  # the remote application's data
    own: Mapping[str, str] = field(default_factory=dict)  # this unit's data (Juju adds addresses)


@dataclass(frozen=True)
class Note:
    """Something a reader skipped, for the log. ``level`` is a juju-log level name."""

    message: str
    level: str = "WARNING"


def as_strings(raw: Mapping[str, object] | None) -> dict[str, str]:
    """Keep the string values of a ``relation-get`` answer (``null`` values are absent keys)."""
    return {str(k): v for k, v in (raw or {}).items() if isinstance(v, str)}


def text(data: Mapping[str, str], key: str, *, multiline: bool = False) -> str:
    """The value of ``key``: present, non-empty, and free of control characters."""
    value = data.get(key)
    if value is None or not value.strip():
        raise BadData(f"no {key}")
    checked = value.replace("\n", "") if multiline else value
    if _CONTROL.search(checked):
        raise BadData(f"{key} contains a control character")
    return value.strip() if multiline else value


def optional_text(data: Mapping[str, str], *keys: str) -> str:
    """The first non-empty value of ``keys`` (checked like :func:`text`), or ``""``."""
    for key in keys:
        if (data.get(key) or "").strip():
            return text(data, key)
    return ""


def host(value: str, key: str = "host") -> str:
    """An IP address (IPv6 with or without brackets) or a DNS name, as plain text.

    What is kept is checked, not only parsed: Python's parser accepts an IPv6 zone
    (``fe80::1%<anything>``, quotes and newlines included), so zones are refused, and a
    name must look like one (letters, digits, dots and hyphens, a last label that is not a
    number, which resolvers would read as an IPv4 address in another notation).
    """
    candidate = value.strip()
    if candidate.startswith("[") and candidate.endswith("]"):
        candidate = candidate[1:-1]
    address = _plain_ip(candidate)
    if address:
        return address
    if (
        _HOSTNAME.match(candidate)
        and ".." not in candidate
        and not _NUMERIC_LABEL.match(candidate.split(".")[-1])
    ):
        return candidate
    raise BadData(f"{key} is not an IP address or host name")


def ip_address(value: str, key: str) -> str:
    """An IP address only (what gunicorn can match a client against), as plain text."""
    address = _plain_ip(value.strip())
    if not address:
        raise BadData(f"{key} is not an IP address")
    return address


def _plain_ip(candidate: str) -> str:
    """``candidate`` as a canonical IP address without a zone, or ``""``."""
    try:
        parsed = ipaddress.ip_address(candidate)
    except ValueError:
        return ""
    text = str(parsed)
    if getattr(parsed, "scope_id", None) or not _IP_TEXT.fullmatch(text):
        return ""
    return text


def port(value: str, key: str = "port") -> int:
    """A TCP port number, 1-65535, written as plain digits."""
    digits = value.strip()
    if not digits.isascii() or not digits.isdigit():
        raise BadData(f"{key} is not a port number")
    number = int(digits)
    if not 1 <= number <= 65535:
        raise BadData(f"{key} {number} is outside 1-65535")
    return number


def host_port(value: str, key: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` into its parts."""
    where, sep, number = value.strip().rpartition(":")
    if not sep or not where:
        raise BadData(f"{key} entry is not host:port")
    if ":" in where and not where.startswith("["):
        raise BadData(f"{key} entry has an IPv6 address without brackets")
    return host(where, key), port(number, key)


def split_list(value: str) -> list[str]:
    """Items of a list separated by commas and/or whitespace."""
    return [item for item in re.split(r"[\s,]+", value) if item]


def read_each_unit(
    relations: Iterable[RawRelation], read: Callable[[Mapping[str, str]], T]
) -> tuple[tuple[T, ...], list[Note]]:
    """``read`` every remote unit's data, in unit order, without duplicates.

    A unit ``read`` refuses is skipped with a note: DEBUG while it has not answered yet
    (:class:`Pending`, or none of ``host``, ``hostname`` and ``port``), WARNING otherwise.
    """
    found: dict[str, T] = {}
    notes: list[Note] = []
    for relation in relations:
        for unit in relation.units:
            try:
                found[unit.name] = read(unit.data)
            except BadData as error:
                quiet = isinstance(error, Pending) or not any(unit.data.get(key) for key in _ANSWER_KEYS)
                level = "DEBUG" if quiet else "WARNING"
                notes.append(Note(f"{unit.name} skipped: {error}", level))
    values: list[T] = []
    for name in sorted(found, key=_unit_order):
        if found[name] not in values:
            values.append(found[name])
    return tuple(values), notes


def app_as_unit(relations: Iterable[RawRelation]) -> tuple[RawRelation, ...]:
    """The remote applications' data as if each were one unit (named by the relation id), for
    the providers that answer in application data instead of unit data."""
    return tuple(
        RawRelation(r.relation_id, (RemoteUnit(r.relation_id, r.app),))
        for r in relations
        if r.units and r.app
    )


def read_one_server(
    relations: Iterable[RawRelation], read: Callable[[Mapping[str, str]], T]
) -> tuple[T | None, list[Note]]:
    """The first usable answer to ``read``: the units' data in unit order, else the
    application data; ``None`` while none has answered. Raises :class:`BadData` when every
    one that answered was refused (the operator must fix the provider: the unit blocks)."""
    relations = tuple(relations)
    values, notes = read_each_unit(relations, read)
    if not values:
        values, app_notes = read_each_unit(app_as_unit(relations), read)
        notes += app_notes
    if values:
        return values[0], notes
    refused = [note.message for note in notes if note.level == "WARNING"]
    if refused:
        raise BadData(refused[0])
    return None, notes


def _unit_order(unit_name: str) -> tuple[str, int]:
    app, _, number = unit_name.rpartition("/")
    return app, int(number) if number.isdigit() else -1
