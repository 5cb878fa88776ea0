"""charm-build really builds the layer; the built charm has what Juju needs."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

from tools import build_charm


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("build")
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "build_charm.py"),
            "--output",
            str(output),
            "--pack",
            str(output / "wsgi-app.charm"),
        ],
        check=True,
        capture_output=True,
    )
    return output


def test_every_hook_runs_the_bootstrap(built):
    hooks = built / "wsgi-app" / "hooks"
    metadata = yaml.safe_load((built / "wsgi-app" / "metadata.yaml").read_text())
    expected = {
        "install",
        "config-changed",
        "start",
        "stop",
        "upgrade-charm",
        "update-status",
        "leader-elected",
        "leader-settings-changed",
        # charm-tools does not write these: the layer's tactic does (tools/charm_tactics.py)
        "secret-changed",
        "secret-expired",
        "secret-remove",
        "secret-rotate",
    }
    for endpoint in [*metadata["provides"], *metadata["requires"], *metadata["peers"]]:
        expected |= {f"{endpoint}-relation-{e}" for e in ("joined", "changed", "departed", "broken")}
    for name in expected:
        hook = hooks / name
        assert hook.exists(), name
        assert hook.stat().st_mode & 0o111, f"{name} is not executable"
        assert "basic.bootstrap_charm_deps()" in hook.read_text()


def test_every_action_is_the_template(built):
    """charm-build writes the scripts (the layer's tactic, tools/charm_tactics.py): the
    layer ships only the template."""
    charm = built / "wsgi-app"
    template = (ROOT / "actions" / "action.template").read_bytes()
    actions = yaml.safe_load((charm / "actions.yaml").read_text())
    assert sorted(p.name for p in (ROOT / "actions").iterdir()) == ["action.template"]
    assert {"logs", "redeploy", "rollback", "rotate-secret-key", "show-settings"} <= set(actions)
    for name in actions:
        script = charm / "actions" / name
        assert script.read_bytes() == template, name
        assert script.stat().st_mode & 0o111, f"{name} is not executable"


def test_metadata_and_config_are_the_layers(built):
    metadata = yaml.safe_load((built / "wsgi-app" / "metadata.yaml").read_text())
    assert metadata["provides"]["website"]["interface"] == "http"
    assert {k: v["interface"] for k, v in metadata["requires"].items()} == {
        "db": "pgsql",
        "database": "postgresql_client",
        "cache": "memcache",
        "search": "elasticsearch",
        "s3": "s3",
        "redis": "redis",
        "amqp": "rabbitmq",
    }
    assert all(v.get("optional") for v in metadata["requires"].values())
    assert metadata["peers"]
    config = yaml.safe_load((built / "wsgi-app" / "config.yaml").read_text())["options"]
    assert {"app_repo", "app_ref", "wsgi_app", "port", "workers", "environment"} <= set(config)


def test_wheelhouse_holds_the_charm_libraries(built):
    names = {
        p.name.split("-")[0].lower().replace("_", ".") for p in (built / "wsgi-app" / "wheelhouse").iterdir()
    }
    assert {"charms.reactive", "charmhelpers", "jinja2", "markupsafe"} <= names
    assert not any(name.startswith("charms.templating") for name in names)  # render.py needs no hook tool


def test_wheelhouse_holds_only_pure_python_wheels(built):
    """Every archive installs on every base's Python without a compiler or the network."""
    names = [p.name for p in (built / "wsgi-app" / "wheelhouse").iterdir() if not p.name.startswith(".")]
    assert names
    assert [n for n in names if not n.endswith(("-py3-none-any.whl", "-py2.py3-none-any.whl"))] == []
    assert build_charm.impure(names) == []
    # the two packages that ship C extensions on the registry came as their pure builds
    assert {n.split("-")[0].lower() for n in names} >= {"pyyaml", "markupsafe"}


@pytest.mark.parametrize(
    ("name", "pure"),
    [
        ("six-1.17.0-py2.py3-none-any.whl", True),
        ("pyyaml-6.0.4-py3-none-any.whl", True),
        ("pyyaml-6.0.4-cp311-cp311-manylinux2014_x86_64.whl", False),
        ("markupsafe-2.0.1-cp311-cp311-linux_x86_64.whl", False),
        ("MarkupSafe-2.0.1.tar.gz", False),
        ("foo-1.0-py311-none-any.whl", False),
        ("foo-1.0-py3-abi3-any.whl", False),
        (".bootstrapped", True),
    ],
)
def test_only_pure_wheels_pass_the_check(name, pure):
    assert (build_charm.impure([name]) == []) is pure


def test_the_wheel_cache_is_keyed_by_the_wheelhouse_inputs(tmp_path):
    inputs = [tmp_path / name for name in build_charm.INPUTS]
    for path in inputs:
        path.write_text("charmhelpers>=0.20\n")
    first = build_charm.inputs_digest(inputs)
    assert build_charm.inputs_digest(inputs) == first
    (tmp_path / "wheelhouse-constraints.txt").write_text("charmhelpers<1\n")
    assert build_charm.inputs_digest(inputs) != first


def test_a_charm_layers_own_wheelhouse_joins_the_inputs(tmp_path):
    assert build_charm.wheelhouse_inputs() == [build_charm.ROOT / name for name in build_charm.INPUTS]
    assert build_charm.wheelhouse_inputs(tmp_path) == build_charm.wheelhouse_inputs()
    (tmp_path / "wheelhouse.txt").write_text("six\n")
    inputs = build_charm.wheelhouse_inputs(tmp_path)
    assert inputs[-1] == tmp_path / "wheelhouse.txt"
    assert build_charm.requirements(inputs)[-2:] == ("-r", str(tmp_path / "wheelhouse.txt"))
    assert build_charm.inputs_digest(inputs) != build_charm.inputs_digest(build_charm.wheelhouse_inputs())


def test_charm_contents_exclude_development_files(built):
    charm = built / "wsgi-app"
    for excluded in ("tests", "localjuju", "tools", "Makefile", ".venv", "build"):
        assert not (charm / excluded).exists(), excluded
    assert (charm / "files" / "demo" / "demo.py").exists()
    assert (charm / "actions" / "rollback").exists()


def test_packed_charm_has_a_manifest(built):
    with zipfile.ZipFile(built / "wsgi-app.charm") as charm:
        names = set(charm.namelist())
        assert {"manifest.yaml", "metadata.yaml", "hooks/install", "reactive/wsgi_app.py"} <= names
        manifest = yaml.safe_load(charm.read("manifest.yaml"))
        assert manifest["bases"]
        install = charm.getinfo("hooks/install")
        assert (install.external_attr >> 16) & 0o111, "hooks must stay executable in the zip"


def test_charm_proof_reports_no_errors(built):
    proof = Path(sys.executable).parent / "charm-proof"
    result = subprocess.run([str(proof), str(built / "wsgi-app")], capture_output=True, text=True)
    lines = (result.stdout + result.stderr).splitlines()
    assert not [line for line in lines if line.startswith("E:")], lines


def test_pkg_resources_is_only_imported_when_more_than_entry_points_is_asked(monkeypatch) -> None:
    """charms.reactive needs iter_entry_points alone; the real module costs ~90 ms a hook."""
    from charms.layer import basic

    monkeypatch.delitem(sys.modules, "pkg_resources", raising=False)
    basic.lazy_pkg_resources()
    shim = sys.modules["pkg_resources"]
    found = list(shim.iter_entry_points("console_scripts", "pytest"))
    assert [entry.name for entry in found] == ["pytest"] and callable(found[0].load())
    from pkg_resources import iter_entry_points  # noqa: F401 - as charms.reactive does

    assert not hasattr(shim, "__path__")
    assert sys.modules["pkg_resources"] is shim  # nothing else was asked yet
    assert shim.get_provider is not None  # another name: the real module takes over
    assert sys.modules["pkg_resources"] is not shim
