"""Run the end-to-end suite in two lanes at once, then print each module's duration.

Modules whose machines sit on isolated model networks (their own namespaces: any port
is theirs) and the one that serves on a port of its own run in the second lane; the
rest share the host's loopback and port 8080, so they run one after the other in the
first. Each lane is one pytest process; its output goes to ``build/e2e-<lane>.log`` and
its summary line and module durations are printed here. Exits non-zero if a lane failed.
Before the lanes start, the machine image of every base is built (once per host: it is
cached), so no module builds one under its image lock while the other lane waits.

Run: ``.venv/bin/python tools/run_e2e.py [pytest args...]`` (root; ``make e2e`` does).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
E2E = ROOT / "tests" / "e2e"
# modules on a network or port of their own (brokers, celery, haproxy, layer, locks_offline,
# processes, prometheus, rollout, s3, scale, schedules and toolbox: isolated networks; fuzz:
# 8092), together about as long as the rest; servers on the host take ports through
# localjuju's host-wide reservations. Everything else runs in the loopback lane, including
# five modules on isolated networks (django, logging, secrets, trixie, units) that keep the
# two lanes about as long.
OWN_NETWORK = (
    "test_brokers.py",
    "test_celery.py",
    "test_fuzz.py",
    "test_haproxy.py",
    "test_layer.py",
    "test_locks_offline.py",
    "test_processes.py",
    "test_prometheus.py",
    "test_rollout.py",
    "test_s3.py",
    "test_scale.py",
    "test_schedules.py",
    "test_toolbox.py",
)


def lanes() -> dict[str, list[str]]:
    modules = sorted(path.name for path in E2E.glob("test_*.py"))
    own = [name for name in modules if name in OWN_NETWORK]
    return {"loopback": [name for name in modules if name not in own], "own-network": own}


def prepare() -> None:
    """Build the machine image of every base (``localjuju images``; cached ones cost nothing)."""
    if os.geteuid() != 0:
        return  # the e2e modules skip: they boot machines
    begun = time.monotonic()
    built = subprocess.run([sys.executable, "-m", "localjuju.cli", "images"], cwd=ROOT, check=False)
    outcome = "ready" if built.returncode == 0 else f"FAILED (exit {built.returncode}); modules will retry"
    print(f"machine images {outcome} in {time.monotonic() - begun:.0f}s", flush=True)


def start(lane: str, modules: list[str], extra: list[str]) -> tuple[subprocess.Popen[bytes], Path]:
    log = ROOT / "build" / f"e2e-{lane}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pytest", *(f"tests/e2e/{m}" for m in modules), *extra]
    with open(log, "wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
    return process, log


def summary(log: Path) -> list[str]:
    """The lane's failures, its module durations and its closing line."""
    lines = log.read_text(errors="replace").splitlines()
    kept = [line for line in lines if line.startswith(("FAILED ", "ERROR ", "e2e module "))]
    closing = [line for line in lines if line.startswith("=") and (" passed" in line or " failed" in line)]
    return kept + closing[-1:]


def count(closing: str, word: str) -> int:
    """How many tests pytest's closing line says ``word`` (passed, failed, error)."""
    found = re.search(rf"(\d+) {word}", closing)
    return int(found.group(1)) if found else 0


def main() -> int:
    extra = sys.argv[1:]
    begun = time.monotonic()
    prepare()
    running = {lane: start(lane, modules, extra) for lane, modules in lanes().items() if modules}
    failed, totals = False, {"passed": 0, "failed": 0, "error": 0}
    for lane, (process, log) in running.items():
        code = process.wait()
        failed = failed or code != 0
        lines = summary(log)
        print(f"--- lane {lane} (exit {code}; full output in {log.relative_to(ROOT)})")
        print("\n".join(lines))
        for word in totals:
            totals[word] += count(lines[-1] if lines else "", word)
    print(f"e2e took {time.monotonic() - begun:.0f}s in {len(running)} lanes")
    print(f"e2e: {totals['passed']} passed, {totals['failed'] + totals['error']} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
