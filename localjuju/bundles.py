"""Deploying a Juju bundle: its local charm's applications (on the bases the bundle names),
servers for the others, then its relations."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from . import bases
from .charm_files import charm_name
from .deploying import deploy, deploy_server, server_name
from .model import DEFAULT_MODEL, Json
from .relating import relate
from .settling import say


@dataclass(frozen=True)
class Planned:
    """How one application of a bundle is deployed: from a local charm, else as a server."""

    app: str
    charm: Path | None
    server: str
    options: Json
    units: int
    channel: str
    base: bases.Base = bases.DEFAULT  # a charm's machines' (servers run on the host)
    declared: str = ""  # the base the bundle names for a charm, when it is played by another


def deploy_bundle(bundle: Path, charm: Path | None = None, model_name: str = DEFAULT_MODEL) -> list[str]:
    """Deploy a Juju bundle (servers first, then the charm's applications, then the
    relations); see :func:`plan` for which is which. Returns the relation ids."""
    data = yaml.safe_load(bundle.read_text()) or {}
    applications: dict[str, Json] = data.get("applications") or data.get("services") or {}
    default_base = str(data.get("default-base") or "")
    planned = sorted(
        (plan(app, spec, bundle, charm, default_base) for app, spec in applications.items()), key=_charm_last
    )
    for app in planned:
        if app.declared:
            say(f"{app.app}: base {app.declared} is played by {app.base.describe()}")
        if app.charm is not None:
            deploy(app.charm, app.app, app.options, app.units, model_name, base=app.base)
        else:
            deploy_server(app.server, app.app, app.options, app.units, model_name, channel=app.channel)
    return [relate(_first(pair), _second(pair), model_name) for pair in data.get("relations") or []]


def plan(app: str, spec: Json, bundle: Path, charm: Path | None, default_base: str = "") -> Planned:
    """How bundle application ``app`` (``spec``) is deployed: a local charm (a path in the
    bundle, or the name of ``charm``) from ``charm`` when given, else from that path
    (relative to the bundle), on its ``base`` (else the bundle's ``default_base``, else
    the default; :func:`bases.played`); any other charm as its server. SystemExit when no
    server stands in for it, or no base plays the one it names."""
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
    planned = Planned(app, local, server or "", options, units, str(spec.get("channel") or ""))
    declared = str(spec.get("base") or default_base)
    if local is None or not declared:
        return planned
    try:
        base = bases.played(declared)
    except bases.BaseError as error:
        raise SystemExit(f"{app}: {error}") from None
    return replace(planned, base=base, declared="" if declared == base.name else declared)


def _charm_last(planned: Planned) -> bool:
    return planned.charm is not None


def _first(pair: list[Any]) -> str:
    return str(pair[0][0] if isinstance(pair[0], list) else pair[0])


def _second(pair: list[Any]) -> str:
    return str(pair[1][0] if isinstance(pair[1], list) else pair[1])
