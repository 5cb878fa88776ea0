"""Layer options, read from the built charm's ``layer.yaml`` (as layer-basic's ``charms.layer`` does)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def options(layer_name: str | None = None) -> dict[str, Any]:
    """The options set for ``layer_name`` (all layers' options when ``None``)."""
    import yaml

    from charms.layer.basic import charm_dir

    data = yaml.safe_load(Path(charm_dir(), "layer.yaml").read_text()) or {}
    all_options = data.get("options") or {}
    if layer_name is None:
        return all_options
    return dict(all_options.get(layer_name) or {})
