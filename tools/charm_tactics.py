"""charm-build tactics of the wsgi-app layer: every action script is one template, and
so are the secret hooks charm-tools does not know (:class:`SecretHooksFromTemplate`).

layer-basic copies ``hooks/hook.template`` to every hook name; charm-tools does nothing
of the kind for actions, so this layer declares this tactic (layer.yaml ``tactics:``).
It takes over ``actions.yaml``: charm-tools merges the file of every layer as usual, and
then ``actions/<name>`` is written from ``actions/action.template`` for each action of
the merged file. A layer that ships its own ``actions/<name>`` keeps it. This layer's
template runs this layer's actions only (another name fails with "unknown action"), so a
charm including the layer ships a script for each action of its own, or a template of
its own that runs them and hands the others to ``charms.layer.wsgi_app.actions.main``.

The template is the one of the highest layer that has both an ``actions.yaml`` and an
``actions/action.template``. charm-build imports this module from the layer's directory
(``tools`` is excluded from the built charm, as it needs charm-tools only).
"""

from __future__ import annotations

import os
import re
from typing import Any

from charmtools import utils
from charmtools.build.errors import BuildError
from charmtools.build.tactics import ActionsYAML, CopyTactic, ExcludeTactic, IgnoreTactic

TEMPLATE = "actions/action.template"
# Juju's action names: a script named otherwise would not run (or would land outside actions/)
ACTION_NAME = re.compile(r"[a-z](?:[a-z-]*[a-z])?")


def action_names(actions: dict[str, Any]) -> list[str]:
    """The actions of a merged actions.yaml, sorted; raises BuildError on a name Juju
    refuses (it would become a file name)."""
    bad = [name for name in actions if not ACTION_NAME.fullmatch(str(name))]
    if bad:
        raise BuildError(f"actions.yaml: not a Juju action name: {', '.join(map(repr, bad))}")
    return sorted(actions)


def write_new_script(path: Any, content: bytes) -> bool:
    """Write the executable ``path`` unless it exists (a layer's own script copied in this
    build stays); whether it was written."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o755)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "wb") as out:
        out.write(content)
    os.chmod(path, 0o755)  # whatever the umask
    return True


class ActionsFromTemplate(ActionsYAML):  # type: ignore[misc]
    """``actions.yaml`` merged as charm-tools does, plus one script per action from the
    template."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.layers = [self.layer]  # the layers with an actions.yaml, lowest first
        self.written: list[Any] = []  # the scripts this tactic wrote (path.Path)

    @classmethod
    def trigger(cls, entity: Any, target: Any, layer: Any, next_config: Any) -> bool:
        """actions.yaml, unless a layer ignores or excludes it (charm-build tries a layer's
        tactics before its own Ignore and Exclude tactics)."""
        args = (entity, target, layer, next_config)
        dropped = IgnoreTactic.trigger(*args) or ExcludeTactic.trigger(*args)
        return not dropped and bool(super().trigger(*args))

    def combine(self, existing: Any) -> ActionsFromTemplate:
        super().combine(existing)
        self.layers = [*getattr(existing, "layers", [existing.layer]), self.layer]
        return self

    def lint(self) -> bool:
        """charm-build lints every tactic before any of them writes: the previous build's
        scripts go now, so that in the call phase a script found in the target is one a
        layer copied in this build (the file tactics run in no fixed order)."""
        self.read()
        for name in action_names(self.data):
            (self.target.directory / "actions" / name).remove_p()
        return bool(super().lint())

    def __call__(self) -> dict[str, Any]:
        data: dict[str, Any] = super().__call__()
        template = self.template().bytes()
        directory = self.target.directory / "actions"
        directory.makedirs_p()
        for name in action_names(data):
            if write_new_script(directory / name, template):
                self.written.append(directory / name)
        return data

    def template(self) -> Any:
        """The template of the highest layer that has one; raises BuildError if none."""
        for layer in reversed(self.layers):
            candidate = layer.directory / TEMPLATE
            if candidate.isfile():
                return candidate
        raise BuildError(f"no layer with an actions.yaml provides {TEMPLATE}")

    def sign(self) -> dict[str, Any]:
        signatures: dict[str, Any] = super().sign()
        for script in self.written:
            relpath = script.relpath(self.target.directory)
            signatures[relpath] = (self.layer.url, "dynamic", utils.sign(script))
        return signatures

    def __str__(self) -> str:
        return f"{type(self).__name__}: actions.yaml and actions/<name>"


HOOK_TEMPLATE = "hooks/hook.template"
# the hooks of Juju secrets (3.0+), which charm-tools 3.0's StandardHooksBind does not write:
# without a hooks/<name> file Juju runs nothing for them
SECRET_HOOKS = ("secret-changed", "secret-expired", "secret-remove", "secret-rotate")


class SecretHooksFromTemplate(CopyTactic):  # type: ignore[misc]
    """``hooks/hook.template`` copied as usual, and to ``hooks/<name>`` for every secret hook
    (:data:`SECRET_HOOKS`), as charm-tools does for the standard hooks. A layer that ships
    its own ``hooks/<name>`` keeps it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.written: list[Any] = []  # the hooks this tactic wrote (path.Path)

    @classmethod
    def trigger(cls, entity: Any, target: Any, layer: Any, next_config: Any) -> bool:
        return bool(entity.relpath(layer.directory) == HOOK_TEMPLATE)

    def lint(self) -> bool:
        """The previous build's hooks go before any tactic writes (see ActionsFromTemplate.lint)."""
        for name in SECRET_HOOKS:
            (self.target.directory / "hooks" / name).remove_p()
        return bool(super().lint())

    def __call__(self) -> None:
        super().__call__()
        template = self.target_file.bytes()
        for name in SECRET_HOOKS:
            hook = self.target.directory / "hooks" / name
            if write_new_script(hook, template):
                self.written.append(hook)

    def sign(self) -> dict[str, Any]:
        signatures: dict[str, Any] = super().sign()
        for hook in self.written:
            signatures[hook.relpath(self.target.directory)] = (self.layer.url, "dynamic", utils.sign(hook))
        return signatures

    def __str__(self) -> str:
        return f"{type(self).__name__}: {HOOK_TEMPLATE} and hooks/<secret hook>"
