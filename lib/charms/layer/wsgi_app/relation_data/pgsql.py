"""The legacy ``pgsql`` interface (our ``db`` endpoint): what we ask for, what we read back.

The server answers in each of its units' data (newer servers also in application
data): credentials, ``master`` (a libpq connection string), ``standbys`` (more of them,
one per line or comma-joined), and who may connect (``allowed-units``,
``allowed-subnets``). A unit is usable only once it has granted this unit access and
echoes the database (and roles and extensions) we asked for: connecting earlier fails
on the server's pg_hba rules.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..integrations import Database, HostPort
from .common import BadData, Note, RawRelation, host, port, split_list, text

WAITING = "database access for this unit"
PRIMARY_STATES = ("master", "standalone")


@dataclass(frozen=True)
class DatabaseRequest:
    """What this unit asks a PostgreSQL server for."""

    name: str
    roles: tuple[str, ...] = ()
    extensions: tuple[str, ...] = ()

    def relation_data(self) -> dict[str, str]:
        """The keys the client publishes (an empty value removes a key)."""
        return {"database": self.name, "roles": ",".join(self.roles), "extensions": ",".join(self.extensions)}


@dataclass(frozen=True)
class OwnAddress:
    """Who this unit is to the server: its name and the subnets its connections come from."""

    unit_name: str
    egress_subnets: tuple[str, ...] = ()


def parse_libpq(conninfo: str) -> dict[str, str]:
    """A libpq ``key=value ...`` connection string into a dict; raises :class:`BadData`.

    Values may be single-quoted, with ``\\'`` and ``\\\\`` escapes, as libpq allows.
    """
    found: dict[str, str] = {}
    position, size = 0, len(conninfo)
    while position < size:
        match = re.compile(r"\s*([A-Za-z_]+)\s*=\s*").match(conninfo, position)
        if match is None:
            if conninfo[position:].strip():
                raise BadData("connection string is malformed")
            break
        value, position = _libpq_value(conninfo, match.end())
        found[match.group(1)] = value
    return found


def _libpq_value(conninfo: str, position: int) -> tuple[str, int]:
    quoted = position < len(conninfo) and conninfo[position] == "'"
    position += quoted
    out: list[str] = []
    while position < len(conninfo):
        char = conninfo[position]
        if char == "\\" and position + 1 < len(conninfo):
            out.append(conninfo[position + 1])
            position += 2
            continue
        if (quoted and char == "'") or (not quoted and char.isspace()):
            return "".join(out), position + 1
        out.append(char)
        position += 1
    if quoted:
        raise BadData("connection string has an unterminated quote")
    return "".join(out), position


def _split_standbys(value: str) -> list[str]:
    # One per line (classic server) or comma-joined (newer servers); a comma only
    # separates when a new keyword follows it, so commas inside values survive.
    return [part.strip() for part in re.split(r"\n|,(?=\s*[A-Za-z_]+\s*=)", value) if part.strip()]


def granted(data: Mapping[str, str], me: OwnAddress) -> bool:
    """Whether the server lists this unit, or all of its egress subnets, as allowed."""
    if me.unit_name in split_list(data.get("allowed-units") or ""):
        return True
    allowed = []
    for cidr in split_list(data.get("allowed-subnets") or ""):
        try:
            allowed.append(ipaddress.ip_network(cidr, strict=False))
        except ValueError:
            continue
    if not allowed or not me.egress_subnets:
        return False
    for subnet in me.egress_subnets:
        try:
            ours = ipaddress.ip_network(subnet, strict=False)
        except ValueError:
            return False
        if not any(ours.version == net.version and ours.subnet_of(net) for net in allowed):  # type: ignore[arg-type]
            return False
    return True


def answers_request(data: Mapping[str, str], request: DatabaseRequest) -> bool:
    """Whether the server echoes the database, roles and extensions this unit asked for."""
    if (data.get("database") or "") != request.name:
        return False
    for key, wanted in (("roles", request.roles), ("extensions", request.extensions)):
        if wanted and set(split_list(data.get(key) or "")) != set(wanted):
            return False
    return True


def _address(fields: Mapping[str, str], what: str) -> HostPort:
    return HostPort(host(text(fields, "host"), f"{what} host"), port(text(fields, "port"), f"{what} port"))


def unit_database(data: Mapping[str, str]) -> tuple[Database, list[Note]]:
    """The database one server unit offers (primary from ``master``, else its own keys)."""
    fields = dict(data)
    if (data.get("master") or "").strip():
        master = parse_libpq(text(data, "master"))
        fields = {**fields, **master}
        fields["database"] = master.get("dbname") or data.get("database") or ""
    primary = _address(fields, "master")
    name, user, password = text(fields, "database"), text(fields, "user"), text(fields, "password")
    standbys, notes = _standbys(data.get("standbys") or "", primary)
    return Database(primary=primary, name=name, user=user, password=password, standbys=standbys), notes


def _standbys(value: str, primary: HostPort) -> tuple[tuple[HostPort, ...], list[Note]]:
    if not value.strip():
        return (), []
    try:
        conninfos = _split_standbys(text({"standbys": value}, "standbys", multiline=True))
    except BadData as error:
        return (), [Note(f"standbys skipped: {error}")]
    notes: list[Note] = []
    found: list[HostPort] = []
    for number, conninfo in enumerate(conninfos, start=1):
        try:
            address = _address(parse_libpq(conninfo), "standby")
        except BadData as error:
            notes.append(Note(f"standby {number} skipped: {error}"))
            continue
        if address != primary and address not in found:
            found.append(address)
    return tuple(found), notes


def read_database(
    relations: Iterable[RawRelation], request: DatabaseRequest, me: OwnAddress
) -> tuple[Database | None, list[Note]]:
    """The database of the first server unit that granted this unit access, primary first.

    Units not yet answering are noted at DEBUG level, units with bad data at WARNING.
    """
    notes: list[Note] = []
    ready: list[tuple[bool, Database]] = []
    for relation in relations:
        for unit in relation.units:
            data = {**relation.app, **unit.data}
            if not granted(data, me):
                notes.append(Note(f"{unit.name} has not granted {me.unit_name} access yet", "DEBUG"))
                continue
            if not answers_request(data, request):
                notes.append(Note(f"{unit.name} has not provided database {request.name!r} yet", "DEBUG"))
                continue
            try:
                database, skipped = unit_database(data)
            except BadData as error:
                notes.append(Note(f"{unit.name} skipped: {error}"))
                continue
            notes.extend(Note(f"{unit.name}: {note.message}", note.level) for note in skipped)
            ready.append(((data.get("state") or "") in PRIMARY_STATES, database))
    if not ready:
        return None, notes
    primaries = [database for is_primary, database in ready if is_primary]
    return (primaries or [database for _, database in ready])[0], notes
