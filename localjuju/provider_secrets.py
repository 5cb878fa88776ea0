"""What a data_interfaces provider (the PostgreSQL charm on ``database``, the object
storage integrators) does with the fields its client lists in ``requested-secrets``: each
goes into a Juju secret of the provider's application, one per group (``user``: username,
password, uris, read-only-uris; ``tls``: tls, tls-ca; anything else ``extra``), labelled
``<endpoint>.<relation id>.<group>.secret``, granted to the client over that relation, and
named in the application data by ``secret-<group>``. A change of a group's fields is a new
revision of its secret (``secret-changed`` follows on the client units that read it).

Checked against data_interfaces v0 (``Data.SECRET_LABEL_MAP``, ``_generate_secret_label``,
``ProviderData._load_secrets_from_databag``); see FIDELITY.md.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .agent import Agent
    from .model import Json

GROUPS = {
    "username": "user",
    "password": "user",
    "uris": "user",
    "read-only-uris": "user",
    "tls": "tls",
    "tls-ca": "tls",
}


def requested(request: Json) -> list[str]:
    """The fields the client asked to get as secrets (``requested-secrets``, a JSON list)."""
    try:
        fields = json.loads(str(request.get("requested-secrets") or "[]"))
    except ValueError:
        return []
    return [str(field) for field in fields] if isinstance(fields, list) else []


def hide(
    agent: Agent, app: str, client_app: str, rid: str, endpoint: str, data: Json, fields: list[str]
) -> Json:
    """``data`` with ``fields`` moved into the relation's secrets, one per group (made once,
    a new revision when their values change), each named by ``secret-<group>``."""
    groups: dict[str, dict[str, str]] = {}
    for field in fields:
        if data.get(field):
            groups.setdefault(GROUPS.get(field, "extra"), {})[field] = str(data[field])
    shown = {key: value for key, value in data.items() if key not in fields}
    record = agent.model.applications[app].setdefault("secrets", {})  # "<rid>/<group>" -> URI
    for group, content in sorted(groups.items()):
        uri = record.get(f"{rid}/{group}")
        if uri is None or uri not in agent.model.data.get("secrets", {}):
            label = f"{endpoint}.{rid}.{group}.secret"
            uri = record[f"{rid}/{group}"] = agent.add_secret(app, content, {client_app: rid}, label)
        else:
            agent.update_secret(uri, content)
        shown[f"secret-{group}"] = uri
    return shown
