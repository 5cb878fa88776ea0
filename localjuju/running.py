"""Hooks and actions run on demand: an action, a hook (``run-hook``, ``tick``), a failed
hook's retry (``resolved``), and a leader election."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from . import juju_secrets
from .actions import checked_params
from .agent import SECRET_KEYS, Agent, HookResult
from .charm_files import read_charm_file
from .model import DEFAULT_MODEL, Json, open_model
from .settling import say, settle


def run_action(unit: str, name: str, params: Json, model_name: str = DEFAULT_MODEL) -> Json:
    """Run action ``name`` on ``unit``; :class:`~.actions.ActionRefused` (before any hook)
    when the charm does not define it or its schema rejects ``params``."""
    with open_model(model_name) as model:
        if unit not in model.units:
            raise SystemExit(f'unit "{unit}" not found')
        charm = Path(model.applications[unit.split("/")[0]]["charm"])
        params = checked_params(read_charm_file(charm, "actions.yaml"), unit, name, params)
        agent = Agent(model, say)
        action: Json = {
            "name": name,
            "id": uuid.uuid4().hex[:12],
            "params": params,
            "results": {},
            "log": [],
            "failed": None,
        }
        result = agent.run_hook(unit, name, action=action)
        settle(agent)
        outcome = result.action or action
        status = "failed" if (not result.ok or outcome.get("failed")) else "completed"
        summary: Json = {
            "unit": unit,
            "id": action["id"],
            "status": status,
            "results": outcome.get("results", {}),
        }
        if outcome.get("failed"):
            summary["message"] = outcome["failed"]
        elif not result.ok:
            last = (result.output.strip().splitlines() or ["no output"])[-1]
            summary["message"] = f"action script exited with an error: {last}"
        summary["log"] = [entry[1] for entry in outcome.get("log", [])]
        return summary


def run_hook(unit: str, hook: str, model_name: str = DEFAULT_MODEL) -> list[HookResult]:
    """Fire ``hook`` on ``unit`` (or every unit of an application) and settle; the hooks'
    results."""
    with open_model(model_name) as model:
        agent = Agent(model, say)
        units = model.app_units(unit) if "/" not in unit else [unit]
        for name in units:
            agent.enqueue(name, hook)
        return settle(agent)


def secret_timers(model_name: str = DEFAULT_MODEL) -> None:
    """Run the ``secret-rotate`` and ``secret-expired`` hooks whose time has come (``tick``;
    Juju's controller fires them on its own timers)."""
    with open_model(model_name) as model:
        agent = Agent(model, say)
        for event in juju_secrets.due(model, time.time()):
            agent.enqueue(**event)
        settle(agent)


def resolved(unit: str, retry: bool = True, model_name: str = DEFAULT_MODEL) -> None:
    """Clear ``unit``'s hook error; with ``retry``, the failed hook runs first again."""
    with open_model(model_name) as model:
        info = model.units[unit]
        error = info.pop("error", None)
        info["agent"] = "idle"
        agent = Agent(model, say)
        if retry and error:
            keys = ("relation_id", "remote_unit", "remote_app", "departing", *SECRET_KEYS)
            details = {k: error[k] for k in keys if error.get(k)}
            model.queue.insert(0, {"unit": unit, "hook": error["hook"], **details})
        settle(agent)


def elect(unit: str, model_name: str = DEFAULT_MODEL) -> None:
    """Move leadership to ``unit`` now (Juju moves it when a leader's lease lapses)."""
    with open_model(model_name) as model:
        if unit not in model.units:
            raise SystemExit(f'unit "{unit}" not found')
        agent = Agent(model, say)
        agent.elect(model.units[unit]["app"], unit)
        settle(agent)
