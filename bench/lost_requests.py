"""Requests lost while changes are applied: the charm against a naive restart.

One machine serves the benchmark application twice, side by side, from the same
release, virtualenv, settings and gunicorn configuration:

* the charm's unit on :8102 (socket activation; the charm reloads or restarts);
* a naive baseline on :8103: a plain gunicorn service bound to its port itself,
  ``systemctl restart``-ed for every change.

Steady load (a few client threads, one new connection per request, short timeouts)
runs against both while 20 changes are applied: environment changes (half of them
remove a setting, which takes the charm a reload too), timeout changes, a new commit
with the ``redeploy`` action, the ``rollback`` action and a no-op ``config-changed``.
Every change is applied to the charm, then the baseline is restarted: each change is
one round, and failed requests (refused, reset, timed out, non-200) are counted per
round for each side.

Run: ``.venv/bin/python -m bench.lost_requests [--changes 20]`` (root).
"""

from __future__ import annotations

import argparse
import http.client
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from bench.machine import (
    CHARM,
    UNIT,
    AppRepo,
    Model,
    bench_app_files,
    http_get,
    model,
    require_root,
    wait_serving,
)
from bench.stats import median, ratio, table

CHARM_PORT = 8102
NAIVE_PORT = 8103
NAIVE = "bench-naive.service"
KINDS = ("environment", "timeout", "redeploy", "rollback", "no-op")
CLIENT_TIMEOUT = 10.0
PAUSE = 0.01  # between two requests of one client thread: steady, not saturating

NAIVE_UNIT = f"""\
# The benchmark's naive baseline: the charm's release, settings and gunicorn
# configuration, but gunicorn binds its own port (no socket activation) and every
# change is applied with `systemctl restart`.
[Unit]
Description=bench baseline: gunicorn without socket activation

[Service]
Type=notify
NotifyAccess=main
User=wsgi-app
Group=wsgi-app
WorkingDirectory=/srv/wsgi-app/current/app
EnvironmentFile=/etc/wsgi-app/settings.env
Environment=PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
ExecStart=/srv/wsgi-app/current/venv/bin/python -m gunicorn --config /etc/wsgi-app/gunicorn.conf.py \
--bind 127.0.0.1:{NAIVE_PORT} --name bench-naive --worker-tmp-dir /run/bench-naive
KillMode=mixed
TimeoutStopSec=40
RuntimeDirectory=bench-naive
"""


def plan(count: int) -> list[str]:
    """The kinds of the ``count`` changes, cycling through :data:`KINDS`."""
    return [KINDS[number % len(KINDS)] for number in range(count)]


@dataclass
class Load:
    """Clients requesting ``/`` on one port in a loop until stopped, bounded in time and count."""

    port: int
    threads: int = 3
    max_seconds: float = 900
    max_requests: int = 500_000
    ok: int = 0
    failed: int = 0
    kinds: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._deadline = time.monotonic() + self.max_seconds
        self._workers = [threading.Thread(target=self._loop, daemon=True) for _ in range(self.threads)]

    def _loop(self) -> None:
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            try:
                status, _ = http_get(self.port, "/", timeout=CLIENT_TIMEOUT)
                failure = "" if status == 200 else f"HTTP {status}"
            except (OSError, http.client.HTTPException) as error:
                failure = type(error).__name__
            with self._lock:
                if failure:
                    self.failed += 1
                    self.kinds[failure] += 1
                else:
                    self.ok += 1
                if self.ok + self.failed >= self.max_requests:
                    self._stop.set()
            time.sleep(PAUSE)

    def start(self) -> None:
        for worker in self._workers:
            worker.start()

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=CLIENT_TIMEOUT + 5)


class Changes:
    """Applies the change kinds to the charm, as an operator would."""

    def __init__(self, local: Model, repo: AppRepo):
        self.local = local
        self.repo = repo
        self.version = 1

    def apply(self, kind: str, number: int) -> None:
        if kind == "environment":
            extra = "" if number % 2 else "\nBENCH_EXTRA=set"  # dropped next time: a restart
            self.local.config(environment=f"BENCH_GREETING=change-{number}{extra}")
        elif kind == "timeout":
            self.local.config(timeout=30 + number)
        elif kind == "redeploy":
            self.version += 1
            self.repo.commit(bench_app_files(f"v{self.version}"), f"v{self.version}")
            self.local.action("redeploy")
            body = http_get(CHARM_PORT, "/")[1]
            if not body.startswith(f"bench v{self.version} "):
                raise RuntimeError(f"redeploy of v{self.version} not serving: {body!r}")
        elif kind == "rollback":
            self.local.action("rollback")
        else:
            self.local.cli("run-hook", UNIT, "config-changed")


def install_naive(local: Model) -> None:
    escaped = NAIVE_UNIT.replace("'", "'\\''")
    local.sh(f"printf '%s' '{escaped}' > /etc/systemd/system/{NAIVE} && systemctl daemon-reload")
    local.sh(f"systemctl start {NAIVE}")
    wait_serving(NAIVE_PORT)


@dataclass
class Round:
    kind: str
    charm_failed: int
    naive_failed: int
    charm_seconds: float


def run(count: int = 20) -> str:
    """Deploy, set up the baseline, apply ``count`` changes under load; the report."""
    require_root()
    with model("bench-lost") as local:
        repo = AppRepo(local.share())
        repo.commit(bench_app_files("v1"), "v1")
        local.deploy(CHARM, port=CHARM_PORT, app_repo=repo.url, health_check_path="/healthz")
        install_naive(local)
        changes = Changes(local, repo)
        charm, naive = Load(CHARM_PORT), Load(NAIVE_PORT)
        rounds: list[Round] = []
        charm.start()
        naive.start()
        try:
            for number, kind in enumerate(plan(count)):
                before = (charm.failed, naive.failed)
                start = time.monotonic()
                changes.apply(kind, number)
                took = time.monotonic() - start
                local.sh(f"systemctl restart {NAIVE}")
                time.sleep(1)  # requests in flight across the change finish
                rounds.append(Round(kind, charm.failed - before[0], naive.failed - before[1], took))
                print(
                    f"    {number + 1:2d} {kind:<11} charm {rounds[-1].charm_failed:3d} failed "
                    f"({took:4.1f}s)  naive {rounds[-1].naive_failed:3d} failed",
                    file=sys.stderr,
                    flush=True,
                )
        finally:
            charm.stop()
            naive.stop()
        serving = http_get(CHARM_PORT, "/")[1].strip()
        return report(rounds, charm, naive, serving)


def report(rounds: list[Round], charm: Load, naive: Load, serving: str) -> str:
    rows = []
    for kind in KINDS:
        mine = [r for r in rounds if r.kind == kind]
        rows.append(
            [
                kind,
                len(mine),
                sum(r.charm_failed for r in mine),
                sum(r.naive_failed for r in mine),
                f"{median([r.charm_seconds for r in mine]):.1f}s" if mine else "-",
            ]
        )
    charm_total = sum(r.charm_failed for r in rounds)
    naive_total = sum(r.naive_failed for r in rounds)
    rows.append(["total", len(rounds), charm_total, naive_total, ""])
    return (
        f"Requests lost during {len(rounds)} changes (target: 0 for the charm)\n\n"
        + table(["change", "n", "charm failed", "naive failed", "charm apply (median)"], rows)
        + f"\n\nrequests: charm {charm.ok + charm.failed} ({dict(charm.kinds) or 'no failure'}), "
        f"naive {naive.ok + naive.failed} ({dict(naive.kinds) or 'no failure'})\n"
        f"median failed per change: charm {median([r.charm_failed for r in rounds]):g}, "
        f"naive {median([r.naive_failed for r in rounds]):g}\n"
        f"ratio charm/naive (total failed): {ratio(charm_total, naive_total):.3f}\n"
        f"charm serves at the end: {serving!r}\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=20)
    print(run(parser.parse_args().changes))


if __name__ == "__main__":
    main()
