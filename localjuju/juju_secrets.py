"""The model's Juju secrets (``secrets`` in model.json, root's alone like the rest): what a
unit sees of them during a hook, what a hook changed, and the hooks that follow from it
(``secret-changed`` on consumers, ``secret-remove`` on the owner), as Juju's controller keeps
them. The charms' secrets (hook tools, ``machine/secret_tools.py``), the servers' and the
operator's (``user_secrets.py``) all live here.

One secret: ``owner`` (an application, a unit, or ``model`` for the operator's),
``name`` (the operator's), the owner's ``label``, ``description``, ``rotate``, ``expire``,
``revisions`` (revision -> content, values base64), ``latest``, ``grants`` (application or
unit -> the relation id the grant goes with, ``""`` for the operator's), ``consumers`` (unit
-> ``revision`` tracked, ``label``, ``notified``: the latest revision it was told of), and
``obsolete``: the revisions the owner was told it may remove.
"""

from __future__ import annotations

import calendar
import copy
import time
from typing import TYPE_CHECKING

from .machine import secret_tools

if TYPE_CHECKING:
    from .model import Json, Model

MODEL_OWNER = "model"
OWNER_FIELDS = ("label", "description", "rotate", "expire", "revisions", "latest", "grants", "updated")
PERIODS = {
    "hourly": 3600,
    "daily": 86400,
    "weekly": 7 * 86400,
    "monthly": 30 * 86400,
    "quarterly": 90 * 86400,
    "yearly": 365 * 86400,
}


def store(model: Model) -> dict[str, Json]:
    found: dict[str, Json] = model.data.setdefault("secrets", {})
    return found


def create(
    model: Model,
    owner: str,
    content: dict[str, str],
    *,
    label: str = "",
    description: str = "",
    name: str = "",
    grants: dict[str, str] | None = None,
) -> str:
    """A new secret of ``owner`` whose first revision is ``content`` (values already base64);
    its URI."""
    uri = f"secret:{secret_tools.new_id()}"
    now = time.time()
    store(model)[uri] = {
        "owner": owner,
        "name": name,
        "label": label,
        "description": description,
        "rotate": "",
        "expire": "",
        "revisions": {"1": dict(content)},
        "latest": 1,
        "grants": dict(grants or {}),
        "consumers": {},
        "created": now,
        "updated": now,
    }
    return uri


def revise(model: Model, uri: str, content: dict[str, str]) -> bool:
    """A new revision of ``uri`` when ``content`` (values base64) differs from its latest;
    whether one was made."""
    secret = store(model)[uri]
    latest = int(secret["latest"])
    if secret["revisions"].get(str(latest)) == content:
        return False
    secret["revisions"][str(latest + 1)] = dict(content)
    secret["latest"] = latest + 1
    secret["updated"] = time.time()
    return True


def resolve(model: Model, given: str) -> str:
    """The URI of the secret named ``given`` (the operator's name for it, or its URI or id);
    SystemExit when there is none."""
    for uri, secret in store(model).items():
        if given and given in (secret.get("name"), uri, uri.removeprefix("secret:")):
            return uri
    if secret_tools.is_secret_id(given):
        wanted = secret_tools.secret_id(given)
        for uri in store(model):
            if uri.removeprefix("secret:") == wanted:
                return uri
    raise SystemExit(f'secret "{given}" not found')


def _sees(secret: Json, unit: str, app: str) -> bool:
    return (
        secret["owner"] in (app, unit) or app in secret.get("grants", {}) or unit in secret.get("grants", {})
    )


def visible(model: Model, unit: str) -> Json:
    """A copy of every secret ``unit`` may see during a hook: its application's, its own,
    and those granted to either."""
    app = model.units[unit]["app"]
    return {uri: copy.deepcopy(s) for uri, s in store(model).items() if _sees(s, unit, app)}


def hidden(model: Model, unit: str) -> list[str]:
    """The URIs of the secrets ``unit`` may not see (secret-get says permission denied)."""
    app = model.units[unit]["app"]
    return sorted(uri for uri, s in store(model).items() if not _sees(s, unit, app))


def commit(model: Model, unit: str, leader: bool, before: Json, after: Json) -> None:
    """Keep what a successful hook of ``unit`` did to its secrets: new ones, the owner's
    changes (the leader's for the application's), removals, and this unit's tracking."""
    app = model.units[unit]["app"]
    kept = store(model)

    def manages(secret: Json) -> bool:
        return bool(secret["owner"] == unit or (secret["owner"] == app and leader))

    for uri, secret in after.items():
        stored = kept.get(uri)
        if stored is None:
            if uri not in before and manages(secret):
                # the revision secret-info-get showed during the hook is the hook's alone
                kept[uri] = {key: value for key, value in secret.items() if key != "hook_start_latest"}
            continue
        if manages(stored):
            stored.update({key: secret.get(key) for key in OWNER_FIELDS})
            if stored["latest"] != before.get(uri, {}).get("latest") and stored.get("rotate"):
                stored.pop("next_rotate", None)  # rotated: the next rotation counts from now
        mine = secret.get("consumers", {}).get(unit)
        if mine is not None:
            stored.setdefault("consumers", {})[unit] = {**stored.get("consumers", {}).get(unit, {}), **mine}
    for uri in before:
        if uri not in after and uri in kept and manages(kept[uri]):
            del kept[uri]


def _hook_unit(model: Model, owner: str) -> str:
    """The unit that runs an owner's hooks: the unit itself, or its application's leader
    (none for the operator's secrets and for servers, which run no hooks)."""
    if owner == MODEL_OWNER:
        return ""
    if "/" in owner:
        return owner if owner in model.units else ""
    application = model.applications.get(owner, {})
    return str(application.get("leader") or "") if application.get("kind", "charm") == "charm" else ""


def _obsolete(secret: Json) -> list[str]:
    """Revisions nobody tracks any more and that are not the latest."""
    tracked = {str(c.get("revision")) for c in secret.get("consumers", {}).values()}
    latest = str(secret["latest"])
    return sorted((r for r in secret["revisions"] if r != latest and r not in tracked), key=int)


def follow_ups(model: Model) -> list[Json]:
    """The hooks the secrets' state calls for, each once: ``secret-changed`` on every
    consumer unit tracking an older revision than the latest, ``secret-remove`` on the owner
    for each revision no consumer tracks any more. Marks them told."""
    events: list[Json] = []
    for uri, secret in store(model).items():
        latest = int(secret["latest"])
        for unit, consumer in secret.get("consumers", {}).items():
            behind = int(consumer["revision"]) < latest and int(consumer.get("notified", 0)) < latest
            if unit in model.units and behind:
                consumer["notified"] = latest
                events.append({"unit": unit, "hook": "secret-changed", "secret_id": uri})
        owner_unit = _hook_unit(model, secret["owner"])
        told = secret.setdefault("obsolete", [])
        for revision in _obsolete(secret):
            if owner_unit and revision not in told:
                told.append(revision)
                events.append(
                    {
                        "unit": owner_unit,
                        "hook": "secret-remove",
                        "secret_id": uri,
                        "secret_revision": revision,
                    }
                )
    return events


def due(model: Model, now: float) -> list[Json]:
    """``secret-rotate`` for each charm secret whose rotation time has come, and
    ``secret-expired`` for each whose latest revision expired (once per revision)."""
    events: list[Json] = []
    for uri, secret in store(model).items():
        owner_unit = _hook_unit(model, secret["owner"])
        period = PERIODS.get(str(secret.get("rotate") or ""))
        if owner_unit and period:
            secret.setdefault("next_rotate", float(secret.get("updated", now)) + period)
            if secret["next_rotate"] <= now:
                secret["next_rotate"] = now + period
                events.append({"unit": owner_unit, "hook": "secret-rotate", "secret_id": uri})
        expire = str(secret.get("expire") or "")
        expired = expire and calendar.timegm(time.strptime(expire, "%Y-%m-%dT%H:%M:%SZ")) <= now
        if owner_unit and expired and secret.get("expired") != secret["latest"]:
            secret["expired"] = secret["latest"]
            revision = str(secret["latest"])
            events.append(
                {"unit": owner_unit, "hook": "secret-expired", "secret_id": uri, "secret_revision": revision}
            )
    return events


def hook_label(model: Model, uri: str, unit: str) -> str:
    """``JUJU_SECRET_LABEL`` for ``unit``'s hook about ``uri``: its label as a consumer; the
    owner's label only on the owning unit or application's units (Juju copies it to their
    consumer record): another application's unit never sees it."""
    secret = store(model).get(uri, {})
    mine = secret.get("consumers", {}).get(unit, {}).get("label")
    owners = (unit, model.units.get(unit, {}).get("app"))
    return str(mine or (secret.get("label") if secret.get("owner") in owners else "") or "")


def drop_relation(model: Model, rid: str) -> None:
    """A removed relation takes its grants with it (and the tracking of those who lost access)."""
    for secret in store(model).values():
        secret["grants"] = {who: r for who, r in secret.get("grants", {}).items() if r != rid}
        _drop_unseeing(model, secret)


def revoke(model: Model, uri: str, entity: str) -> None:
    store(model)[uri].get("grants", {}).pop(entity, None)
    _drop_unseeing(model, store(model)[uri])


def _drop_unseeing(model: Model, secret: Json) -> None:
    consumers = secret.get("consumers", {})
    for unit in list(consumers):
        if unit not in model.units or not _sees(secret, unit, model.units[unit]["app"]):
            del consumers[unit]


def forget_unit(model: Model, unit: str) -> None:
    """A removed unit's own secrets go, and so do its grants and its tracking."""
    kept = store(model)
    for uri in [u for u, s in kept.items() if s["owner"] == unit]:
        del kept[uri]
    for secret in kept.values():
        secret.get("grants", {}).pop(unit, None)
        secret.get("consumers", {}).pop(unit, None)
