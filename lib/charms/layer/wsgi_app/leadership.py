"""Leadership, read once per hook: whether this unit leads, and the leader settings.

Both are kept in charmhelpers' per-hook cache (a hook is one process; Juju holds the
lease while it runs); our own ``leader-set`` refreshes the settings.
"""

from __future__ import annotations

from charmhelpers.core import hookenv

LEADER_CACHE = "wsgi-app.is-leader"  # keys in charmhelpers' per-hook cache
SETTINGS_CACHE = "wsgi-app.leader-settings"


def is_leader() -> bool:
    """Whether this unit leads, asked once per hook (Juju holds the lease for the hook)."""
    if LEADER_CACHE not in hookenv.cache:
        hookenv.cache[LEADER_CACHE] = bool(hookenv.is_leader())
    return bool(hookenv.cache[LEADER_CACHE])


def leader_settings() -> dict[str, str]:
    """The leader settings, read once per hook; :func:`leader_set` keeps them current."""
    if SETTINGS_CACHE not in hookenv.cache:
        hookenv.cache[SETTINGS_CACHE] = dict(hookenv.leader_get() or {})
    return dict(hookenv.cache[SETTINGS_CACHE])


def leader_set(values: dict[str, str]) -> None:
    hookenv.leader_set(values)
    hookenv.cache.pop(SETTINGS_CACHE, None)
