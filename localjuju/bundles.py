"""Deploying a Juju bundle: its local charm's applications, servers for the others, then
its relations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .charm_files import charm_name
from .deploying import deploy, deploy_server, server_name
from .model import DEFAULT_MODEL, Json
from .relating import relate


def deploy_bundle(bundle: Path, charm: Path | None = None, model_name: str = DEFAULT_MODEL) -> list[str]:
    """Deploy a Juju bundle: applications of a local charm (a path in the bundle, or the
    charm ``charm`` names) from ``charm`` when given, else from that path (relative to the
    bundle); the others as server applications; then its relations. Returns the relation ids."""
    data = yaml.safe_load(bundle.read_text()) or {}
    applications: dict[str, Json] = data.get("applications") or data.get("services") or {}
    planned = [_planned(app, spec, bundle, charm) for app, spec in applications.items()]
    planned.sort(key=lambda plan: plan[1] is not None)  # servers first
    for app, local, name, options, units, channel in planned:
        if local is not None:
            deploy(local, app, options, units, model_name)
        else:
            deploy_server(name or "", app, options, units, model_name, channel=channel)
    return [relate(_first(pair), _second(pair), model_name) for pair in data.get("relations") or []]


def _planned(
    app: str, spec: Json, bundle: Path, charm: Path | None
) -> tuple[str, Path | None, str | None, Json, int, str]:
    """What deploys bundle application ``app``: its local charm, else its server's name."""
    source = str(spec.get("charm", app))
    local = None
    if source.startswith((".", "/")) or (
        charm is not None and source.removeprefix("ch:") == charm_name(charm)
    ):
        local = charm or (bundle.parent / source)
    name = None if local else server_name(source)
    if local is None and name is None:
        raise SystemExit(f"{app}: no server stands in for charm {source!r}, and --charm does not name it")
    options, units = dict(spec.get("options") or {}), int(spec.get("num_units", 1))
    return app, local, name, options, units, str(spec.get("channel") or "")


def _first(pair: list[Any]) -> str:
    return str(pair[0][0] if isinstance(pair[0], list) else pair[0])


def _second(pair: list[Any]) -> str:
    return str(pair[1][0] if isinstance(pair[1], list) else pair[1])
