"""Leadership, read once per hook: whether this unit leads, and the leader settings.

Both are kept in charmhelpers' per-hook cache (a hook is one process). Juju guarantees an
``is-leader`` answer for 30 s only, so :func:`leader_set` asks again before it writes,
and refreshes the settings after.
"""

from __future__ import annotations

from charmhelpers.core import hookenv

LEADER_CACHE = "wsgi-app.is-leader"  # keys in charmhelpers' per-hook cache
SETTINGS_CACHE = "wsgi-app.leader-settings"


def is_leader() -> bool:
    """Whether this unit leads, asked once per hook (and again by :func:`leader_set`)."""
    if LEADER_CACHE not in hookenv.cache:
        hookenv.cache[LEADER_CACHE] = bool(hookenv.is_leader())
    return bool(hookenv.cache[LEADER_CACHE])


def leader_settings() -> dict[str, str]:
    """The leader settings, read once per hook; :func:`leader_set` keeps them current."""
    if SETTINGS_CACHE not in hookenv.cache:
        hookenv.cache[SETTINGS_CACHE] = dict(hookenv.leader_get() or {})
    return dict(hookenv.cache[SETTINGS_CACHE])


def leader_set(values: dict[str, str]) -> bool:
    """Write leader settings if this unit still leads (a long build may outlast the lease);
    False, and a log line, when it no longer does."""
    hookenv.cache.pop(LEADER_CACHE, None)
    if not is_leader():
        hookenv.log(f"not the leader any more: {', '.join(sorted(values))} left to the new leader")
        return False
    hookenv.leader_set(values)
    hookenv.cache.pop(SETTINGS_CACHE, None)
    return True
