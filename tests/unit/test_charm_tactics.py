"""The layer's charm-build tactic: one script per action of the merged actions.yaml, from
actions/action.template, except where a layer ships its own (tools/charm_tactics.py).

Real charm-build runs on two small layers: a base declaring the tactic (as layer.yaml does)
and a charm including it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from charmtools.build.errors import BuildError
from conftest import ROOT

from tools.charm_tactics import action_names

TEMPLATE = "#!/usr/bin/env python3\nprint('template')\n"
OWN_SCRIPT = "#!/bin/sh\necho charm's own\n"


def write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


def metadata(name: str) -> str:
    fields = {"name": name, "summary": "s", "description": "d", "series": ["noble"], "tags": ["misc"]}
    return yaml.safe_dump({**fields, "maintainers": ["m <m@example.org>"]})


def make_layers(tmp_path: Path, template: str = TEMPLATE) -> tuple[Path, Path]:
    """A base layer (like wsgi-app: actions a and b, the template, the tactic) and a charm
    including it that adds action c and ships its own script for b. Returns (stage, charm)."""
    stage, charm = tmp_path / "layers", tmp_path / "charm"
    base = stage / "base"
    write(
        base / "layer.yaml",
        yaml.safe_dump(
            {
                "tactics": [
                    "tools.charm_tactics.ActionsFromTemplate",
                    "tools.charm_tactics.SecretHooksFromTemplate",
                ],
                "exclude": ["tools"],
            }
        ),
    )
    (base / "tools").mkdir(parents=True)
    (base / "tools" / "charm_tactics.py").symlink_to(ROOT / "tools" / "charm_tactics.py")
    write(base / "hooks" / "hook.template", "#!/bin/sh\n", 0o755)
    write(base / "metadata.yaml", metadata("base"))
    write(base / "copyright", "c")
    write(base / "README.md", "r")
    write(base / "actions.yaml", yaml.safe_dump({"a": {"description": "A"}, "b": {"description": "B"}}))
    write(base / "actions" / "action.template", template, 0o755)
    write(
        charm / "layer.yaml", yaml.safe_dump({"includes": ["layer:base"], "repo": "https://example.org/top"})
    )
    write(charm / "metadata.yaml", metadata("top"))
    write(charm / "actions.yaml", yaml.safe_dump({"c": {"description": "C"}, "b": {"description": "B2"}}))
    write(charm / "actions" / "b", OWN_SCRIPT, 0o755)
    return stage, charm


def charm_build(stage: Path, charm: Path, output: Path) -> Path:
    env = dict(os.environ, CHARM_LAYERS_DIR=str(stage), CHARM_HIDE_METRICS="1")
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    subprocess.run(
        ["charm-build", "--force", "--log-level", "WARNING", "--build-dir", str(output), str(charm)],
        check=True,
        capture_output=True,
        env=env,
        cwd=output.parent,
    )
    return output / "top"


def test_every_action_of_every_layer_gets_the_template_unless_a_layer_ships_its_own(tmp_path):
    stage, charm = make_layers(tmp_path)
    built = charm_build(stage, charm, tmp_path / "out")

    actions = built / "actions"
    assert yaml.safe_load((built / "actions.yaml").read_text()) == {
        "a": {"description": "A"},
        "b": {"description": "B2"},
        "c": {"description": "C"},
    }
    for name in ("a", "c"):  # the base's and the including charm's
        assert (actions / name).read_text() == TEMPLATE, name
        assert (actions / name).stat().st_mode & 0o777 == 0o755, name
    assert (actions / "b").read_text() == OWN_SCRIPT
    assert not (built / "tools").exists()
    manifest = yaml.safe_load((built / ".build.manifest").read_text())["signatures"]
    assert {"actions/a", "actions/b", "actions/c"} <= set(manifest)


def test_a_rebuild_writes_the_new_template_and_drops_removed_actions(tmp_path):
    stage, charm = make_layers(tmp_path)
    charm_build(stage, charm, tmp_path / "out")
    new = "#!/usr/bin/env python3\nprint('template 2')\n"
    write(stage / "base" / "actions" / "action.template", new, 0o755)
    write(charm / "actions.yaml", yaml.safe_dump({"b": {"description": "B2"}}))

    built = charm_build(stage, charm, tmp_path / "out")

    assert (built / "actions" / "a").read_text() == new
    assert (built / "actions" / "b").read_text() == OWN_SCRIPT
    assert not (built / "actions" / "c").exists()


def test_a_script_copied_before_the_actions_are_merged_is_kept(tmp_path):
    """A middle layer without actions.yaml ships b: charm-build copies it before it merges
    the top layer's actions.yaml (files are planned in layer order), so the tactic finds it
    in place and leaves it; the template is the top layer's."""
    stage, charm = make_layers(tmp_path)
    base, middle = stage / "base", stage / "middle"
    (base / "actions.yaml").unlink()
    (base / "actions" / "action.template").unlink()
    write(middle / "layer.yaml", yaml.safe_dump({"includes": ["layer:base"]}))
    write(middle / "actions" / "b", OWN_SCRIPT, 0o755)
    (charm / "actions" / "b").unlink()
    write(
        charm / "layer.yaml", yaml.safe_dump({"includes": ["layer:middle"], "repo": "https://example.org/t"})
    )
    top_template = "#!/bin/sh\necho top template\n"
    write(charm / "actions" / "action.template", top_template, 0o755)

    built = charm_build(stage, charm, tmp_path / "out")

    assert (built / "actions" / "b").read_text() == OWN_SCRIPT
    assert (built / "actions" / "c").read_text() == top_template


def test_a_charm_that_ignores_the_layers_actions_gets_only_its_own(tmp_path):
    stage, charm = make_layers(tmp_path)
    config = {"includes": ["layer:base"], "repo": "https://example.org/t", "ignore": ["actions.yaml"]}
    write(charm / "layer.yaml", yaml.safe_dump(config))

    built = charm_build(stage, charm, tmp_path / "out")

    assert set(yaml.safe_load((built / "actions.yaml").read_text())) == {"b", "c"}
    assert sorted(p.name for p in (built / "actions").iterdir()) == ["action.template", "b", "c"]
    assert (built / "actions" / "c").read_text() == TEMPLATE


def test_a_name_juju_refuses_stops_the_build():
    assert action_names({"b": {}, "a-b": {}}) == ["a-b", "b"]
    for bad in ("../hooks/install", "Upper", "a/b", "-a", "a-"):
        with pytest.raises(BuildError, match="not a Juju action name"):
            action_names({bad: {}})


def test_every_secret_hook_is_the_hook_template_unless_a_layer_ships_its_own(tmp_path):
    """charm-tools writes the standard and relation hooks only; the secret hooks come from
    the layer's tactic (tools/charm_tactics.SecretHooksFromTemplate)."""
    stage, charm = make_layers(tmp_path)
    write(charm / "hooks" / "secret-rotate", OWN_SCRIPT, 0o755)

    built = charm_build(stage, charm, tmp_path / "out")

    for name in ("secret-changed", "secret-expired", "secret-remove"):
        assert (built / "hooks" / name).read_text() == "#!/bin/sh\n", name
        assert (built / "hooks" / name).stat().st_mode & 0o777 == 0o755, name
    assert (built / "hooks" / "secret-rotate").read_text() == OWN_SCRIPT
    assert (built / "hooks" / "install").read_text() == "#!/bin/sh\n"
    manifest = yaml.safe_load((built / ".build.manifest").read_text())["signatures"]
    assert {"hooks/secret-changed", "hooks/secret-remove"} <= set(manifest)
