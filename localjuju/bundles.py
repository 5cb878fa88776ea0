"""Deploying a Juju bundle: its local charm's applications, servers for the others, then
its relations."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .charm_files import charm_name
from .deploying import deploy, deploy_server, server_name
from .model import DEFAULT_MODEL, Json
from .relating import relate


@dataclass(frozen=True)
class Planned:
    """How one application of a bundle is deployed: from a local charm, else as a server."""

    app: str
    charm: Path | None
    server: str
    options: Json
    units: int
    channel: str


def deploy_bundle(bundle: Path, charm: Path | None = None, model_name: str = DEFAULT_MODEL) -> list[str]:
    """Deploy a Juju bundle (servers first, then the charm's applications, then the
    relations); see :func:`plan` for which is which. Returns the relation ids."""
    data = yaml.safe_load(bundle.read_text()) or {}
    applications: dict[str, Json] = data.get("applications") or data.get("services") or {}
    planned = sorted((plan(app, spec, bundle, charm) for app, spec in applications.items()), key=_charm_last)
    for app in planned:
        if app.charm is not None:
            deploy(app.charm, app.app, app.options, app.units, model_name)
        else:
            deploy_server(app.server, app.app, app.options, app.units, model_name, channel=app.channel)
    return [relate(_first(pair), _second(pair), model_name) for pair in data.get("relations") or []]


def plan(app: str, spec: Json, bundle: Path, charm: Path | None) -> Planned:
    """How bundle application ``app`` (``spec``) is deployed: a local charm (a path in the
    bundle, or the name of ``charm``) from ``charm`` when given, else from that path
    (relative to the bundle); any other charm as its server. SystemExit when no server
    stands in for it."""
    source = str(spec.get("charm", app))
    local = None
    if source.startswith((".", "/")) or (
        charm is not None and source.removeprefix("ch:") == charm_name(charm)
    ):
        local = charm or (bundle.parent / source)
    server = "" if local else server_name(source)
    if local is None and not server:
        raise SystemExit(f"{app}: no server stands in for charm {source!r}, and --charm does not name it")
    options, units = dict(spec.get("options") or {}), int(spec.get("num_units", 1))
    return Planned(app, local, server or "", options, units, str(spec.get("channel") or ""))


def _charm_last(planned: Planned) -> bool:
    return planned.charm is not None


def _first(pair: list[Any]) -> str:
    return str(pair[0][0] if isinstance(pair[0], list) else pair[0])


def _second(pair: list[Any]) -> str:
    return str(pair[1][0] if isinstance(pair[1], list) else pair[1])
