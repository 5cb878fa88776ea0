"""``relation-ids`` answered from one ``goal-state`` call for the endpoints that have no relation.

At every hook start charms.reactive's Endpoint start-up asks ``relation-ids`` once per endpoint
of the charm (eight calls for this one, each a hook-tool process). One ``goal-state`` call names
every endpoint that has a relation with another application: an endpoint it does not name has
none, so its answer (``[]``) is put in charmhelpers' cache of ``relation_ids`` and that call is
not made. Peer endpoints (which goal-state leaves out), the hook's own relation (which may
already be gone from goal-state in its ``-broken`` hook) and every endpoint that had a joined
relation in an earlier hook (goal-state leaves out a relation this application offers to
another model, and a non-peer relation to itself) are still asked, as is every endpoint
when goal-state cannot be read.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from typing import Any


def unrelated_endpoints(
    goal: dict[str, Any],
    metadata: dict[str, Any],
    hook_relation: str | None,
    joined_before: Callable[[str], bool] = lambda endpoint: False,
) -> list[str]:
    """The charm's non-peer endpoints that ``goal`` (goal-state's answer) shows no relation
    on, except ``hook_relation`` (the hook's own endpoint) and those ``joined_before`` says
    had a joined relation when the last hook ended."""
    related = set(goal.get("relations") or {})
    return sorted(
        name
        for role in ("provides", "requires")
        for name in metadata.get(role) or {}
        if name not in related and name != hook_relation and not joined_before(name)
    )


def _joined_before(endpoint: str) -> bool:
    """charms.reactive's ``endpoint.<name>.joined`` flag, as the last hook left it."""
    from charms.reactive.flags import is_flag_set

    return bool(is_flag_set(f"endpoint.{endpoint}.joined"))


def cache_unrelated_endpoints() -> None:
    """Store ``relation_ids(endpoint) == []`` in charmhelpers' cache for every endpoint that
    goal-state shows without a relation (one hook-tool call instead of one per endpoint)."""
    from charmhelpers.core import hookenv

    relation_ids = getattr(hookenv.relation_ids, "_wrapped", None)  # charmhelpers' @cached
    if relation_ids is None:
        return
    try:
        goal = hookenv.goal_state()
    except (subprocess.CalledProcessError, NotImplementedError, ValueError):
        return  # a Juju without goal-state: every endpoint is asked
    for endpoint in unrelated_endpoints(goal, hookenv.metadata(), hookenv.relation_type(), _joined_before):
        # the key charmhelpers' @cached gives relation_ids(endpoint)
        hookenv.cache[json.dumps((relation_ids, (endpoint,), {}), sort_keys=True, default=str)] = []
