"""The bootstrap's wheel installer: pure wheels into a virtualenv without pip, idempotent,
resumable after an interruption, and upgrading what an older wheelhouse installed."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from charms.layer import wheelhouse

PY = f"python{sys.version_info[0]}.{sys.version_info[1]}"


def make_wheel(directory: Path, name: str, version: str, files: dict[str, str], extra: str = "") -> Path:
    """A pure wheel of ``files`` (plus its dist-info) as a build backend writes one."""
    dist_info = f"{name}-{version}.dist-info"
    path = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in files.items():
            archive.writestr(member, text)
        archive.writestr(
            f"{dist_info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        )
        archive.writestr(
            f"{dist_info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        if extra:
            archive.writestr(f"{dist_info}/entry_points.txt", extra)
        archive.writestr(f"{dist_info}/RECORD", "")
    return path


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    root = tmp_path / "venv"
    wheelhouse.create(root)
    return root


def site(root: Path) -> Path:
    return wheelhouse.site_packages(root)


def run(root: Path, code: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # as in a hook
    result = subprocess.run(
        [str(root / "bin" / "python3"), "-c", code], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_installs_modules_scripts_and_data_the_venv_python_imports(tmp_path: Path, venv: Path) -> None:
    wheel = make_wheel(
        tmp_path,
        "demo_pkg",
        "1.0",
        {
            "demo_pkg/__init__.py": "def main():\n    print('demo main')\n",
            "top.pth": "import sys; sys.demo_pth = True\n",
            "demo_pkg-1.0.data/scripts/demo-tool": "#!python\nprint('tool ran')\n",
            "demo_pkg-1.0.data/data/share/demo/readme.txt": "shared\n",
            "demo_pkg-1.0.data/purelib/demo_extra.py": "VALUE = 7\n",
        },
        extra="[console_scripts]\ndemo-main = demo_pkg:main\n",
    )
    assert wheelhouse.install([wheel], venv) == [wheel.name]
    assert run(venv, "import demo_pkg, demo_extra, sys; print(demo_extra.VALUE, sys.demo_pth)") == "7 True"
    assert (
        subprocess.run([str(venv / "bin" / "demo-tool")], capture_output=True, text=True).stdout
        == "tool ran\n"
    )
    assert (venv / "bin" / "demo-tool").read_text().startswith(f"#!{venv}/bin/python3\n")
    assert (
        subprocess.run([str(venv / "bin" / "demo-main")], capture_output=True, text=True).stdout
        == "demo main\n"
    )
    assert (venv / "share" / "demo" / "readme.txt").read_text() == "shared\n"
    dist_info = site(venv) / "demo_pkg-1.0.dist-info"
    assert (dist_info / "INSTALLER").read_text() == "wsgi-app\n"
    recorded = {line.split(",")[0] for line in (dist_info / "RECORD").read_text().splitlines()}
    assert {
        "demo_pkg/__init__.py",
        "demo_extra.py",
        "top.pth",
        "../../../bin/demo-tool",
        "../../../bin/demo-main",
    } <= (recorded)
    # the venv's own metadata machinery sees it as installed
    assert run(venv, "import importlib.metadata as m; print(m.version('demo_pkg'))") == "1.0"


def test_a_second_run_installs_nothing(tmp_path: Path, venv: Path) -> None:
    wheel = make_wheel(tmp_path, "demo", "1.0", {"demo.py": "X = 1\n"})
    assert wheelhouse.install([wheel], venv) == [wheel.name]
    assert wheelhouse.install([wheel], venv) == []


def test_an_interrupted_install_is_completed(tmp_path: Path, venv: Path) -> None:
    wheel = make_wheel(tmp_path, "demo", "1.0", {"demo.py": "X = 1\n", "demo_two.py": "Y = 2\n"})
    wheelhouse.install([wheel], venv)
    # as if the hook died after unpacking part of it: no INSTALLER, a file missing
    (site(venv) / "demo-1.0.dist-info" / "INSTALLER").unlink()
    (site(venv) / "demo_two.py").unlink()
    assert wheelhouse.install([wheel], venv) == [wheel.name]
    assert run(venv, "import demo, demo_two; print(demo.X + demo_two.Y)") == "3"


def test_a_new_version_replaces_the_old_one(tmp_path: Path, venv: Path) -> None:
    old_dir, new_dir = tmp_path / "old", tmp_path / "new"
    old_dir.mkdir()
    new_dir.mkdir()
    old = make_wheel(old_dir, "demo", "1.0", {"demo/__init__.py": "V = 1\n", "demo/gone.py": ""})
    new = make_wheel(new_dir, "demo", "2.0", {"demo/__init__.py": "V = 2\n"})
    wheelhouse.install([old], venv)
    run(venv, "import demo.gone")  # leaves byte code behind, as a hook would
    assert list((site(venv) / "demo").glob("__pycache__/gone.*"))
    assert wheelhouse.install([new], venv) == [new.name]
    assert run(venv, "import demo; print(demo.V)") == "2"
    assert not (site(venv) / "demo-1.0.dist-info").exists()
    assert not (site(venv) / "demo" / "gone.py").exists()
    assert not list((site(venv) / "demo").glob("__pycache__/gone.*"))


def test_refuses_members_that_leave_the_venv(tmp_path: Path, venv: Path) -> None:
    wheel = make_wheel(tmp_path, "evil", "1.0", {"../../../../escaped.py": "", "evil.py": ""})
    with pytest.raises(ValueError, match="unsafe path"):
        wheelhouse.install([wheel], venv)
    assert not (venv.parent / "escaped.py").exists()


@pytest.mark.parametrize(
    "entry",
    [
        "../../escaped = evil:main",
        "/tmp/escaped = evil:main",
        "sub/escaped = evil:main",
        "ok = evil:main; import os",
        "ok = os.system('x'):main",
    ],
)
def test_refuses_console_scripts_that_leave_bin_or_are_no_dotted_names(
    tmp_path: Path, venv: Path, entry: str
) -> None:
    wheel = make_wheel(
        tmp_path, "evil", "1.0", {"evil.py": "def main(): pass\n"}, extra=f"[console_scripts]\n{entry}\n"
    )
    with pytest.raises(ValueError, match="console script"):
        wheelhouse.install([wheel], venv)
    assert not (tmp_path / "escaped").exists() and not Path("/tmp/escaped").exists()


@pytest.mark.parametrize(
    ("names", "fast"),
    [
        (["a-1-py3-none-any.whl", "b-2-py2.py3-none-any.whl"], True),
        (["a-1-py3-none-any.whl", "b-2.tar.gz"], False),
        (["pyyaml-6-cp311-cp311-manylinux_2_17_x86_64.whl"], False),
        (["a-1-py3-none-any.whl", "a-2-py3-none-any.whl"], False),
        (["Foo_Bar-1-py3-none-any.whl", "foo.bar-2-py3-none-any.whl"], False),
    ],
)
def test_only_a_wheelhouse_of_distinct_pure_wheels_skips_pip(names: list[str], fast: bool) -> None:
    assert wheelhouse.installable(Path(n) for n in names) is fast
