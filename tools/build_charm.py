"""Build the charm with charm-build and pack it as wsgi-app.charm.

charm-build names a layer after its directory, so the repository is staged under a
directory called ``wsgi-app`` (a symlink) whatever the checkout is called; ``--charm
DIR`` builds a charm layer that includes ``layer:wsgi-app`` against that stage instead
(tests/layer-charm is one).

The wheelhouse holds pure-Python wheels only (``py3-none-any``), so that the first hook
installs it on every base's Python without a compiler or the network. They are built
once per content of the wheelhouse inputs (``wheelhouse.txt`` and
``wheelhouse-constraints.txt`` of this layer and of the charm layer on top) into a cache
(``~/.cache/wsgi-app-wheels/<digest>``): PyYAML without its libyaml extension
(``PYYAML_FORCE_LIBYAML=0``), MarkupSafe through its pure fallback (taken when the
extension does not compile: ``CC=false``). charm-build then fills the charm's wheelhouse
from that cache alone (``--no-index``), and the result is checked before packing.
``manifest.yaml`` is what ``juju deploy ./wsgi-app.charm`` reads.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
NAME = "wsgi-app"
MANIFEST = """\
analysis:
  attributes:
  - name: language
    result: python
  - name: framework
    result: reactive
bases:
- name: ubuntu
  channel: "22.04"
  architectures: [amd64]
- name: ubuntu
  channel: "24.04"
  architectures: [amd64]
"""
# The Python of every base the charm declares (MANIFEST) and of the test machines
# (Debian 12 now, Debian 13 next): every wheel must install on each.
PYTHONS = {"ubuntu 22.04": "3.10", "ubuntu 24.04": "3.12", "debian 12": "3.11", "debian 13": "3.13"}
# Packages whose wheels on the registry carry C extensions, and how each builds without them.
PURE_BUILDS = {"pyyaml": {"PYYAML_FORCE_LIBYAML": "0"}, "markupsafe": {"CC": "false"}}
PURE_TAGS = ("py3-none-any", "py2.py3-none-any")
# Bump when the way the cached wheels are made changes, so that old caches are not reused.
RECIPE = "pure-wheels-1"
INPUTS = ("wheelhouse.txt", "wheelhouse-constraints.txt")
PIP = (sys.executable, "-m", "pip")


def run(*command: str, **kwargs: object) -> None:
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True, **kwargs)  # type: ignore[call-overload]


def cache_root() -> Path:
    """Where the pure wheels are kept between builds: $WSGI_APP_WHEEL_CACHE, else the user's cache."""
    if os.environ.get("WSGI_APP_WHEEL_CACHE"):
        return Path(os.environ["WSGI_APP_WHEEL_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "wsgi-app-wheels"


def wheelhouse_inputs(top: Path | None = None) -> list[Path]:
    """The requirement and constraint files charm-build merges: this layer's, then those of
    the charm layer built on top of it (if any)."""
    layers = [ROOT, *([top] if top is not None and top.resolve() != ROOT else [])]
    return [layer / name for layer in layers for name in INPUTS if (layer / name).is_file()]


def inputs_digest(inputs: list[Path]) -> str:
    """The cache key: the wheelhouse inputs and the recipe that turns them into wheels."""
    digest = hashlib.sha256(RECIPE.encode())
    for path in inputs:
        digest.update(f"\0{path.name}\0".encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def impure(names: Iterable[str]) -> list[str]:
    """The archive names that are not pure-Python wheels (hidden files are not archives)."""
    return sorted(
        n for n in names if not n.startswith(".") and not n.endswith(tuple(f"-{t}.whl" for t in PURE_TAGS))
    )


def check_wheels(directory: Path, inputs: list[Path]) -> None:
    """Fail unless ``directory`` holds only pure wheels and they resolve the wheelhouse
    offline on every base's Python (Requires-Python, markers)."""
    bad = impure(p.name for p in directory.iterdir())
    if bad:
        raise SystemExit(f"not pure-Python wheels in {directory}: {', '.join(bad)}")
    for base, version in PYTHONS.items():
        print(f"  resolves for {base} (Python {version})", flush=True)
        run(
            *PIP,
            "install",
            "--dry-run",
            "--ignore-installed",
            "--quiet",
            "--no-index",
            "--find-links",
            str(directory),
            "--only-binary",
            ":all:",
            "--platform",
            "any",
            "--python-version",
            version,
            *requirements(inputs),
            env=offline_env(directory),
        )


def requirements(inputs: list[Path]) -> tuple[str, ...]:
    """pip's arguments for the wheelhouse's requirements and constraints."""
    return tuple(arg for path in inputs for arg in ("-r" if path.name == INPUTS[0] else "-c", str(path)))


def offline_env(wheels: Path) -> dict[str, str]:
    """pip (and charm-build's pip) sees only ``wheels``: no index, no user or site pip config."""
    env = dict(os.environ, PIP_NO_INDEX="1", PIP_FIND_LINKS=str(wheels), PIP_CONFIG_FILE=os.devnull)
    env.pop("PIP_CONSTRAINT", None)
    return env


def pure_wheels(inputs: list[Path], refresh: bool = False) -> Path:
    """The cached pure wheels for the wheelhouse inputs, built first if missing."""
    cached = cache_root() / inputs_digest(inputs)
    if cached.is_dir() and not refresh:
        print(f"wheels from {cached}", flush=True)
        return cached
    cached.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f"{cached.name}.", dir=cached.parent))
    try:
        env = dict(os.environ)
        for switches in PURE_BUILDS.values():
            env.update(switches)
        run(
            *PIP,
            "wheel",
            "--quiet",
            # pip's cache may hold a wheel it built from the same source with the extension
            "--no-cache-dir",
            "--no-binary",
            ",".join(PURE_BUILDS),
            *requirements(inputs),
            "--wheel-dir",
            str(partial),
            env=env,
        )
        check_wheels(partial, inputs)
        if refresh:
            shutil.rmtree(cached, ignore_errors=True)
        with contextlib.suppress(OSError):  # a build beside this one cached the same inputs first
            partial.rename(cached)  # whole or not at all: an interrupted build leaves no cache
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    print(f"wheels cached in {cached}", flush=True)
    return cached


# what of the checkout is not the layer: charm-build walks every file of a layer before
# its excludes apply, and a development virtualenv alone made a cached build take 20 s
NOT_THE_LAYER = frozenset({".venv", "build", ".hypothesis", ".mypy_cache", ".pytest_cache", ".ruff_cache"})
VIEW_LIFETIME = 3600  # seconds a view of an earlier build is kept for a build still using it


def stage_layers() -> Path:
    """The directory charm-build finds layers in (CHARM_LAYERS_DIR): a view of this checkout
    (a link to each of its entries but what is not the layer) linked as ``wsgi-app``, so
    that the layer and any charm including ``layer:wsgi-app`` build from this checkout,
    whatever it is called."""
    # Staged outside the repository: a link to the repository inside it would let
    # charm-build walk into its own output.
    # one staging directory per checkout, so that two checkouts can build at once
    checkout = hashlib.sha256(str(ROOT).encode()).hexdigest()[:8]
    stage = Path(tempfile.gettempdir()) / f"wsgi-app-layers-{os.getuid()}-{checkout}"
    stage.mkdir(parents=True, exist_ok=True)
    view = Path(tempfile.mkdtemp(prefix=f".{NAME}-view.", dir=stage))
    for entry in ROOT.iterdir():
        if entry.name not in NOT_THE_LAYER:
            (view / entry.name).symlink_to(entry)
    # replaced in one step: a build running beside this one (the e2e lanes build the
    # example charm while another may build the layer) always finds the layer
    link = stage / f".{NAME}.{os.getpid()}"
    link.unlink(missing_ok=True)
    link.symlink_to(view)
    link.replace(stage / NAME)
    for old in stage.glob(f".{NAME}-view.*"):
        if old != view and time.time() - old.stat().st_mtime > VIEW_LIFETIME:
            shutil.rmtree(old, ignore_errors=True)
    return stage


def charm_name(top: Path) -> str:
    """The name charm-build gives the charm built from the layer ``top``."""
    metadata = yaml.safe_load((top / "metadata.yaml").read_text())
    return str(metadata["name"])


def build(output: Path, wheels: Path, top: Path | None = None) -> Path:
    """Build ``top`` (a charm layer; default: this layer) into ``output/<its name>``, its
    wheelhouse from ``wheels`` alone."""
    stage = stage_layers()
    top = top or stage / NAME
    output.mkdir(parents=True, exist_ok=True)
    # charm-build --force keeps what an earlier build left (the wheels of other wheelhouse
    # inputs above all): each build starts from nothing
    shutil.rmtree(output / charm_name(top), ignore_errors=True)
    bin_dir = Path(sys.executable).parent
    env = dict(
        offline_env(wheels),
        PATH=f"{bin_dir}:{os.environ['PATH']}",
        CHARM_INTERFACES_DIR=str(ROOT / "interfaces"),
        CHARM_LAYERS_DIR=str(stage),
        CHARM_HIDE_METRICS="1",  # charm-build would report each build to a web service
    )
    run(
        str(bin_dir / "charm-build"),
        "--force",
        "--binary-wheels",
        "--upgrade-buildvenv-core-deps",
        "--log-level",
        "WARNING",
        "--build-dir",
        str(output),
        str(top),
        env=env,
        cwd=output,
    )
    return output / charm_name(top)


def pack(charm: Path, destination: Path) -> None:
    (charm / "manifest.yaml").write_text(MANIFEST)
    with zipfile.ZipFile(destination, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(charm.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(charm))
    print(f"packed {destination}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=ROOT / "build")
    parser.add_argument(
        "--charm",
        type=Path,
        help="a charm layer to build on top of this one (includes: layer:wsgi-app), instead of the layer",
    )
    parser.add_argument(
        "--pack",
        type=Path,
        help=f"the .charm to write (default: {NAME}.charm here when building the layer, none for --charm)",
    )
    parser.add_argument(
        "--refresh-wheels",
        action="store_true",
        help="build the cached wheels again (they are kept per content of the wheelhouse inputs)",
    )
    args = parser.parse_args()
    output = args.output.resolve()
    top = args.charm.resolve() if args.charm else None
    charm = build(output, pure_wheels(wheelhouse_inputs(top), refresh=args.refresh_wheels), top)
    bad = impure(p.name for p in (charm / "wheelhouse").iterdir())
    if bad:
        raise SystemExit(f"the built wheelhouse holds archives that are not pure-Python wheels: {bad}")
    pack_to = args.pack or (None if args.charm else ROOT / f"{NAME}.charm")
    if pack_to:
        pack(charm, pack_to.resolve())
    print(f"built {charm}")


if __name__ == "__main__":
    main()
