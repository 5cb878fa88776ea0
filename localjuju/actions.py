"""Actions as Juju accepts them: only those the charm's ``actions.yaml`` defines, with
their parameters read as YAML values (``lines=10`` is the integer 10, as ``juju run``
reads it), checked against the action's JSON schema, and its defaults filled in.
Juju refuses the rest before any hook runs; so does localjuju.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml


class ActionRefused(Exception):
    """What ``juju run`` says (its ERROR line) when it refuses an action."""


def parse_value(text: str) -> Any:
    """A parameter's value as ``juju run key=value`` reads it (YAML; text when it is not)."""
    try:
        return yaml.safe_load(text) if text != "" else ""
    except yaml.YAMLError:
        return text


def checked_params(
    actions: Mapping[str, Any] | None, unit: str, name: str, params: Mapping[str, str]
) -> dict[str, Any]:
    """The parameters ``name`` runs with on ``unit``; :class:`ActionRefused` when Juju
    would refuse it (not in ``actions.yaml``, or parameters its schema rejects)."""
    if not actions or name not in actions:
        raise ActionRefused(f'action "{name}" not defined on unit "{unit}"')
    definition = actions[name] or {}
    properties = definition.get("params") or {}
    schema = {
        "type": "object",
        "properties": properties,
        "required": definition.get("required") or [],
        "additionalProperties": definition.get("additionalProperties", True),
    }
    from jsonschema import Draft4Validator  # ~60 ms: imported by the one verb that checks actions

    values = {key: parse_value(value) for key, value in params.items()}
    errors = sorted(Draft4Validator(schema).iter_errors(values), key=lambda error: list(error.path))
    if errors:
        where = ".".join(str(part) for part in errors[0].path) or "(root)"
        raise ActionRefused(f"validation failed: {where}: {errors[0].message}")
    for key, spec in properties.items():
        if key not in values and isinstance(spec, Mapping) and "default" in spec:
            values[key] = spec["default"]
    return values
