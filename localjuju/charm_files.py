"""A built charm's files, read from its directory or its ``.charm`` archive."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import yaml


def read_charm_file(charm: Path, name: str) -> Any:
    """The YAML file ``name`` of the charm, parsed; ``None`` when the charm has none."""
    text = read_charm_text(charm, name)
    return None if text is None else yaml.safe_load(io.StringIO(text))


def charm_name(charm: Path) -> str:
    """The name in the charm's ``metadata.yaml`` ("" without one)."""
    return str((read_charm_file(charm, "metadata.yaml") or {}).get("name", ""))


def read_charm_text(charm: Path, name: str) -> str | None:
    """The text of the charm's file ``name``; ``None`` when the charm has none."""
    if charm.is_dir():
        path = charm / name
        return path.read_text() if path.exists() else None
    with zipfile.ZipFile(charm) as archive:
        if name not in archive.namelist():
            return None
        return archive.read(name).decode()
