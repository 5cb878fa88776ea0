"""Build the charm with charm-build and pack it as wsgi-app.charm.

charm-build names a layer after its directory, so the repository is staged under a
directory called ``wsgi-app`` (a symlink) whatever the checkout is called.

The wheelhouse holds pure-Python wheels only (``py3-none-any``), so that the first hook
installs it on every base's Python without a compiler or the network. They are built
once per content of ``wheelhouse.txt`` and ``wheelhouse-constraints.txt`` into a cache
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
import zipfile
from collections.abc import Iterable
from pathlib import Path

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


def inputs_digest(root: Path = ROOT) -> str:
    """The cache key: the wheelhouse inputs and the recipe that turns them into wheels."""
    digest = hashlib.sha256(RECIPE.encode())
    for name in INPUTS:
        path = root / name
        digest.update(f"\0{name}\0".encode() + (path.read_bytes() if path.exists() else b""))
    return digest.hexdigest()[:16]


def impure(names: Iterable[str]) -> list[str]:
    """The archive names that are not pure-Python wheels (hidden files are not archives)."""
    return sorted(
        n for n in names if not n.startswith(".") and not n.endswith(tuple(f"-{t}.whl" for t in PURE_TAGS))
    )


def check_wheels(directory: Path, root: Path = ROOT) -> None:
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
            *requirements(root),
            env=offline_env(directory),
        )


def requirements(root: Path = ROOT) -> tuple[str, ...]:
    """pip's arguments for the wheelhouse's requirements and constraints."""
    return ("-r", str(root / "wheelhouse.txt"), "-c", str(root / "wheelhouse-constraints.txt"))


def offline_env(wheels: Path) -> dict[str, str]:
    """pip (and charm-build's pip) sees only ``wheels``: no index, no user or site pip config."""
    env = dict(os.environ, PIP_NO_INDEX="1", PIP_FIND_LINKS=str(wheels), PIP_CONFIG_FILE=os.devnull)
    env.pop("PIP_CONSTRAINT", None)
    return env


def pure_wheels(refresh: bool = False) -> Path:
    """The cached pure wheels for the current wheelhouse inputs, built first if missing."""
    cached = cache_root() / inputs_digest()
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
            *requirements(),
            "--wheel-dir",
            str(partial),
            env=env,
        )
        check_wheels(partial)
        if refresh:
            shutil.rmtree(cached, ignore_errors=True)
        with contextlib.suppress(OSError):  # a build beside this one cached the same inputs first
            partial.rename(cached)  # whole or not at all: an interrupted build leaves no cache
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    print(f"wheels cached in {cached}", flush=True)
    return cached


def build(output: Path, wheels: Path) -> Path:
    # Staged outside the repository: a link to the repository inside it would let
    # charm-build walk into its own output.
    # one staging directory per checkout, so that two checkouts can build at once
    checkout = hashlib.sha256(str(ROOT).encode()).hexdigest()[:8]
    stage = Path(tempfile.gettempdir()) / f"wsgi-app-layers-{os.getuid()}-{checkout}"
    stage.mkdir(parents=True, exist_ok=True)
    layer = stage / NAME
    if layer.is_symlink() or layer.exists():
        layer.unlink()
    layer.symlink_to(ROOT)
    output.mkdir(parents=True, exist_ok=True)
    bin_dir = Path(sys.executable).parent
    env = dict(
        offline_env(wheels),
        PATH=f"{bin_dir}:{os.environ['PATH']}",
        CHARM_INTERFACES_DIR=str(ROOT / "interfaces"),
        CHARM_LAYERS_DIR=str(stage),
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
        str(layer),
        env=env,
        cwd=output,
    )
    return output / NAME


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
    parser.add_argument("--pack", type=Path, default=ROOT / f"{NAME}.charm", help="the .charm to write")
    parser.add_argument(
        "--refresh-wheels",
        action="store_true",
        help="build the cached wheels again (they are kept per content of the wheelhouse inputs)",
    )
    args = parser.parse_args()
    output = args.output.resolve()
    charm = build(output, pure_wheels(refresh=args.refresh_wheels))
    bad = impure(p.name for p in (charm / "wheelhouse").iterdir())
    if bad:
        raise SystemExit(f"the built wheelhouse holds archives that are not pure-Python wheels: {bad}")
    pack(charm, args.pack.resolve())
    print(f"built {charm}")


if __name__ == "__main__":
    main()
