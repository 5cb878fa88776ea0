"""Build the charm with charm-build and pack it as wsgi-app.charm.

charm-build names a layer after its directory, so the repository is staged under a
directory called ``wsgi-app`` (a symlink) whatever the checkout is called; ``--charm
DIR`` builds a charm layer that includes ``layer:wsgi-app`` against that stage instead
(tests/layer-charm is one). The
wheelhouse holds wheels for this machine's Python (fast, offline first hook) plus the
source archive of every wheel that is not pure Python, so that a machine with another
Python version builds those from source instead of failing. ``manifest.yaml`` is what
``juju deploy ./wsgi-app.charm`` reads.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
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


def run(*command: str, **kwargs: object) -> None:
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True, **kwargs)  # type: ignore[call-overload]


def stage_layers() -> Path:
    """The directory charm-build finds layers in (CHARM_LAYERS_DIR): this checkout linked
    as ``wsgi-app``, so that the layer and any charm including ``layer:wsgi-app`` build
    from this checkout, whatever it is called."""
    # Staged outside the repository: a link to the repository inside it would let
    # charm-build walk into its own output.
    # one staging directory per checkout, so that two checkouts can build at once
    checkout = hashlib.sha256(str(ROOT).encode()).hexdigest()[:8]
    stage = Path(tempfile.gettempdir()) / f"wsgi-app-layers-{os.getuid()}-{checkout}"
    stage.mkdir(parents=True, exist_ok=True)
    # replaced in one step: a build running beside this one (the e2e lanes build the
    # example charm while another may build the layer) always finds the layer
    link = stage / f".{NAME}.{os.getpid()}"
    link.unlink(missing_ok=True)
    link.symlink_to(ROOT)
    link.replace(stage / NAME)
    return stage


def charm_name(top: Path) -> str:
    """The name charm-build gives the charm built from the layer ``top``."""
    metadata = yaml.safe_load((top / "metadata.yaml").read_text())
    return str(metadata["name"])


def build(output: Path, top: Path | None = None) -> Path:
    """Build ``top`` (a charm layer; default: this layer) into ``output/<its name>``."""
    stage = stage_layers()
    top = top or stage / NAME
    output.mkdir(parents=True, exist_ok=True)
    bin_dir = Path(sys.executable).parent
    env = dict(
        os.environ,
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


def add_sources_for_platform_wheels(charm: Path) -> None:
    wheelhouse = charm / "wheelhouse"
    for wheel in sorted(wheelhouse.glob("*.whl")):
        if wheel.name.endswith("-none-any.whl"):
            continue
        name, version = wheel.name.split("-")[:2]
        run(
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            # the source of this package only: its build requirements (Cython...) may
            # come as wheels, or pip compiles them from source just to read metadata
            "--no-binary",
            name,
            "--dest",
            str(wheelhouse),
            f"{name}=={version}",
        )


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
    args = parser.parse_args()
    output = args.output.resolve()
    charm = build(output, args.charm.resolve() if args.charm else None)
    add_sources_for_platform_wheels(charm)
    pack_to = args.pack or (None if args.charm else ROOT / f"{NAME}.charm")
    if pack_to:
        pack(charm, pack_to.resolve())
    print(f"built {charm}")


if __name__ == "__main__":
    main()
