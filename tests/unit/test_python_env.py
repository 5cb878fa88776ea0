"""Planning a venv: its key, the install steps each kind of repository gets (whole
command lines), the pins that keep a locked set unchanged, and the order of a build."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from charms.layer.wsgi_app import python_env
from charms.layer.wsgi_app.commands import CommandFailed
from charms.layer.wsgi_app.lockfiles import Kind
from charms.layer.wsgi_app.python_env import Layout, VenvError

LOCK_APPS = Path(__file__).resolve().parents[1] / "e2e" / "lock_apps"
LAYOUT = Layout(
    venv=Path("/srv/a/venvs/.k.building"),
    workspace=Path("/srv/a/build/r1"),
    uv=Path("/srv/a/tools/uv-1/bin/uv"),
    poetry=("/srv/a/tools/poetry-1/bin/python", "-I", "-m", "poetry"),
    pins=Path("/srv/a/build/.r1.pins.txt"),
)
UV = str(LAYOUT.uv)
PY = "/srv/a/venvs/.k.building/bin/python"
INSTALL = (UV, "pip", "install", "--quiet", "--python", PY)
EXTRAS = (*INSTALL, "--constraint", "/srv/a/build/.r1.pins.txt", "gunicorn>=27,<28")
SYNC = (
    UV,
    "sync",
    "--quiet",
    "--frozen",
    "--no-default-groups",
    "--no-editable",
    "--python",
    "/usr/bin/python3",
)
EXPORT = (*LAYOUT.poetry, "export", "--no-interaction", "--only", "main", "--format", "requirements.txt")
EXPORT = (*EXPORT, "--output", python_env.EXPORTED)


def write(directory: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory


def lock_app(name: str, tmp_path: Path) -> Path:
    files = {p.name: p.read_text() for p in (LOCK_APPS / name).iterdir() if p.is_file()}
    return write(tmp_path, files)


def test_venv_key_follows_requirements(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("flask==3.0\n")
    first = python_env.plan(tmp_path, "r1", (), "gthread")
    assert python_env.plan(tmp_path, "r2", (), "gthread").key == first.key  # reused across releases
    assert python_env.plan(tmp_path, "r1", ("sentry-sdk",), "gthread").key != first.key
    assert "gunicorn[gevent]" in python_env.plan(tmp_path, "r1", (), "gevent").extra
    uvicorn = python_env.plan(tmp_path, "r1", (), "uvicorn")
    assert uvicorn.extra == (python_env.GUNICORN, "uvicorn-worker>=0.4,<0.5") and uvicorn.key != first.key
    assert python_env.plan(tmp_path, "r1", (), "gthread", python="3.12.1").key != first.key
    assert python_env.plan(tmp_path, "r1", (), "gthread", python="3.11.9").key == first.key  # same series
    (tmp_path / "requirements.txt").write_text("flask==3.1\n")
    assert python_env.plan(tmp_path, "r1", (), "gthread").key != first.key


def test_pyproject_projects_get_a_venv_per_release(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname='x'\n")
    first = python_env.plan(tmp_path, "r1", (), "gthread")
    assert first.app.kind is Kind.PROJECT
    assert python_env.plan(tmp_path, "r2", (), "gthread").key != first.key


@pytest.mark.parametrize("app", ["uvapp", "poetryapp"])
def test_a_lock_file_venv_is_shared_until_the_lock_or_pyproject_changes(tmp_path: Path, app: str) -> None:
    lock_app(app, tmp_path)
    first = python_env.plan(tmp_path, "r1", (), "gthread")
    assert python_env.plan(tmp_path, "r2", (), "gthread").key == first.key
    lock = tmp_path / ("uv.lock" if app == "uvapp" else "poetry.lock")
    lock.write_text(lock.read_text() + "\n")
    assert python_env.plan(tmp_path, "r1", (), "gthread").key != first.key
    if app == "uvapp":  # uv's own settings file changes what uv builds from the same lock
        second = python_env.plan(tmp_path, "r1", (), "gthread").key
        (tmp_path / "uv.toml").write_text('no-binary-package = ["six"]\n')
        assert python_env.plan(tmp_path, "r1", (), "gthread").key != second


@pytest.mark.parametrize(
    ("app", "steps"),
    [
        (
            "uvapp",
            [
                (
                    "uv sync of uv.lock",
                    SYNC,
                ),
            ],
        ),
        (
            "poetryapp",
            [
                (
                    "poetry export of poetry.lock",
                    EXPORT,
                ),
                ("installing poetry.lock's packages", (*INSTALL, "--no-deps", "-r", python_env.EXPORTED)),
            ],
        ),
        (
            "hashedapp",
            [("installing requirements.txt", (*INSTALL, "--require-hashes", "-r", "requirements.txt"))],
        ),
    ],
)
def test_a_locked_set_is_installed_first_then_the_charms_packages_beside_it(
    tmp_path: Path, app: str, steps: list[tuple[str, tuple[str, ...]]]
) -> None:
    venv_plan = python_env.plan(lock_app(app, tmp_path), "r1", (), "gthread")
    assert venv_plan.app.kind.locked
    assert [(s.what, s.argv) for s in python_env.app_steps(venv_plan, LAYOUT)] == steps
    extras = python_env.extras_step(venv_plan, LAYOUT)
    assert extras.argv == EXTRAS


UV_EXPORT = (UV, "export", "--quiet", "--frozen", "--no-default-groups", "--no-editable")
UV_EXPORT = (*UV_EXPORT, "--format", "requirements.txt", "--output-file", python_env.EXPORTED)


@pytest.mark.parametrize(
    "index", [{"PIP_INDEX_URL": "https://mirror/simple"}, {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": "/w"}]
)
def test_a_uv_lock_on_a_mirrored_model_is_exported_and_installed_from_the_models_index(
    tmp_path: Path, index: dict[str, str], monkeypatch
) -> None:
    """uv sync --frozen fetches the lock's URLs whatever the index settings say: a model
    with a mirror or only local wheels gets the locked set, hashes checked, from its own."""
    monkeypatch.setattr(python_env, "write_atomically", lambda *_, **__: None)
    monkeypatch.setattr(python_env, "base_env", lambda: index)
    sandbox = FakeSandbox(freeze="six==1.16.0\n")
    python_env._build(python_env.plan(lock_app("uvapp", tmp_path), "r1", (), "gthread"), LAYOUT, sandbox)  # type: ignore[arg-type]
    assert [argv for _, argv in sandbox.ran[1:3]] == [
        UV_EXPORT,
        (*INSTALL, "--no-deps", "-r", python_env.EXPORTED),
    ]
    assert not python_env.mirrored(python_env.build_env(LAYOUT, Path("/c"), {"PIP_DEFAULT_TIMEOUT": "9"}))


def test_uv_exports_the_locked_main_set_with_hashes(tmp_path: Path) -> None:
    """The export command line, run by the uv the charm pins, on the committed uv.lock app."""
    uv = Path(sys.executable).parent / "uv"
    if not uv.exists():
        pytest.skip(f"no uv beside {sys.executable} (requirements-dev.txt installs it)")
    app = lock_app("uvapp", tmp_path)
    argv = (str(uv), *UV_EXPORT[1:])
    subprocess.run(argv, cwd=app, check=True, env={"UV_NO_CACHE": "1", "PATH": "/usr/bin:/bin"}, timeout=60)
    exported = (app / python_env.EXPORTED).read_text()
    assert re.findall(r"^([a-z0-9.-]+)==(\S+)", exported, re.MULTILINE) == [
        ("idna", "3.3"),
        ("six", "1.16.0"),
    ]
    assert exported.count("--hash=sha256:") == 4 and "iniconfig" not in exported  # no dev group


def test_a_packaged_poetry_project_is_installed_without_its_dependencies(tmp_path: Path) -> None:
    lock_app("poetryapp", tmp_path)
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("package-mode = false\n", "") + "[build-system]\n")
    steps = python_env.app_steps(python_env.plan(tmp_path, "r1", (), "gthread"), LAYOUT)
    assert steps[-1].argv == (*INSTALL, "--no-deps", ".")


@pytest.mark.parametrize(
    ("files", "own"),
    [
        ({"requirements.txt": "flask\n"}, ("-r", "requirements.txt")),
        ({"pyproject.toml": "[project]\nname='x'\n"}, (".",)),
        ({"app.py": ""}, ()),
    ],
)
def test_without_a_lock_the_charms_packages_resolve_with_the_apps(
    tmp_path: Path, files: dict[str, str], own: tuple[str, ...]
) -> None:
    venv_plan = python_env.plan(write(tmp_path, files), "r1", ("sentry-sdk",), "gevent")
    steps = python_env.app_steps(venv_plan, LAYOUT)
    extra = ("gunicorn>=27,<28", "gunicorn[gevent]", "sentry-sdk")
    assert [(s.what, s.argv) for s in steps] == [("installing requirements", (*INSTALL, *extra, *own))]


def test_a_python_the_machine_lacks_is_refused_before_anything_is_built(tmp_path: Path) -> None:
    write(tmp_path, {"pyproject.toml": "[project]\nrequires-python = '>=3.12'\n", "requirements.txt": "x\n"})
    with pytest.raises(VenvError) as raised:
        python_env.plan(tmp_path, "r1", (), "gthread", python="3.11.2")
    assert str(raised.value) == "app requires Python >=3.12 (pyproject.toml); this machine has 3.11.2"
    (tmp_path / "uv.lock").write_text("not toml = = \n")
    with pytest.raises(VenvError, match=r"uv\.lock is not valid TOML"):
        python_env.plan(tmp_path, "r1", (), "gthread", python="3.12.0")


def test_pins_keep_only_name_version_lines() -> None:
    output = (
        "Using Python 3.11.2 environment at: /srv/a/venvs/.k.building\n"
        "idna==3.3\nsix==1.16.0\n-e file:///srv/a/build/r1\nproj @ file:///x\n"
        "evil==1.0 --index-url http://example.invalid\n--extra-index-url=http://x\nzope.interface==6.0\n"
    )
    assert python_env.pins(output) == "idna==3.3\nsix==1.16.0\nzope.interface==6.0\n"


def test_installs_run_with_the_app_users_caches_and_the_models_index() -> None:
    env = python_env.build_env(LAYOUT, Path("/srv/a/.cache"), {"PIP_INDEX_URL": "https://mirror/simple"})
    assert env["UV_CACHE_DIR"] == "/srv/a/.cache/uv" and env["UV_DEFAULT_INDEX"] == "https://mirror/simple"
    assert env["UV_LINK_MODE"] == "copy" and env["UV_PROJECT_ENVIRONMENT"] == str(LAYOUT.venv)
    assert env["UV_PYTHON_DOWNLOADS"] == "never" and env["POETRY_KEYRING_ENABLED"] == "false"
    assert all(value.startswith("/srv/a/.cache") for key, value in env.items() if key.endswith("_DIR"))


@dataclass
class FakeSandbox:
    """Records each confined step; ``uv pip list`` answers ``freeze``."""

    freeze: str
    ran: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)

    def run(self, what: str, argv, *, cwd: Path, writable, env, timeout: float) -> str:
        assert cwd == LAYOUT.workspace and set(writable) == {LAYOUT.venv, Path("/srv/a/.cache"), cwd}
        self.ran.append((what, tuple(argv)))
        return self.freeze if argv[1:3] == ("pip", "list") else ""

    @property
    def paths(self):
        return type("P", (), {"cache": Path("/srv/a/.cache")})

    @property
    def account(self):
        return type("A", (), {"ids": (1000, 1000)})


def test_a_locked_build_constrains_the_extras_to_the_locked_set(tmp_path: Path, monkeypatch) -> None:
    written: dict[Path, str] = {}
    monkeypatch.setattr(
        python_env, "write_atomically", lambda path, text, *_, **__: written.update({path: text})
    )
    sandbox = FakeSandbox(freeze="six==1.16.0\nwarning: odd\n")
    venv_plan = python_env.plan(lock_app("hashedapp", tmp_path), "r1", (), "gthread")
    python_env._build(venv_plan, LAYOUT, sandbox)  # type: ignore[arg-type]
    assert [what for what, _ in sandbox.ran] == [
        "create the virtualenv",
        "installing requirements.txt",
        "listing the locked versions",
        "installing gunicorn>=27,<28 beside the locked versions",
    ]
    assert sandbox.ran[0][1] == (
        "/usr/bin/python3",
        "-I",
        "-m",
        "venv",
        str(LAYOUT.venv),
    )  # not the repo's venv.py
    assert sandbox.ran[2][1] == (UV, "pip", "list", "--format", "freeze", "--python", PY)  # git/URL ones too
    assert written == {LAYOUT.pins: "six==1.16.0\n"}
    assert sandbox.ran[-1][1] == EXTRAS


@pytest.mark.parametrize(
    ("output", "said"),
    [
        (
            "error: Failed to prepare distributions\n  Caused by: Failed to download `six==1.14.0`\n"
            "  Caused by: Hash mismatch for `six==1.14.0`\n\nExpected:\n  sha256:00\n\n"
            "Computed:\n  sha256:8f\n",
            "error: Failed to prepare distributions | Caused by: Hash mismatch for `six==1.14.0`",
        ),
        (
            "error: No solution found when resolving dependencies\n  cause: Because you require six>=1.17 and"
            " six==1.16.0, we can conclude that your requirements are unsatisfiable.\n",
            "error: No solution found when resolving dependencies | cause: Because you require six>=1.17 and"
            " six==1.16.0, we can conclude that your requirements are unsatisfiable.",
        ),
        ("pyproject.toml changed significantly since poetry.lock was last generated.\n", ""),
    ],
    ids=["hash-mismatch", "conflict", "not-uv"],
)
def test_a_failed_install_says_what_went_wrong(output: str, said: str) -> None:
    assert python_env.failure(output) == said


def test_a_snapshot_builds_version_string_does_not_crash_the_check(tmp_path: Path, monkeypatch) -> None:
    """Debian and Ubuntu snapshot builds report "3.12.0+": the check uses version_info."""
    import platform

    monkeypatch.setattr(platform, "python_version", lambda: "3.12.0+")
    machine = python_env.machine_python()
    assert machine.count(".") == 2 and all(part.isdigit() for part in machine.split("."))
    plan = python_env.plan(
        write(tmp_path, {"requirements.txt": "flask\n", ".python-version": machine}), "r1", (), "sync"
    )
    assert plan.app.kind is Kind.REQUIREMENTS


@dataclass
class BuildingSandbox(FakeSandbox):
    """A sandbox whose venv step makes ``bin/python`` and whose ``fail`` step raises."""

    root: Path = Path("/")
    fail: str = ""
    error: Exception = field(default_factory=lambda: CommandFailed("x failed (exit 1)", "error: broken"))

    def run(self, what: str, argv, *, cwd: Path, writable, env, timeout: float) -> str:
        self.ran.append((what, tuple(argv)))
        assert (cwd / "requirements.txt").is_file()  # the build copy of the release
        if what == "create the virtualenv":
            (Path(argv[-1]) / "bin").mkdir(parents=True)
            (Path(argv[-1]) / "bin" / "python").symlink_to("/usr/bin/python3")
            (Path(argv[-1]) / "bin" / "celery").write_text(f"#!{argv[-1]}/bin/python\n")  # an entry point
        if what == self.fail:
            raise self.error
        return self.freeze if argv[1:3] == ("pip", "list") else ""

    @property
    def paths(self):
        return type("P", (), {"cache": self.root / "cache", "tools": self.root / "tools"})

    @property
    def account(self):
        return type("A", (), {"ids": (os.getuid(), os.getgid())})


@pytest.mark.parametrize(
    ("fail", "error", "said"),
    [
        ("", None, ""),
        (
            "installing requirements.txt",
            CommandFailed("pip failed (exit 1)", "error: broken\n"),
            "error: broken",
        ),
        ("listing the locked versions", OSError(28, "No space left on device"), "No space left on device"),
    ],
    ids=["built", "install-fails", "oserror"],
)
def test_ensure_renames_a_complete_venv_and_a_failure_leaves_no_venv_and_no_copy(
    tmp_path: Path, monkeypatch, fail: str, error: Exception | None, said: str
) -> None:
    monkeypatch.setattr(python_env.build_tools, "ensure", lambda *args: (str(tmp_path / "uv"),))
    app, venvs, builds = (tmp_path / name for name in ("app", "venvs", "build"))
    for directory in (app, venvs, builds):
        directory.mkdir()
    venv_plan = python_env.plan(lock_app("hashedapp", app), "r1", (), "gthread")
    sandbox = BuildingSandbox(freeze="six==1.14.0\n", root=tmp_path, fail=fail)
    if error is not None:
        sandbox.error = error
    (venvs / venv_plan.key / "lib").mkdir(parents=True)  # what a failed removal left behind
    if not fail:
        venv = python_env.ensure(venv_plan, venvs, sandbox, app, builds / "r1")  # type: ignore[arg-type]
        assert venv == venvs / venv_plan.key and (venv / "bin" / "python").exists()
        assert venv.stat().st_uid == 0 and [p.name for p in venvs.iterdir()] == [venv.name]
        assert (venv / "bin" / "celery").read_text() == f"#!{venv}/bin/python\n"  # not the build's name
    else:
        with pytest.raises(VenvError, match=said):
            python_env.ensure(venv_plan, venvs, sandbox, app, builds / "r1")  # type: ignore[arg-type]
        assert [p.name for p in venvs.iterdir()] == [venv_plan.key]  # no .building left
    assert list(builds.iterdir()) == []  # neither the copy nor the pins file


def test_ensure_mends_the_scripts_of_a_venv_an_older_charm_built(tmp_path: Path, monkeypatch) -> None:
    """A venv built before its scripts were pointed at its name gets them pointed there,
    without a rebuild."""
    app, venvs = tmp_path / "app", tmp_path / "venvs"
    app.mkdir()
    venv_plan = python_env.plan(lock_app("hashedapp", app), "r1", (), "gthread")
    venv = venvs / venv_plan.key
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to("/usr/bin/python3")
    (venv / "bin" / "celery").write_text(f"#!{venvs}/.{venv_plan.key}.building/bin/python\n")
    sandbox = BuildingSandbox(freeze="", root=tmp_path, fail="create the virtualenv")
    assert python_env.ensure(venv_plan, venvs, sandbox, app, tmp_path / "build") == venv  # type: ignore[arg-type]
    assert sandbox.ran == []
    assert (venv / "bin" / "celery").read_text() == f"#!{venv}/bin/python\n"
