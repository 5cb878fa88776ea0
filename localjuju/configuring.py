"""Application config as ``juju config`` sets and shows it: typed by the option's
declared type, and config-changed only when a value really changed."""

from __future__ import annotations

from typing import Any

from .agent import Agent
from .machine import secret_tools
from .model import DEFAULT_MODEL, Json, Model, open_model
from .settling import say, settle


def set_config(app: str, values: Json, reset: list[str], model_name: str = DEFAULT_MODEL) -> bool:
    """Change config; config-changed runs only when a value really changed (as in Juju)."""
    with open_model(model_name) as model:
        application = model.applications[app]
        options = application.get("options", {})
        before = dict(application["config"])
        for key, raw in values.items():
            if key not in options:
                raise SystemExit(f'unknown option "{key}"')
            application["config"][key] = typed(raw, options[key].get("type", "string"))
        for key in reset:
            application["config"].pop(key, None)
        if application["config"] == before:
            return False
        agent = Agent(model, say)
        for unit in model.app_units(app):
            agent.enqueue(unit, "config-changed")
        settle(agent)
        return True


def typed(raw: Any, kind: str) -> Any:
    """``raw`` (a CLI string) as the option type ``kind`` declares; SystemExit for an int
    that is not one, or a ``secret`` that is not a secret's URI (Juju checks no more: the
    charm reads it only if the secret was granted to its application)."""
    if not isinstance(raw, str):
        return raw
    if kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise SystemExit(f"option value {raw!r} is not an int") from None
    if kind == "float":
        return float(raw)
    if kind == "boolean":
        return raw.lower() in ("true", "yes", "1")
    if kind == "secret" and raw and not secret_tools.SECRET_URI.fullmatch(raw):
        raise SystemExit(f'option value "{raw}" is not a secret URI (secret:<id>)')
    return raw


def get_config(app: str, model_name: str = DEFAULT_MODEL) -> Json:
    """``app``'s config as its hooks see it: the declared defaults overlaid with what was
    set."""
    model = Model.load(model_name)
    return Agent(model).effective_config(app)
