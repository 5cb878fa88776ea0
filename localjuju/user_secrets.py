"""The operator's secrets, as ``juju add-secret``, ``grant-secret``, ``revoke-secret``,
``update-secret``, ``secrets`` and ``show-secret`` handle them (Juju 3.3+ user secrets,
owned by the model): named, granted to applications, read by their charms with
``secret-get`` (usually through a config option of type ``secret``). Content is shown
only by ``show-secret --reveal``."""

from __future__ import annotations

import time
from pathlib import Path

from . import juju_secrets
from .agent import Agent
from .machine import secret_tools
from .model import DEFAULT_MODEL, Json, Model, open_model
from .settling import say, settle


def parse_content(pairs: list[str]) -> dict[str, str]:
    """Stored content (values base64) from ``key=value``, ``key#base64=B64`` and
    ``key#file=PATH``; SystemExit with Juju's message when one is not valid."""
    try:
        return secret_tools.content_from_args(pairs, lambda path: Path(path).expanduser().read_text())
    except (ValueError, OSError) as error:
        raise SystemExit(f"ERROR {error}") from None


def add_secret(name: str, pairs: list[str], info: str = "", model_name: str = DEFAULT_MODEL) -> str:
    """A new secret of the model named ``name``; its URI (``secret:<id>``)."""
    content = parse_content(pairs)
    if not content:
        raise SystemExit("ERROR missing secret value")
    with open_model(model_name) as model:
        if any(s.get("name") == name for s in juju_secrets.store(model).values()):
            raise SystemExit(f'ERROR secret with name "{name}" already exists')
        return juju_secrets.create(model, juju_secrets.MODEL_OWNER, content, description=info, name=name)


def _applications(model: Model, names: str) -> list[str]:
    found = [name for name in names.split(",") if name]
    for name in found:
        if name not in model.applications:
            raise SystemExit(f'ERROR application "{name}" not found')
    return found


def _users(model: Model, given: str) -> str:
    """The URI of the operator's secret ``given`` (a charm's secret is refused)."""
    uri = juju_secrets.resolve(model, given)
    if juju_secrets.store(model)[uri]["owner"] != juju_secrets.MODEL_OWNER:
        raise SystemExit(f'ERROR secret "{given}" is owned by a charm, not by the model')
    return uri


def grant_secret(given: str, apps: str, model_name: str = DEFAULT_MODEL) -> None:
    """Let ``apps`` (comma-separated) read the secret (no hook runs, as in Juju)."""
    with open_model(model_name) as model:
        uri = _users(model, given)
        for app in _applications(model, apps):
            juju_secrets.store(model)[uri].setdefault("grants", {})[app] = ""


def revoke_secret(given: str, apps: str, model_name: str = DEFAULT_MODEL) -> None:
    with open_model(model_name) as model:
        uri = _users(model, given)
        for app in _applications(model, apps):
            juju_secrets.revoke(model, uri, app)


def update_secret(
    given: str, pairs: list[str], info: str | None = None, model_name: str = DEFAULT_MODEL
) -> None:
    """A new revision with ``pairs`` (when the content changes; ``secret-changed`` follows on
    every unit tracking an older one), and/or a new description."""
    content = parse_content(pairs)
    with open_model(model_name) as model:
        uri = _users(model, given)
        secret = juju_secrets.store(model)[uri]
        if info is not None:
            secret["description"] = info
        if content and juju_secrets.revise(model, uri, content):
            agent = Agent(model, say)
            agent.secrets_follow_up()
            settle(agent)


def _stamp(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _owner(model: Model, secret: Json) -> str:
    return "<model>" if secret["owner"] == juju_secrets.MODEL_OWNER else str(secret["owner"])


def list_secrets(model_name: str = DEFAULT_MODEL) -> list[dict[str, str]]:
    """Every secret of the model, without content: id, name, owner, rotation, revision, updated."""
    model = Model.load(model_name)
    return [
        {
            "id": uri.removeprefix("secret:"),
            "name": str(secret.get("name") or secret.get("label") or "-"),
            "owner": _owner(model, secret),
            "rotation": str(secret.get("rotate") or "never"),
            "revision": str(secret["latest"]),
            "updated": _stamp(float(secret.get("updated", 0))),
        }
        for uri, secret in sorted(juju_secrets.store(model).items())
    ]


def show_secret(given: str, reveal: bool = False, model_name: str = DEFAULT_MODEL) -> Json:
    """One secret's details keyed by its id; its latest content only with ``reveal``."""
    model = Model.load(model_name)
    uri = juju_secrets.resolve(model, given)
    secret = juju_secrets.store(model)[uri]
    shown: Json = {
        "revision": int(secret["latest"]),
        "owner": _owner(model, secret),
        **{key: secret[key] for key in ("name", "label", "description") if secret.get(key)},
        "created": _stamp(float(secret.get("created", 0))),
        "updated": _stamp(float(secret.get("updated", 0))),
    }
    if secret.get("rotate"):
        shown["rotation"] = secret["rotate"]
    if secret.get("grants"):
        shown["access"] = [
            {"target": f"application-{who}", "role": "view"} for who in sorted(secret["grants"])
        ]
    if reveal:
        shown["content"] = secret_tools.decode(secret["revisions"][str(secret["latest"])])
    return {uri.removeprefix("secret:"): shown}
