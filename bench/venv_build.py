"""How long building an app's venv takes with pip (what the charm ran before) and with uv
(what it runs now), side by side, with a cold and a warm package cache.

Each build is what a unit does for a ``requirements.txt`` app: ``python3 -m venv`` with
the machine's Python, then one install of the app's requirements and the charm's packages
(gunicorn). The uv command line and environment are the charm's own
(``python_env.app_steps`` and ``python_env.build_env``: copy link mode, the cache in one
directory); pip's is the one the charm ran before (the venv's pip, ``PIP_CACHE_DIR``).
*Cold*: an empty cache (every wheel downloaded from the index); *warm*: the cache the
cold build of the same round left. Rounds are interleaved (pip first, then uv first...),
and every build's package set (``name==version``, pip and setuptools aside) must be the
same, or the benchmark fails: the result is the same, only the time differs.

Run (no root, no machine; it downloads from the package index):
``PYTHONPATH=lib .venv/bin/python -m bench.venv_build --rounds 3`` (``lib``: the charm's code)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.machine import host_facts
from bench.stats import interleaved, median, ratio, table
from charms.layer.wsgi_app import python_env
from charms.layer.wsgi_app.python_env import Layout

# a typical app's requirements: a framework or two, a database layer, an HTTP client
REQUIREMENTS = "django>=4.2,<6\nflask>=3\nsqlalchemy>=2\nrequests>=2.31\nwhitenoise>=6\n"
PYTHON = "/usr/bin/python3"  # the machine's Python (Debian's), as the charm uses it
INSTALLERS = ("pip", "uv")
SEED = {"pip", "setuptools", "wheel"}  # what `python3 -m venv` seeds, not the app's


def uv_binary() -> Path:
    found = Path(sys.executable).parent / "uv"
    return found if found.exists() else Path(shutil.which("uv") or "uv")


def build(installer: str, app: Path, venv: Path, cache: Path, uv: Path) -> tuple[float, float]:
    """Build the venv of ``app`` into ``venv``; (seconds in all, seconds installing)."""
    shutil.rmtree(venv, ignore_errors=True)
    start = time.monotonic()
    subprocess.run([PYTHON, "-m", "venv", str(venv)], check=True)
    created = time.monotonic()
    venv_plan = python_env.plan(app, "bench", (), "gthread")
    if installer == "uv":
        layout = Layout(venv=venv, workspace=app, uv=uv, poetry=(), pins=app / "pins.txt")
        (step,) = python_env.app_steps(venv_plan, layout)
        argv, env = list(step.argv), {**os.environ, **python_env.build_env(layout, cache, os.environ)}
    else:
        argv = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", *venv_plan.extra]
        argv += ["-r", "requirements.txt"]
        env = {**os.environ, "PIP_CACHE_DIR": str(cache / "pip"), "PIP_NO_INPUT": "1"}
        env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    subprocess.run(argv, cwd=app, env=env, check=True)
    done = time.monotonic()
    return done - start, done - created


def package_set(venv: Path, uv: Path) -> frozenset[str]:
    """``name==version`` of every package in ``venv`` but what ``venv`` seeds."""
    listed = subprocess.run(
        [str(uv), "pip", "freeze", "--python", str(venv / "bin" / "python")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return frozenset(line.lower() for line in listed if line.partition("==")[0].lower() not in SEED)


def run(rounds: int) -> str:
    uv = uv_binary()
    scratch = Path(tempfile.mkdtemp(prefix="venv-build-"))
    app = scratch / "app"
    app.mkdir()
    (app / "requirements.txt").write_text(REQUIREMENTS)
    times: dict[tuple[str, str], list[float]] = {}
    installs: dict[tuple[str, str], list[float]] = {}
    sets: set[frozenset[str]] = set()
    try:
        for number, installer in interleaved(INSTALLERS, rounds):
            cache = scratch / f"cache-{installer}-{number}"
            for state in ("cold", "warm"):  # the warm build reuses the cold one's cache
                venv = scratch / f"venv-{installer}"
                total, install = build(installer, app, venv, cache, uv)
                times.setdefault((installer, state), []).append(total)
                installs.setdefault((installer, state), []).append(install)
                sets.add(package_set(venv, uv))
                print(f"round {number + 1} {installer} {state}: {total:.1f}s", file=sys.stderr, flush=True)
            shutil.rmtree(cache, ignore_errors=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if len(sets) != 1:
        raise SystemExit(f"the builds installed different sets: {sorted(map(sorted, sets))}")
    return report(times, installs, rounds, next(iter(sets)))


def report(
    times: dict[tuple[str, str], list[float]],
    installs: dict[tuple[str, str], list[float]],
    rounds: int,
    packages: frozenset[str],
) -> str:
    rows = []
    for state in ("cold", "warm"):
        pip, uv = median(times["pip", state]), median(times["uv", state])
        pip_install, uv_install = median(installs["pip", state]), median(installs["uv", state])
        rows.append(
            [
                state,
                f"{pip:.1f}",
                f"{uv:.1f}",
                f"{ratio(pip, uv):.2f}",
                f"{pip_install:.1f}",
                f"{uv_install:.1f}",
                f"{ratio(pip_install, uv_install):.2f}",
            ]
        )
    header = ["cache", "pip s", "uv s", "pip/uv", "pip install s", "uv install s", "pip/uv install"]
    return (
        f"{host_facts().line()}\n\nmedians of {rounds} interleaved rounds; the same {len(packages)} "
        f"packages every time ({', '.join(sorted(packages))})\n\n{table(header, rows)}\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    print(run(parser.parse_args().rounds))


if __name__ == "__main__":
    main()
