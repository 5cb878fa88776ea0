"""The ``postgresql_client`` interface (our ``database`` endpoint), all in application data.

Our leader asks for ``database`` (and ``extra-user-roles``), with the credentials in a Juju
secret (``requested-secrets``); the server's leader answers
with ``endpoints`` (``host:port`` list, primary first), ``read-only-endpoints`` and the
credentials: plain ``username``/``password``, or a Juju secret named in ``secret-user``
whose content the caller reads and passes in.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from ..integrations import Database, HostPort
from .common import BadData, Note, RawRelation, host_port, text
from .pgsql import DatabaseRequest

WAITING = "database credentials"
SECRET_KEY = "secret-user"
# the fields we ask the server to put in Juju secrets rather than in relation data, as the
# data_interfaces library's DatabaseRequires asks by default: the credentials (and the
# URIs, which carry the password) go in the secret named by secret-user, TLS in secret-tls
REQUESTED_SECRETS = ("username", "password", "tls", "tls-ca", "uris", "read-only-uris")


def request_data(request: DatabaseRequest) -> dict[str, str]:
    """What our leader publishes in application data (an empty value removes a key)."""
    return {
        "database": request.name,
        "extra-user-roles": ",".join(request.roles),
        "requested-secrets": json.dumps(list(REQUESTED_SECRETS)),
    }


def _addresses(value: str, key: str) -> tuple[list[HostPort], list[Note]]:
    found: list[HostPort] = []
    notes: list[Note] = []
    for number, entry in enumerate((e for e in value.split(",") if e.strip()), start=1):
        try:
            address = HostPort(*host_port(entry, key))
        except BadData as error:
            notes.append(Note(f"{key} entry {number} skipped: {error}"))
            continue
        if address not in found:
            found.append(address)
    return found, notes


def relation_database(
    data: Mapping[str, str], request: DatabaseRequest
) -> tuple[Database | None, list[Note]]:
    """The database one server application offers, or ``None`` while it is incomplete.

    ``data`` is the server's application data with the secret's content (if any) merged in.
    """
    if not (data.get("username") and data.get("password") and data.get("endpoints")):
        return None, [Note("no endpoints or credentials yet", "DEBUG")]
    if data.get("database") and data.get("database") != request.name:
        return None, [Note(f"database {request.name!r} not provided yet", "DEBUG")]
    try:
        user, password = text(data, "username"), text(data, "password")
        endpoints, notes = _addresses(text(data, "endpoints"), "endpoints")
        if not endpoints:
            raise BadData("no usable endpoints")
        readers, more = _addresses(data.get("read-only-endpoints") or "", "read-only-endpoints")
    except BadData as error:
        return None, [Note(f"skipped: {error}")]
    standbys = tuple(address for address in readers if address != endpoints[0])
    database = Database(endpoints[0], request.name, user, password, standbys)
    return database, notes + more


def served_instead(relations: Iterable[RawRelation], request: DatabaseRequest) -> tuple[str, str] | None:
    """(relation id, database) of a server that answered with another database than
    ``request.name``. PostgreSQL charms create the database only when ``database`` first
    appears in the relation, so a renamed request is never served on that relation."""
    for relation in relations:
        served = (relation.app.get("database") or "").strip()
        if relation.units and relation.app.get("endpoints") and served and served != request.name:
            return relation.relation_id, served
    return None


def read_database(
    relations: Iterable[RawRelation], request: DatabaseRequest
) -> tuple[Database | None, list[Note]]:
    """The database of the first related server application that is ready."""
    notes: list[Note] = []
    for relation in relations:
        if not relation.units:
            continue
        database, found = relation_database(relation.app, request)
        notes.extend(Note(f"{relation.relation_id}: {note.message}", note.level) for note in found)
        if database is not None:
            return database, notes
    return None, notes
