"""The charm's own bootstrap, in the manner of layer-basic (which this layer replaces).

The first hook runs under the machine's ``python3`` with only the standard library.
:func:`bootstrap_charm_deps` creates a virtualenv beside the charm directory
(``../.venv``, as layer-basic does), installs the wheelhouse that ``charm-build``
collected, offline, records what it installed in ``wheelhouse/.bootstrapped`` and
re-executes the hook inside the virtualenv. A wheelhouse of pure wheels (what
tools/build_charm.py builds) is unpacked without pip in well under a second
(:mod:`charms.layer.wheelhouse`); any other goes through pip, as layer-basic's does.
Later hooks only re-execute; an upgraded charm whose wheelhouse differs installs again.
Nothing here imports ``distutils``.

:func:`run_reactive` then maintains layer-basic's ``config.*`` flags around
``charms.reactive.main()``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

MARKER = ".bootstrapped"
# Build requirements installed first when the wheelhouse holds source archives.
BUILD_KIT = ("setuptools", "wheel", "pbr", "flit_core", "setuptools_scm")


def charm_dir() -> Path:
    """The charm directory of the running hook."""
    return Path(os.environ.get("JUJU_CHARM_DIR") or os.environ.get("CHARM_DIR") or os.getcwd())


def venv_dir() -> Path:
    """Where the charm's virtualenv lives: beside the charm directory, as layer-basic does."""
    return charm_dir().parent / ".venv"


def wheelhouse_digest(wheelhouse: Path) -> str:
    """A digest of the wheelhouse's archive names (names carry the versions)."""
    names = sorted(p.name for p in wheelhouse.iterdir() if not p.name.startswith("."))
    return hashlib.sha256("\n".join(names).encode()).hexdigest()


def distribution_name(archive: Path) -> str:
    """The distribution name of a wheel or source archive, normalised (PEP 503)."""
    stem = archive.name
    if stem.endswith(".whl"):
        name = stem.split("-", 1)[0]
    else:
        for suffix in (".tar.gz", ".zip", ".tar.bz2"):
            if stem.endswith(suffix):
                stem = stem[: -len(suffix)]
        name = stem.rsplit("-", 1)[0]
    return name.replace("_", "-").replace(".", "-").lower()


def bootstrap_charm_deps() -> None:
    """Make sure the virtualenv holds the wheelhouse, then run the hook inside it."""
    venv = venv_dir()
    wheelhouse = charm_dir() / "wheelhouse"
    marker = wheelhouse / MARKER
    digest = wheelhouse_digest(wheelhouse)
    python = venv / "bin" / "python3"
    installed = marker.exists() and marker.read_text().strip() == digest
    if not (installed and python.exists()):
        _install_wheelhouse(venv, wheelhouse)
        marker.write_text(digest + "\n")
    if Path(sys.prefix).resolve() != venv.resolve():
        activate_venv()
        if sys.version_info < (3, 12):
            # charmhelpers imports distutils: the standard library's, where there still is one,
            # rather than setuptools' copy, whose import pulls in setuptools and pkg_resources
            # (~0.1 s a hook); child commands get an environment of their own (commands.base_env)
            os.environ.setdefault("SETUPTOOLS_USE_DISTUTILS", "stdlib")
        os.execv(str(python), [str(python), *sys.argv])
    activate_venv()
    teach_charmhelpers_debian()


def activate_venv() -> None:
    """Put the virtualenv first on PATH for this process and its children."""
    venv = venv_dir()
    path = os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
    if not path.startswith(f"{venv}/bin:"):
        os.environ["PATH"] = f"{venv}/bin:{path}"
    os.environ["VIRTUAL_ENV"] = str(venv)


def teach_charmhelpers_debian() -> None:
    """Let charmhelpers run on Debian, which it means to treat like Ubuntu.

    Its platform check compares ``NAME`` from /etc/os-release case-sensitively with
    "debian" and so rejects "Debian GNU/Linux" (Launchpad bug 2040958, charm-helpers
    pull request 865). It runs when charmhelpers.core.host is first imported, so this
    must come before that import.
    """
    from charmhelpers import osplatform

    if getattr(osplatform.get_platform, "knows_debian", False):
        return
    strict = osplatform.get_platform

    def get_platform() -> str:
        try:
            return str(strict())
        except RuntimeError:
            if "debian" in osplatform._get_platform_from_fs().lower():
                return "ubuntu"
            raise

    get_platform.knows_debian = True  # type: ignore[attr-defined]
    osplatform.get_platform = get_platform


def _install_wheelhouse(venv: Path, wheelhouse: Path) -> None:
    """Pure wheels (what tools/build_charm.py makes) are unpacked straight into a venv
    without pip; any other wheelhouse (source archives, as plain charm-build makes for a
    charm that includes this layer) goes through pip."""
    from charms.layer import wheelhouse as wheels

    start = time.monotonic()
    archives = sorted(p for p in wheelhouse.iterdir() if not p.name.startswith("."))
    if wheels.installable(archives):
        wheels.create(venv)
        installed = wheels.install(archives, venv)
        how = "unpacked"
    else:
        _install_with_pip(venv, archives)
        installed, how = [p.name for p in archives], "installed with pip"
    # the hook's output (the unit log): what the bootstrap cost, for bench/hook_cost.py
    print(
        f"bootstrap: {len(installed)} of {len(archives)} archives {how} in {time.monotonic() - start:.2f}s",
        flush=True,
    )


def _install_with_pip(venv: Path, archives: list[Path]) -> None:
    _ensure_venv_module()
    if not (venv / "bin" / "pip").exists():  # also a venv the pure path made without pip
        subprocess.check_call([sys.executable, "-m", "venv", str(venv)])
    pip = [
        str(venv / "bin" / "python3"),
        "-m",
        "pip",
        "install",
        "--no-index",
        "--disable-pip-version-check",
        "--find-links",
        str(archives[0].parent),
    ]
    sources = [p for p in archives if not p.name.endswith(".whl")]
    if sources:
        kit = [str(p) for p in archives if distribution_name(p).replace("-", "_") in BUILD_KIT]
        if kit:
            subprocess.check_call([*pip, *kit])
        pip.append("--no-build-isolation")
    # By name, so pip picks the best archive of each (a wheel for this Python if there
    # is one, else the source archive) from the wheelhouse.
    names = sorted({distribution_name(p) for p in archives})
    subprocess.check_call([*pip, *names])


def _ensure_venv_module() -> None:
    """Debian and Ubuntu ship ensurepip separately, in python3-venv."""
    probe = subprocess.run([sys.executable, "-c", "import ensurepip"], capture_output=True)
    if probe.returncode == 0:
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.check_call(["apt-get", "install", "-y", "-q", "python3-venv"], env=env)


def init_config_states() -> None:
    """Set layer-basic's config flags: config.changed[.opt], config.set.opt, config.default.opt."""
    import yaml
    from charmhelpers.core import hookenv

    from charms.reactive import set_flag, toggle_flag

    config = hookenv.config()
    declared = yaml.safe_load((charm_dir() / "config.yaml").read_text()) or {}
    defaults = {name: spec.get("default") for name, spec in (declared.get("options") or {}).items()}
    for option, value in config.items():
        if config.changed(option):
            set_flag("config.changed")
            set_flag(f"config.changed.{option}")
        toggle_flag(f"config.set.{option}", value not in (None, ""))
        toggle_flag(f"config.default.{option}", value == defaults.get(option))


def clear_config_states() -> None:
    """Drop the per-hook config.changed flags and remember this hook's config."""
    from charmhelpers.core import hookenv

    from charms.reactive import clear_flag

    config = hookenv.config()
    for option in config:
        clear_flag(f"config.changed.{option}")
    clear_flag("config.changed")
    config.save()


def lazy_pkg_resources() -> None:
    """charms.reactive imports ``pkg_resources`` for ``iter_entry_points`` alone; importing
    it scans every installed distribution (~90 ms a hook) and warns that it is deprecated.
    Until something asks for more, ``importlib.metadata`` answers that one function; any
    other name imports the real module."""
    if "pkg_resources" in sys.modules:
        return
    import importlib
    import importlib.metadata
    import types

    shim = types.ModuleType("pkg_resources", "entry points from importlib.metadata (see charms.layer.basic)")

    def iter_entry_points(group: str, name: str | None = None) -> Iterator[importlib.metadata.EntryPoint]:
        for entry in importlib.metadata.entry_points(group=group):
            if name is None or entry.name == name:
                yield entry

    def real(attribute: str) -> object:
        if attribute.startswith("__"):  # the import system's own probes (__path__ ...)
            raise AttributeError(attribute)
        if sys.modules.get("pkg_resources") is shim:
            del sys.modules["pkg_resources"]
        return getattr(importlib.import_module("pkg_resources"), attribute)

    setattr(shim, "iter_entry_points", iter_entry_points)  # noqa: B010 - a module built here
    setattr(shim, "__getattr__", real)  # noqa: B010
    sys.modules["pkg_resources"] = shim


def run_reactive() -> None:
    """Run charms.reactive's dispatch with the config flags maintained around it."""
    lazy_pkg_resources()
    from charmhelpers.core import hookenv

    from charms.layer.relation_ids import cache_unrelated_endpoints

    hookenv.atstart(cache_unrelated_endpoints)  # first: before charms.reactive's Endpoint start-up
    from charms.reactive import main

    register_config_states()
    main()


def register_config_states() -> None:
    """Set the config flags at the start of the hook and clear them at its end.

    They are set after the start callbacks that the handler modules register while they
    are discovered, because the registration happens from the first start callback. Among
    those is the charm's choice of tracer: under the default tracer, an install would log
    ~70 config flags, one juju-log call each."""
    from charmhelpers.core import hookenv

    hookenv.atstart(hookenv.atstart, init_config_states)
    hookenv.atexit(clear_config_states)
