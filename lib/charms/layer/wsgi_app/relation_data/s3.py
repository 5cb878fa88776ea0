"""The ``s3`` interface (our ``s3`` endpoint), as the s3-integrator charm speaks it.

Everything is in application data. Our leader asks for a ``bucket`` (the application's
name when it is a valid bucket name) and lists ``access-key`` and ``secret-key`` in
``requested-secrets``. The integrator's leader answers with ``access-key`` and
``secret-key``: plain (track 1, the ``s3`` library v0), or inside the Juju secret whose
id is in ``secret-extra`` (track 2, the ``s3`` library v1 over data_interfaces, when the
requirer lists them in ``requested-secrets``), which the caller reads and merges in. With
them come ``bucket`` (the integrator's config wins over our request), ``endpoint``,
``region``, ``path``, ``s3-uri-style``, and keys the application is not given
(``storage-class``, ``attributes``, ``tls-ca-chain`` and ``s3-api-version``; the
integrator's own ``data``, ``lib-version`` and ``delete-older-than-days``).

Every value is checked against what S3 allows before it reaches a settings file: an
answer that breaks a rule raises :class:`~.common.BadData` (the unit blocks on it).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from ..integrations import HostPort, ObjectStorage
from .common import BadData, Note, RawRelation, host, port, text

WAITING = "s3 credentials"
SECRET_KEY = "secret-extra"  # the Juju secret that holds the credentials (track 2)
SECRET_FIELDS = ("access-key", "secret-key")
# AWS bucket naming rules (general purpose buckets): 3-63 lowercase letters, digits, dots
# and hyphens, a letter or digit at each end, no "..", ".-" or "-.", not an IPv4 address,
# none of the reserved prefixes and suffixes
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\Z")
_RESERVED_BUCKET = re.compile(r"\Axn--|\Asthree-|\Aamzn-s3-demo-|-s3alias\Z|--ol-s3\Z|--x-s3\Z|\.\.|\.-|-\.")
_CREDENTIAL = re.compile(r"[\x21-\x7e]{1,256}\Z")  # printable ASCII, no spaces
_REGION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z")
_PATH = re.compile(r"[A-Za-z0-9!_.*'()/-]{1,512}\Z")  # S3's "safe characters" for keys
_URL_PATH = re.compile(r"(?:/[A-Za-z0-9._~-]+)*/?\Z")
URI_STYLES = {"path": "path", "host": "host", "virtual": "host"}
IGNORED = ("tls-ca-chain", "attributes", "storage-class", "s3-api-version")


def bucket_name(app_name: str, relation_id: str) -> str:
    """The bucket we ask for: the application's name when S3 accepts it, else the name the
    s3 library's requirer makes up (``relation-<id>``)."""
    try:
        return bucket(app_name)
    except BadData:
        return f"relation-{relation_id.rpartition(':')[2]}"


def request_data(app_name: str, relation_id: str) -> dict[str, str]:
    """What our leader publishes in application data."""
    return {
        "bucket": bucket_name(app_name, relation_id),
        "requested-secrets": json.dumps(list(SECRET_FIELDS)),
    }


def bucket(value: str, key: str = "bucket") -> str:
    """A bucket name S3 accepts."""
    name = value.strip()
    if not _BUCKET.match(name) or _RESERVED_BUCKET.search(name) or _is_ipv4(name):
        raise BadData(f"{key} is not a valid S3 bucket name")
    return name


def _is_ipv4(name: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(name), ipaddress.IPv4Address)
    except ValueError:
        return False


def endpoint(value: str) -> str:
    """An ``http(s)://host[:port][/path]`` URL without credentials, query or fragment,
    rebuilt from its checked parts (no trailing ``/``)."""
    raw = value.strip()
    try:
        parts = urlsplit(raw)
        given_port = parts.port
    except ValueError:
        raise BadData("endpoint is not an http(s) URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        raise BadData("endpoint is not an http(s) URL")
    if parts.query or parts.fragment or "?" in raw or "#" in raw or not _plain_path(parts.path, _URL_PATH):
        raise BadData("endpoint has a query, a fragment or an odd path")
    netloc = parts.netloc.rpartition(":")[0] if given_port is not None else parts.netloc
    where = host(netloc, "endpoint host")
    if given_port is not None:
        shown = str(HostPort(where, port(str(given_port), "endpoint port")))
    else:
        shown = f"[{where}]" if ":" in where else where
    return f"{parts.scheme}://{shown}{parts.path.rstrip('/')}"


def _plain_path(value: str, pattern: re.Pattern[str]) -> bool:
    """Whether ``value`` matches ``pattern`` and has no ``.`` or ``..`` segment."""
    return bool(pattern.match(value)) and not {".", ".."} & set(value.split("/"))


def _optional(data: Mapping[str, str], key: str, pattern: re.Pattern[str], what: str) -> str:
    if not (data.get(key) or "").strip():
        return ""
    value = text(data, key).strip()
    if not _plain_path(value, pattern):
        raise BadData(f"{key} is not {what}")
    return value


def storage(data: Mapping[str, str]) -> ObjectStorage:
    """The bucket an integrator's answer describes; raises :class:`BadData`."""
    credentials = {}
    for key in SECRET_FIELDS:
        value = text(data, key).strip()
        if not _CREDENTIAL.match(value):
            raise BadData(f"{key} is not printable ASCII without spaces (at most 256 characters)")
        credentials[key] = value
    style = (data.get("s3-uri-style") or "").strip().lower()
    if style and style not in URI_STYLES:
        raise BadData("s3-uri-style is neither path nor host")
    return ObjectStorage(
        access_key=credentials["access-key"],
        secret_key=credentials["secret-key"],
        bucket=bucket(text(data, "bucket")),
        endpoint=endpoint(text(data, "endpoint")) if (data.get("endpoint") or "").strip() else "",
        region=_optional(data, "region", _REGION, "a region name"),
        path=_optional(data, "path", _PATH, "a key prefix of S3's safe characters").strip("/"),
        uri_style=URI_STYLES.get(style, ""),
    )


def read_storage(relations: Iterable[RawRelation]) -> tuple[ObjectStorage | None, list[Note]]:
    """The bucket of the first related integrator that has answered, or ``None`` while none
    has. Raises :class:`BadData` (naming the relation) when an answer is unusable."""
    notes: list[Note] = []
    for relation in relations:
        data = relation.app
        if not relation.units:
            continue
        if not all((data.get(key) or "").strip() for key in SECRET_FIELDS):
            notes.append(Note(f"{relation.relation_id}: no credentials yet", "DEBUG"))
            continue
        try:
            found = storage(data)
        except BadData as error:
            raise BadData(f"{relation.relation_id}: {error}") from None
        ignored = [key for key in IGNORED if (data.get(key) or "").strip()]
        if ignored:
            notes.append(Note(f"{relation.relation_id}: {', '.join(ignored)} not passed to the app", "INFO"))
        return found, notes
    return None, notes
