"""SECRET_KEY's home: an application secret the leader owns (label ``wsgi-app-secret-key``).

The leader creates it once and shares its URI and revision in leader settings; every
unit reads the revision announced there (the leader settings change runs a hook on each
unit) and keeps what it read (:mod:`.juju_secrets`' cache), so an idle hook calls no hook
tool. ``rotate-secret-key`` adds a revision and announces it; once no unit tracks the
old one Juju runs ``secret-remove`` on the leader, which removes it.

A unit upgraded from the charm that kept SECRET_KEY in leader settings keeps its key: the
leader moves that value into the secret unchanged and clears the old key. On a Juju
without secrets (2.9) SECRET_KEY stays in leader settings, as before.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from charmhelpers.core import hookenv

from . import juju_secrets
from .errors import DeployError
from .juju_secrets import SecretError
from .leadership import leader_set
from .state import SECRET_KEY_FIELD, SECRET_KEY_REVISION_FIELD, SECRET_KEY_URI_FIELD

LABEL = "wsgi-app-secret-key"
CONTENT_KEY = "secret-key"
DESCRIPTION = "the application's SECRET_KEY (wsgi-app)"
ANNOUNCING_HOOKS = frozenset({"install", "leader-elected", "upgrade-charm"})  # where 2.9 is logged


def new_key() -> str:
    return secrets.token_urlsafe(50)


def ensure(settings: Mapping[str, str], hook: str) -> None:
    """The leader makes sure SECRET_KEY exists and is shared: in the secret (created, or
    moved there from leader settings), or in leader settings on a Juju without secrets.
    Cheap once done: the leader settings say so."""
    if settings.get(SECRET_KEY_URI_FIELD):
        return
    if not juju_secrets.available():
        _legacy(settings, hook)
        return
    value = settings.get(SECRET_KEY_FIELD) or new_key()
    try:
        uri, revision = _create(value)
    except SecretError as error:  # keep what serves; the next hook tries again
        hookenv.log(f"SECRET_KEY: cannot create its secret: {error}", hookenv.ERROR)
        if not settings.get(SECRET_KEY_FIELD):
            _legacy(settings, hook)
        return
    juju_secrets.remember(uri, str(revision), {CONTENT_KEY: value})
    fields = {SECRET_KEY_URI_FIELD: uri, SECRET_KEY_REVISION_FIELD: str(revision), SECRET_KEY_FIELD: ""}
    if leader_set(fields):
        done = (
            "moved SECRET_KEY from leader settings"
            if settings.get(SECRET_KEY_FIELD)
            else "generated SECRET_KEY"
        )
        hookenv.log(f"{done} into the application secret {uri} (revision {revision})")


def _create(value: str) -> tuple[str, int]:
    """The secret holding ``value`` and its revision: one a hook left unannounced (found by
    its label; updated unless it holds ``value`` already, where Juju would make no
    revision), else a new one."""
    found = juju_secrets.owned(label=LABEL)
    if found is None:
        return juju_secrets.add({CONTENT_KEY: value}, LABEL, DESCRIPTION), 1
    uri, latest = found
    if juju_secrets.get_latest(uri).get(CONTENT_KEY) == value:
        return uri, latest
    juju_secrets.update(uri, {CONTENT_KEY: value})
    return uri, latest + 1


def _legacy(settings: Mapping[str, str], hook: str) -> None:
    """SECRET_KEY in leader settings: this Juju has no secrets."""
    if settings.get(SECRET_KEY_FIELD):
        if hook in ANNOUNCING_HOOKS:
            hookenv.log("this Juju has no secrets (no secret-add): SECRET_KEY stays in leader settings")
        return
    if leader_set({SECRET_KEY_FIELD: new_key()}):
        hookenv.log("generated SECRET_KEY and shared it through leader settings (this Juju has no secrets)")


def current(settings: Mapping[str, str], fresh: bool = False) -> str | None:
    """SECRET_KEY as the leader announced it: read from its secret once per revision
    (``fresh``: read again, as in ``secret-changed``), else the leader settings' own; None
    until the leader has shared one. Every unit, the leader too, reads the latest revision:
    from Juju 3.1.7 an owner tracks a revision as a consumer does (a unit elected after a
    rotation it had not read still tracks the old one). A secret that cannot be read is
    logged and the key last read kept."""
    uri, revision = settings.get(SECRET_KEY_URI_FIELD, ""), settings.get(SECRET_KEY_REVISION_FIELD, "")
    if not uri:
        return settings.get(SECRET_KEY_FIELD) or None
    try:
        return juju_secrets.read(uri, revision, fresh=fresh).get(CONTENT_KEY) or None
    except SecretError as error:
        hookenv.log(f"SECRET_KEY: cannot read revision {revision} of {uri}: {error}", hookenv.ERROR)
        return (juju_secrets.cached(uri, None) or {}).get(CONTENT_KEY) or None


def rotate(settings: Mapping[str, str]) -> None:
    """A new SECRET_KEY for every unit: a new revision of the secret, announced (or a new
    value in leader settings on a Juju without secrets). Raises DeployError."""
    uri = settings.get(SECRET_KEY_URI_FIELD, "")
    value = new_key()
    if not uri:
        if not leader_set({SECRET_KEY_FIELD: value}):
            raise DeployError("only the leader can rotate SECRET_KEY")
        return
    if not hookenv.is_leader():
        raise DeployError("only the leader can rotate SECRET_KEY")
    # the revision this makes is the latest before plus one: Juju commits it when the hook
    # ends, and secret-info-get does not count it before
    found = juju_secrets.owned(uri=uri)
    revision = (found[1] if found else int(settings.get(SECRET_KEY_REVISION_FIELD) or 1)) + 1
    try:
        juju_secrets.update(uri, {CONTENT_KEY: value})
    except SecretError as error:
        raise DeployError(f"SECRET_KEY: cannot add a revision: {error}") from None
    juju_secrets.remember(uri, str(revision), {CONTENT_KEY: value})
    if not leader_set({SECRET_KEY_REVISION_FIELD: str(revision)}):
        raise DeployError("only the leader can rotate SECRET_KEY")


def remove_untracked(settings: Mapping[str, str], secret_id: str, revision: str) -> None:
    """``secret-remove`` on the leader: no unit tracks ``revision`` of the secret any more;
    remove it unless it is the one announced (SECRET_KEY's revisions only)."""
    uri = settings.get(SECRET_KEY_URI_FIELD, "")
    if not juju_secrets.same(uri, secret_id) or not revision.isdigit():
        return
    if revision == settings.get(SECRET_KEY_REVISION_FIELD):
        return
    try:
        juju_secrets.remove_revision(uri, int(revision))
    except SecretError as error:
        hookenv.log(f"SECRET_KEY: cannot remove revision {revision}: {error}", hookenv.WARNING)
        return
    hookenv.log(f"removed revision {revision} of SECRET_KEY's secret (no unit uses it)")
