"""Juju's secret hook tools (``secret-add``, ``secret-get``, ``secret-set``, ``secret-grant``,
``secret-revoke``, ``secret-remove``, ``secret-ids``, ``secret-info-get``) over the hook's
context, with Juju 3's arguments, output and owner/consumer rules.

The context's ``secrets`` holds every secret the unit may see, as the model keeps it
(``localjuju/juju_secrets.py`` builds that view and commits it back after the hook):
``owner`` (an application, a unit, or ``model`` for a user's secret), the owner's
``label``, ``description``, ``rotate``, ``expire``, ``revisions`` (revision -> content, each
value base64 as Juju stores it), ``latest``, ``grants`` (application or unit -> the
relation id the grant goes with, ``""`` for the operator's grants) and ``consumers`` (unit
-> the revision it tracks and its label). Standard library + PyYAML only.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import re
import secrets
import time
from collections.abc import Callable
from typing import Any

from .jujuc import Call, Context, Parser, ToolError, UsageError, emit, format_arg, relation_id, yaml_module

# Juju's rules (core/secrets/createsecret.go): a key is lowercase letters, digits and single
# hyphens, starts with a letter, at least 3 characters; values are base64 when stored
KEY = re.compile(r"[a-z](?:-?[a-z0-9]){2,}")
MAX_CONTENT_BYTES = 1000 * 1000
ID_ALPHABET = "0123456789abcdefghijklmnopqrstuv"  # an xid's base32hex, as Juju's ids are
SECRET_URI = re.compile(r"secret:(?://[0-9a-f-]{1,64}/)?([0-9a-v]{20})")
BARE_ID = re.compile(r"([0-9a-v]{20})")
ROTATE_POLICIES = ("never", "hourly", "daily", "weekly", "monthly", "quarterly", "yearly")


def new_id() -> str:
    """A fresh secret id: 20 characters of base32hex, as Juju's."""
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(20))


def is_secret_id(given: str) -> bool:
    """Whether ``given`` names a secret: ``secret:<id>``, ``secret://<model>/<id>`` or ``<id>``."""
    return bool(SECRET_URI.fullmatch(given) or BARE_ID.fullmatch(given))


def secret_id(given: str) -> str:
    """The bare id of a secret's URI (see :func:`is_secret_id`); UsageError for anything else."""
    match = SECRET_URI.fullmatch(given) or BARE_ID.fullmatch(given)
    if match is None:
        raise UsageError(f'secret URI "{given}" not valid')
    return match.group(1)


def check_key(key: str) -> str:
    """``key``, or ValueError when Juju refuses it as a secret key."""
    if not KEY.fullmatch(key):
        raise ValueError(f'key "{key}" not valid')
    return key


def encode(content: dict[str, str]) -> dict[str, str]:
    """Plain values as Juju stores them (base64); ValueError for a key Juju refuses."""
    return {check_key(key): base64.b64encode(value.encode()).decode() for key, value in content.items()}


def decode(content: dict[str, str]) -> dict[str, str]:
    return {key: base64.b64decode(value).decode(errors="replace") for key, value in content.items()}


def content_from_args(pairs: list[str], read: Callable[[str], str]) -> dict[str, str]:
    """Stored content (values base64) from ``key=value``, ``key#base64=B64`` and
    ``key#file=PATH`` arguments, as Juju's CreateSecretData reads them; ValueError when one
    is not valid."""
    content: dict[str, str] = {}
    for pair in pairs:
        index = pair.rstrip("=").find("=")  # base64 padding is not the separator
        if index < 1:
            raise ValueError(f'key value "{pair}" not valid')
        key, value = pair[:index], pair[index + 1 :]
        if key.endswith("#file"):
            key, value = key.removesuffix("#file"), read(value)
        if key.endswith("#base64"):
            key = key.removesuffix("#base64")
            try:
                base64.b64decode(value, validate=True)
            except binascii.Error:
                raise ValueError(f'value of key "{key}" is not base64') from None
            content[check_key(key)] = value
        else:
            content.update(encode({key: value}))
    if sum(len(v) for v in content.values()) > MAX_CONTENT_BYTES:
        raise ValueError("base64 encoded secret content too large")
    return content


def content_from_file(text: str) -> dict[str, str]:
    """``--file``: a YAML or JSON map of keys (``#base64`` suffixes allowed) to values."""
    loaded = yaml_module().safe_load(text) or {}
    if not isinstance(loaded, dict):
        raise ValueError("secret file is not a map of keys to values")
    for key, value in loaded.items():  # Juju reads it into a map of strings: no maps or lists
        if isinstance(value, (dict, list)):  # (nor their str(), which YAML aliases make huge)
            raise ValueError(f'value of key "{key}" is not a string')
    return content_from_args([f"{k}={'' if v is None else v}" for k, v in loaded.items()], str)


# -- who may do what ------------------------------------------------------------------


def owned(ctx: Context, secret: Context) -> bool:
    """Whether the unit's application (or the unit itself) owns ``secret``."""
    return bool(secret["owner"] in (ctx["app"], ctx["unit"]))


def manageable(ctx: Context, secret: Context) -> bool:
    """Whether the unit may change ``secret``: its own, or its application's as the leader."""
    return bool(secret["owner"] == ctx["unit"] or (secret["owner"] == ctx["app"] and ctx["leader"]))


def granted(ctx: Context, secret: Context) -> bool:
    return ctx["app"] in secret.get("grants", {}) or ctx["unit"] in secret.get("grants", {})


def find(ctx: Context, given: str, label: str) -> tuple[str, Context]:
    """(URI, secret) named by its URI or by a label (the owner's, or this unit's as a
    consumer); ToolError when the unit may not see it."""
    known: dict[str, Context] = ctx.setdefault("secrets", {})
    if given:
        wanted = secret_id(given)
        for uri, secret in known.items():
            if uri.removeprefix("secret:") == wanted and (owned(ctx, secret) or granted(ctx, secret)):
                return uri, secret
        if f"secret:{wanted}" in ctx.get("other_secrets", []):
            raise ToolError("permission denied")  # it exists, but was not granted to this unit
        raise ToolError(f'secret "{wanted}" not found')
    for uri, secret in known.items():
        mine = secret.get("consumers", {}).get(ctx["unit"], {})
        if (owned(ctx, secret) and secret.get("label") == label) or mine.get("label") == label:
            return uri, secret
    raise ToolError(f'secret "{label}" not found')


def must_manage(ctx: Context, secret: Context) -> None:
    if not owned(ctx, secret):
        raise ToolError("permission denied")
    if not manageable(ctx, secret):
        raise ToolError("this unit is not the leader: only the leader can manage the application's secrets")


def label_free(ctx: Context, label: str, uri: str = "") -> None:
    """Juju refuses a label the unit already gives another secret, as an owner (its own
    and its application's) or as a consumer: one namespace for both."""
    for other, secret in ctx.get("secrets", {}).items():
        mine = secret.get("consumers", {}).get(ctx["unit"], {}).get("label")
        if other != uri and (mine == label or (owned(ctx, secret) and secret.get("label") == label)):
            raise ToolError(f'secret with label "{label}" already exists')


# -- the shared flags of secret-add and secret-set --------------------------------------


def upsert_parser(name: str, call: Call) -> Parser:
    p = Parser(name, call)
    p.add_argument("--label", default=None)
    p.add_argument("--description", default=None)
    p.add_argument("--expire", default="")
    p.add_argument("--rotate", default="")
    p.add_argument("--owner", default="application")
    p.add_argument("--file", default="")
    return p


def rfc3339(seconds: float) -> str:
    """``seconds`` since the epoch as a UTC RFC 3339 time (Juju's times in tool output)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def expiry(spec: str) -> str:
    """``--expire``: an RFC 3339 time (zone optional: UTC; ops sends microseconds) or a Go
    duration (``24h``, ``1h30m``), as a UTC time."""
    try:
        parsed = datetime.datetime.fromisoformat(spec)
    except ValueError:
        parsed = None
    if parsed is not None:
        zoned = parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)
        return zoned.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    units = {"h": 3600, "m": 60, "s": 1}
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", spec)
    if not spec or parts is None:
        raise UsageError(f'expire time or duration "{spec}" not valid')
    seconds = sum(int(n or 0) * units[u] for n, u in zip(parts.groups(), "hms", strict=True))
    if seconds <= 0:
        raise UsageError(f'negative expire duration "{spec}" not valid')
    return rfc3339(time.time() + seconds)


def upsert_values(a: Any, pairs: list[str], call: Call) -> tuple[dict[str, str], Context]:
    """(content, metadata changes) from secret-add's or secret-set's arguments."""
    if a.rotate and a.rotate not in ROTATE_POLICIES:
        raise UsageError(f'rotate policy "{a.rotate}" not valid')
    if a.owner not in ("application", "unit"):
        raise UsageError(f'secret owner "{a.owner}" not valid')
    try:
        content = content_from_file(call.read(a.file)) if a.file else {}
        content.update(content_from_args(pairs, call.read))
    except ValueError as error:
        raise UsageError(str(error)) from None
    changes: Context = {
        key: value
        for key, value in (("label", a.label), ("description", a.description), ("rotate", a.rotate))
        if value is not None and (key != "rotate" or value)
    }
    if a.expire:
        changes["expire"] = expiry(a.expire)
    return content, changes


# -- the tools ----------------------------------------------------------------------------


def secret_add(args: list[str], ctx: Context, call: Call) -> None:
    """A new secret of the application (the leader only) or, ``--owner unit``, of the unit;
    prints its URI."""
    p = upsert_parser("secret-add", call)
    p.add_argument("content", nargs="*")
    a = p.parse_args(args)
    if not a.content and not a.file:
        raise UsageError("missing secret value or filename")
    content, changes = upsert_values(a, a.content, call)
    if not content:
        raise ToolError("empty secret value not valid")
    owner = ctx["unit"] if a.owner == "unit" else ctx["app"]
    if owner == ctx["app"] and not ctx["leader"]:
        raise ToolError("this unit is not the leader: only the leader can add application secrets")
    if changes.get("label"):
        label_free(ctx, changes["label"])
    uri = f"secret:{new_id()}"
    now = time.time()
    ctx.setdefault("secrets", {})[uri] = {
        "owner": owner,
        "label": "",
        "description": "",
        "rotate": "",
        "expire": "",
        **changes,
        "revisions": {"1": content},
        "latest": 1,
        "grants": {},
        "consumers": {},
        "created": now,
        "updated": now,
    }
    print(uri, file=call.out)


def secret_set(args: list[str], ctx: Context, call: Call) -> None:
    """A new revision (when the content differs from the latest) and/or new metadata."""
    p = upsert_parser("secret-set", call)
    p.add_argument("id")
    p.add_argument("content", nargs="*")
    a = p.parse_args(args)
    content, changes = upsert_values(a, a.content, call)
    uri, secret = find(ctx, a.id, "")
    must_manage(ctx, secret)
    if changes.get("label"):
        label_free(ctx, changes["label"], uri)
    secret.update(changes)
    latest = int(secret["latest"])
    if content and content != secret["revisions"].get(str(latest)):
        # the metadata secret-info-get shows is read when the hook starts (Juju's HookContext):
        # a revision this hook makes is not in it (not kept past the hook: see OWNER_FIELDS)
        secret.setdefault("hook_start_latest", latest)
        secret["revisions"][str(latest + 1)] = content
        secret["latest"] = latest + 1
    secret["updated"] = time.time()


def read_revision(ctx: Context, uri: str, secret: Context, label: str, refresh: bool, peek: bool) -> str:
    """The revision secret-get reads, the same for owners and consumers (Juju 3.1.7 on): the
    one the unit tracks, set to the latest at its first read (a peek too), moved to the
    latest by ``refresh``; ``peek`` reads the latest this time only. A ``label`` given with
    the URI names the secret for its owner (the leader, for the application's), or for this
    consumer unit; the owning application's other units keep none of their own."""
    latest = int(secret["latest"])
    if owned(ctx, secret) and label and manageable(ctx, secret):
        label_free(ctx, label, uri)
        secret["label"] = label
    consumer = secret.setdefault("consumers", {}).setdefault(ctx["unit"], {"revision": latest})
    if refresh:
        consumer["revision"] = latest
    if label and not owned(ctx, secret):
        label_free(ctx, label, uri)
        consumer["label"] = label
    return str(latest if peek else consumer["revision"])


def secret_get(args: list[str], ctx: Context, call: Call) -> None:
    """The content of a secret, one key or all: the revision the unit tracks (the latest when
    it first reads), unless ``--refresh`` (track the latest from now on) or ``--peek`` (read
    the latest this time only)."""
    p = Parser("secret-get", call)
    p.add_argument("id", nargs="?", default="")
    p.add_argument("key", nargs="?", default="")
    p.add_argument("--label", default="")
    p.add_argument("--peek", action="store_true")
    p.add_argument("--refresh", action="store_true")
    p.add_argument("--format", default="yaml", choices=("yaml", "json"))
    p.add_argument("-o", "--output", default=None)
    a = p.parse_args(args)
    if a.label and a.id and not a.key and not is_secret_id(a.id):
        a.id, a.key = "", a.id  # secret-get --label <label> <key>
    if not a.id and not a.label:
        raise UsageError("require either a secret URI or label")
    if a.peek and a.refresh:
        raise UsageError("specify one of --peek or --refresh but not both")
    uri, secret = find(ctx, a.id, "" if a.id else a.label)
    revision = read_revision(ctx, uri, secret, a.label if a.id else "", a.refresh, a.peek)
    if revision not in secret["revisions"]:  # the owner removed the one this unit tracks
        raise ToolError(f'secret revision "{uri}/{revision}" not found')
    content = decode(secret["revisions"][revision])
    if not a.key:
        emit(call, content, a.format)
        return
    name, _, encoding = a.key.partition("#")
    if name not in content:
        raise ToolError(f'secret key "{name}" not found')
    value = secret["revisions"][revision][name] if encoding == "base64" else content[name]
    if a.format == "yaml" and "\n" in value:
        call.out.write(literal_block(value))  # as Go's yaml writes a string of several lines
    else:
        emit(call, value, a.format)


def literal_block(value: str) -> str:
    """A string of several lines as a YAML literal block (``|`` keeps a final newline, ``|-`` has none)."""
    lines = value.removesuffix("\n").split("\n")
    return ("|\n" if value.endswith("\n") else "|-\n") + "".join(f"  {line}\n" for line in lines)


def secret_grant(args: list[str], ctx: Context, call: Call) -> None:
    """Let the relation's remote application (or one of its units) read the secret, for as
    long as the relation lives."""
    p = Parser("secret-grant", call)
    p.add_argument("id")
    p.add_argument("-r", "--relation", default="")
    p.add_argument("--unit", default="")
    a = p.parse_args(args)
    rid = relation_id(ctx, a.relation, call)
    remote = ctx["relations"][rid]["remote_app"]
    if a.unit and a.unit.split("/")[0] != remote:
        raise UsageError(f'cannot specify unit "{a.unit}" in relation to application "{remote}"')
    _, secret = find(ctx, a.id, "")
    must_manage(ctx, secret)
    secret.setdefault("grants", {})[a.unit or remote] = rid.split(":")[-1]


def secret_revoke(args: list[str], ctx: Context, call: Call) -> None:
    """Take back a grant: from an application (``--app``, or the relation's remote one) or a unit."""
    p = Parser("secret-revoke", call)
    p.add_argument("id")
    p.add_argument("-r", "--relation", default="")
    p.add_argument("--app", "--application", dest="app", default="")
    p.add_argument("--unit", default="")
    a = p.parse_args(args)
    if a.relation and not (a.app or a.unit):
        a.app = ctx["relations"][relation_id(ctx, a.relation, call)]["remote_app"]
    if not (a.app or a.unit):
        raise UsageError("missing application or unit")
    _, secret = find(ctx, a.id, "")
    must_manage(ctx, secret)
    grants = secret.setdefault("grants", {})
    for entity in (a.app, a.unit):
        grants.pop(entity, None)


def secret_remove(args: list[str], ctx: Context, call: Call) -> None:
    """Remove a secret, or one of its revisions (``--revision``)."""
    p = Parser("secret-remove", call)
    p.add_argument("id")
    p.add_argument("--revision", type=int, default=0)
    a = p.parse_args(args)
    uri, secret = find(ctx, a.id, "")
    must_manage(ctx, secret)
    if not a.revision:
        del ctx["secrets"][uri]
        return
    if str(a.revision) not in secret["revisions"]:
        raise ToolError(f'secret revision "{uri}/{a.revision}" not found')
    del secret["revisions"][str(a.revision)]
    if not secret["revisions"]:
        del ctx["secrets"][uri]


def secret_ids(args: list[str], ctx: Context, call: Call) -> None:
    """The ids of the secrets this unit owns, and its application's when it is the leader
    (Juju's GetSecretMetadata lists no others)."""
    p = Parser("secret-ids", call)
    format_arg(p)
    a = p.parse_args(args)
    ids = sorted(
        uri.removeprefix("secret:") for uri, s in ctx.get("secrets", {}).items() if manageable(ctx, s)
    )
    if a.format == "smart":
        for found in ids:
            print(found, file=call.out)
    else:
        emit(call, ids, a.format)


def access(ctx: Context, secret: Context) -> list[Context]:
    """secret-info-get's ``access``: each grant's target, the relation it goes with, ``view``."""
    scopes = {rid.split(":")[-1]: rel.get("scope", "") for rid, rel in ctx["relations"].items()}
    found = []
    for entity, rid in sorted(secret.get("grants", {}).items()):
        kind = "unit" if "/" in entity else "application"
        target = f"{kind}-{entity.replace('/', '-')}"
        found.append(
            {"target": target, "scope": scopes.get(rid, "model") if rid else "model", "role": "view"}
        )
    return found


def secret_info_get(args: list[str], ctx: Context, call: Call) -> None:
    """The metadata of a secret the unit owns (its application's: the leader only), keyed by
    its id; others are not found, as Juju's GetSecretMetadata lists only those."""
    p = Parser("secret-info-get", call)
    p.add_argument("id", nargs="?", default="")
    p.add_argument("--label", default="")
    p.add_argument("--format", default="yaml", choices=("yaml", "json"))
    p.add_argument("-o", "--output", default=None)
    a = p.parse_args(args)
    if not a.id and not a.label:
        raise UsageError("require either a secret URI or label")
    if a.id and a.label:
        raise UsageError("specify either a secret URI or label but not both")
    wanted = secret_id(a.id) if a.id else a.label
    for uri, secret in ctx.get("secrets", {}).items():
        if manageable(ctx, secret) and wanted in (
            uri.removeprefix("secret:"),
            secret.get("label") if a.label else None,
        ):
            info: Context = {
                "revision": int(secret.get("hook_start_latest", secret["latest"])),
                "label": secret.get("label", ""),
                "owner": "unit" if "/" in secret["owner"] else "application",
            }
            optional = (("description", "description"), ("rotation", "rotate"), ("expiry", "expire"))
            info.update({shown: secret[key] for shown, key in optional if secret.get(key)})
            if secret.get("next_rotate"):  # a time, as Go writes a *time.Time (ops parses RFC 3339)
                info["rotates"] = rfc3339(float(secret["next_rotate"]))
            if secret.get("grants"):
                info["access"] = access(ctx, secret)
            emit(call, {uri.removeprefix("secret:"): info}, a.format)
            return
    raise ToolError(f'secret "{wanted}" not found')


TOOLS: dict[str, Callable[[list[str], Context, Call], None]] = {
    "secret-add": secret_add,
    "secret-get": secret_get,
    "secret-set": secret_set,
    "secret-grant": secret_grant,
    "secret-revoke": secret_revoke,
    "secret-remove": secret_remove,
    "secret-ids": secret_ids,
    "secret-info-get": secret_info_get,
}
