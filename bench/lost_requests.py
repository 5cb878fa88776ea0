"""Requests lost while changes are applied: the charm against a naive restart.

One machine serves the benchmark application twice, side by side, from the same
release, virtualenv, settings and gunicorn configuration:

* the charm's unit on :8102 (socket activation; the charm reloads or restarts);
* a naive baseline on :8103: a plain gunicorn service bound to its port itself,
  ``systemctl restart``-ed for every change.

Steady load (a few client threads, short timeouts) runs against both while 20 changes
are applied: environment changes (half of them remove a setting) and timeout changes,
which the charm applies by reloading the serving slot; a new commit with the
``redeploy`` action, a new virtualenv (``python_packages`` toggled between nothing and
``six``), a unit change (``statsd_host`` toggled, which adds or drops the exporter's
settings in the unit) and the ``rollback`` action, which the charm hands over from one
slot to the other; and a no-op ``config-changed``. Every change is applied to the
charm, then the baseline is restarted: each change is one round, and failed requests
(refused, reset, timed out, non-200) are counted per round for each side.

The 20 changes run twice on the same machines: first with clients that open a new
connection per request, then with clients that keep one connection each (reopened
after an error; a ``Connection: close`` answer is not an error), as browsers and
proxies do.

Run: ``.venv/bin/python -m bench.lost_requests [--changes 20]`` (root).
"""

from __future__ import annotations

import argparse
import http.client
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.machine import (
    CHARM,
    UNIT,
    bench_app_files,
    bench_repo,
    http_get,
    model,
    require_root,
    wait_serving,
)
from bench.stats import median, ratio, table
from localjuju.driver import LocalModel, ShareRepo

CHARM_PORT = 8102
NAIVE_PORT = 8103
NAIVE = "bench-naive.service"
KINDS = ("environment", "timeout", "redeploy", "venv", "unit", "rollback", "no-op")
CLIENTS = ("new connection", "keep-alive")
SMALL_PACKAGE = "six"  # pure Python, one module: a new virtualenv that installs quickly
STATSD = "127.0.0.1:8125"
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


class KeptAlive:
    """One HTTP/1.1 connection to 127.0.0.1:``port``, reused for every request.

    After an error it is closed, and the next request opens a new one. When the server
    answers ``Connection: close``, http.client closes it after the answer and reopens
    it for the next request by itself: that is the server's way to move a client, not
    an error.
    """

    def __init__(self, port: int, timeout: float = CLIENT_TIMEOUT):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def get(self, path: str = "/") -> int:
        try:
            self.connection.request("GET", path)
            answer = self.connection.getresponse()
            answer.read()
            return answer.status
        except BaseException:
            self.connection.close()
            raise

    def close(self) -> None:
        self.connection.close()


def new_connection_client(port: int) -> Callable[[], int]:
    """A client that opens a new connection for every request (``Connection: close``)."""
    return lambda: http_get(port, "/", timeout=CLIENT_TIMEOUT)[0]


@dataclass
class Load:
    """Clients requesting ``/`` on one port in a loop until stopped, bounded in time and
    count; ``keep_alive`` clients reuse one connection each."""

    port: int
    keep_alive: bool = False
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
        kept = KeptAlive(self.port) if self.keep_alive else None
        get = kept.get if kept else new_connection_client(self.port)
        try:
            while not self._stop.is_set() and time.monotonic() < self._deadline:
                self._count(request_failure(get))
                time.sleep(PAUSE)
        finally:
            if kept:
                kept.close()

    def _count(self, failure: str) -> None:
        with self._lock:
            if failure:
                self.failed += 1
                self.kinds[failure] += 1
            else:
                self.ok += 1
            if self.ok + self.failed >= self.max_requests:
                self._stop.set()

    def start(self) -> None:
        for worker in self._workers:
            worker.start()

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=CLIENT_TIMEOUT + 5)


def request_failure(get: Callable[[], int]) -> str:
    """What went wrong with one request: ``""`` (200), ``"HTTP <status>"`` or the error's name."""
    try:
        status = get()
    except (OSError, http.client.HTTPException) as error:
        return type(error).__name__
    return "" if status == 200 else f"HTTP {status}"


class Changes:
    """Applies the change kinds to the charm, as an operator would."""

    def __init__(self, local: LocalModel, repo: ShareRepo):
        self.local = local
        self.repo = repo
        self.version = 1
        self.toggled: Counter[str] = Counter()  # how often venv and unit were changed

    def apply(self, kind: str, number: int) -> None:
        if kind == "environment":
            extra = "" if number % 2 else "\nBENCH_EXTRA=set"  # dropped the next time
            self.local.config(environment=f"BENCH_GREETING=change-{number}{extra}")
        elif kind == "timeout":
            self.local.config(timeout=30 + number)
        elif kind == "redeploy":
            self.redeploy()
        elif kind in ("venv", "unit"):
            self.toggle(kind)
        elif kind == "rollback":
            self.local.completed("rollback")
        else:
            self.local.cli("run-hook", UNIT, "config-changed")

    def redeploy(self) -> None:
        self.version += 1
        self.repo.commit(bench_app_files(f"v{self.version}"), f"v{self.version}")
        self.local.completed("redeploy")
        body = http_get(CHARM_PORT, "/")[1]
        if not body.startswith(f"bench v{self.version} "):
            raise RuntimeError(f"redeploy of v{self.version} not serving: {body!r}")

    def toggle(self, kind: str) -> None:
        """Switch python_packages (venv) or statsd_host (unit) on, or back off."""
        on = self.toggled[kind] % 2 == 0
        self.toggled[kind] += 1
        if kind == "venv":
            self.local.config(python_packages=SMALL_PACKAGE if on else "")
        else:
            self.local.config(statsd_host=STATSD if on else "")


def install_naive(local: LocalModel) -> None:
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


@dataclass
class Pass:
    """The changes applied under one kind of client, and the loads on both sides."""

    clients: str
    rounds: list[Round]
    charm: Load
    naive: Load


def under_load(local: LocalModel, changes: Changes, kinds: list[str], keep_alive: bool) -> Pass:
    """Apply ``kinds`` to the charm (then restart the baseline) while both are loaded."""
    charm, naive = Load(CHARM_PORT, keep_alive), Load(NAIVE_PORT, keep_alive)
    done = Pass(CLIENTS[keep_alive], [], charm, naive)
    charm.start()
    naive.start()
    try:
        for number, kind in enumerate(kinds):
            before = (charm.failed, naive.failed)
            start = time.monotonic()
            changes.apply(kind, number)
            took = time.monotonic() - start
            local.sh(f"systemctl restart {NAIVE}")
            time.sleep(1)  # requests in flight across the change finish
            done.rounds.append(Round(kind, charm.failed - before[0], naive.failed - before[1], took))
            last = done.rounds[-1]
            print(
                f"    {number + 1:2d} {kind:<11} charm {last.charm_failed:3d} failed "
                f"({took:4.1f}s)  naive {last.naive_failed:3d} failed",
                file=sys.stderr,
                flush=True,
            )
    finally:
        charm.stop()
        naive.stop()
    return done


def run(count: int = 20) -> str:
    """Deploy, set up the baseline, apply ``count`` changes under load from each kind of
    client in turn; the report."""
    require_root()
    with model("bench-lost") as local:
        repo = bench_repo(local.share())
        repo.commit(bench_app_files("v1"), "v1")
        local.deploy(CHARM, port=CHARM_PORT, app_repo=repo.url, health_check_path="/healthz")
        install_naive(local)
        changes = Changes(local, repo)
        passes = []
        for keep_alive in (False, True):
            print(f"-> {count} changes, {CLIENTS[keep_alive]} clients", file=sys.stderr, flush=True)
            passes.append(under_load(local, changes, plan(count), keep_alive))
        serving = http_get(CHARM_PORT, "/")[1].strip()
        return "\n".join(report(done) for done in passes) + f"\ncharm serves at the end: {serving!r}\n"


def report(done: Pass) -> str:
    """The failed requests of one pass, per change kind, and their totals."""
    rounds, charm, naive = done.rounds, done.charm, done.naive
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
        f"Requests lost during {len(rounds)} changes, {done.clients} clients "
        "(target: 0 for the charm)\n\n"
        + table(["change", "n", "charm failed", "naive failed", "charm apply (median)"], rows)
        + f"\n\nrequests: charm {charm.ok + charm.failed} ({dict(charm.kinds) or 'no failure'}), "
        f"naive {naive.ok + naive.failed} ({dict(naive.kinds) or 'no failure'})\n"
        f"median failed per change: charm {median([r.charm_failed for r in rounds]):g}, "
        f"naive {median([r.naive_failed for r in rounds]):g}\n"
        f"ratio charm/naive (total failed): {ratio(charm_total, naive_total):.3f}\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=20)
    print(run(parser.parse_args().changes))


if __name__ == "__main__":
    main()
