"""Throughput of the charm's default gunicorn settings against hand-tuned ones.

One machine, one gunicorn unit: each configuration is applied with ``localjuju
config`` (workers, threads, worker_class), exactly as an operator would, and wrk on
the host measures requests/s on a CPU-bound page (~5 ms of Python) and an I/O-bound
page (50 ms asleep), with 32 and with 128 concurrent keep-alive clients.

1. Screening: one short wrk run per page and client count for every hand-tuned
   configuration of the grid, to find the best candidates.
2. Rounds: the defaults, the two best candidates per page and client count (at most
   :data:`MAX_FINALISTS`) and the fixed settings of older charms (1 sync worker, which is
   also what paas-charm runs when its webserver options are unset, and 9 sync workers),
   in interleaved order (forward, backward, forward...); the result is the median per
   configuration. ``--candidate 5x8`` adds a configuration to the rounds (e.g. a proposed
   new default), ``--no-screen`` skips 1.

Run: ``.venv/bin/python -m bench.throughput [--rounds 2] [--seconds 6]`` (root; about
17 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import dataclass, field

import yaml

from bench import machine
from bench.machine import CHARM, bench_app_files, bench_repo, model, require_root, wait_serving
from bench.stats import interleaved, median, ratio, table
from localjuju.driver import LocalModel

PORT = 8101
ENDPOINTS = ("/cpu", "/io")
CLIENTS = (32, 128)  # concurrent keep-alive connections of wrk
IO_SECONDS = 0.05  # what the /io page sleeps: clients / IO_SECONDS bounds its req/s
WRK_THREADS = 2
SETTLE_SECONDS = 60
MAX_FINALISTS = 6
TARGET_BEST = 0.95
TARGET_BOUND = 0.80  # of the Little's-law bound, /io at the fewest clients


@dataclass(frozen=True)
class Gunicorn:
    """The charm options of one configuration (0 = let the charm choose)."""

    workers: int
    threads: int
    worker_class: str
    label: str = ""

    def name(self) -> str:
        if self.label:
            return self.label
        if self.worker_class != "gthread":
            return f"{self.worker_class} {self.workers}"
        return f"{self.worker_class} {self.workers}x{self.threads}"

    def options(self) -> dict[str, str | int]:
        return {"workers": self.workers, "threads": self.threads, "worker_class": self.worker_class}


def charm_defaults() -> Gunicorn:
    """The built charm's own defaults, from its config.yaml."""
    options = yaml.safe_load((CHARM / "config.yaml").read_text())["options"]
    return Gunicorn(
        workers=int(options["workers"]["default"]),
        threads=int(options["threads"]["default"]),
        worker_class=str(options["worker_class"]["default"]),
        label="defaults",
    )


def grid(cores: int) -> list[Gunicorn]:
    """sync, gthread and gevent around ``2 x cores + 1`` workers: 13 configurations.

    * sync: ``2 x cores + 1`` workers (1 and 9 are measured as the older charms' settings);
    * gthread: {2, 2 x cores + 1} workers x {4, 8, 16, 32} threads, and 8 workers x
      {16, 32}: 1 thread is sync again, and more than 8 workers on a few cores only
      adds processes;
    * gevent: {2, 2 x cores + 1} workers (1000 connections each, gunicorn's default).

    Ordered by worker class, so the screening switches class (a new virtualenv for
    gevent) as seldom as possible.
    """
    default = 2 * cores + 1
    configs = [Gunicorn(default, 1, "sync")]
    configs += [Gunicorn(count, t, "gthread") for count in (2, default) for t in (4, 8, 16, 32)]
    configs += [Gunicorn(8, t, "gthread") for t in (16, 32)]
    configs += [Gunicorn(count, 1, "gevent") for count in (2, default)]
    return configs


# paas-charm (canonical/paas-charm, src/paas_charm/_gunicorn/webserver.py) writes workers
# and threads into gunicorn.conf.py only when webserver-workers/-threads are set, and
# neither option has a default: it runs gunicorn's own 1 sync worker.
OLDER_CHARMS = (
    Gunicorn(1, 1, "sync", "old: 1 sync (= paas-charm)"),
    Gunicorn(9, 1, "sync", "old: 9 sync"),
)


Key = tuple[str, str, int]  # configuration name, page, clients


@dataclass
class Measurements:
    """req/s per (configuration, page, clients), one value per round."""

    rates: dict[Key, list[float]] = field(default_factory=dict)
    rendered: dict[str, str] = field(default_factory=dict)  # name -> what gunicorn ran

    def add(self, name: str, endpoint: str, clients: int, rate: float) -> None:
        self.rates.setdefault((name, endpoint, clients), []).append(rate)

    def median(self, name: str, endpoint: str, clients: int) -> float:
        return median(self.rates[(name, endpoint, clients)])


@dataclass(frozen=True)
class Rendered:
    """The worker settings of a gunicorn.conf.py the charm wrote."""

    workers: int
    threads: int
    worker_class: str
    connections: int

    def line(self) -> str:
        return (
            f"{self.worker_class} {self.workers} workers x {self.threads} threads, "
            f"{self.connections} connections"
        )


def parse_conf(text: str) -> Rendered:
    """Read workers, threads, worker_class and worker_connections from a rendered
    gunicorn.conf.py; raises ``ValueError`` when one is missing."""
    found = {
        name: re.search(rf"^{name} = '?(\w+)'?$", text, re.MULTILINE)
        for name in ("workers", "threads", "worker_class", "worker_connections")
    }
    missing = [name for name, match in found.items() if match is None]
    if missing:
        raise ValueError(f"gunicorn.conf.py without {', '.join(missing)}")
    value = {name: match.group(1) for name, match in found.items() if match is not None}
    return Rendered(
        int(value["workers"]), int(value["threads"]), value["worker_class"], int(value["worker_connections"])
    )


def apply(local: LocalModel, config: Gunicorn) -> str:
    """Configure the charm, wait until gunicorn runs exactly the new workers; what runs."""
    local.config(**config.options())
    conf = parse_conf(local.sh("cat /etc/wsgi-app/gunicorn.conf.py"))
    workers = conf.workers
    end = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < end:  # old workers finish their requests after a reload
        pid = local.main_pid()  # 0 while a handover has no serving slot recorded yet
        children = local.sh(f"ps -o pid= --ppid {pid} | wc -l").strip() if pid else "0"
        if int(children) == workers:
            break
        time.sleep(0.5)
    else:
        raise RuntimeError(f"gunicorn did not settle on {workers} workers for {config.name()}")
    wait_serving(PORT, "/healthz")
    return conf.line()


def wrk(endpoint: str, seconds: float, clients: int) -> float:
    """requests/s of one wrk run against ``endpoint`` on the unit."""
    return machine.wrk(f"http://127.0.0.1:{PORT}{endpoint}", seconds, WRK_THREADS, clients)


def measure(local: LocalModel, config: Gunicorn, seconds: float, data: Measurements) -> None:
    data.rendered[config.name()] = apply(local, config)
    for endpoint in ENDPOINTS:
        wrk(endpoint, 1, CLIENTS[0])  # warm-up: workers import, connections open
        for clients in CLIENTS:
            rate = wrk(endpoint, seconds, clients)
            data.add(config.name(), endpoint, clients, rate)
            line = f"    {config.name():<26} {endpoint:<5} -c{clients:<4} {rate:8.1f} req/s"
            print(line, file=sys.stderr, flush=True)


def finalists(
    screen: Measurements, configs: list[Gunicorn], per_key: int = 2, limit: int = MAX_FINALISTS
) -> list[Gunicorn]:
    """The ``per_key`` fastest configurations of the screening for each page and client
    count, best ranks first, at most ``limit``."""
    ranked = {
        (endpoint, clients): sorted(configs, key=lambda c: -screen.median(c.name(), endpoint, clients))
        for endpoint in ENDPOINTS
        for clients in CLIENTS
    }
    chosen: list[Gunicorn] = []
    for rank in range(per_key):
        for order in ranked.values():
            if rank < len(order) and order[rank] not in chosen:
                chosen.append(order[rank])
    return chosen[:limit]


def cores_of(local: LocalModel) -> int:
    return int(local.sh("nproc").strip())


def parse_candidate(text: str) -> Gunicorn:
    """``"5x8"`` -> gthread with 5 workers of 8 threads; raises ``ValueError`` otherwise."""
    workers, sep, threads = text.partition("x")
    if not sep or not workers.isdigit() or not threads.isdigit():
        raise ValueError(f"expected WORKERSxTHREADS, e.g. 5x8: {text!r}")
    return Gunicorn(int(workers), int(threads), "gthread")


def bound(endpoint: str, clients: int) -> float | None:
    """Little's law: ``clients`` busy on a page that waits ``IO_SECONDS`` can get at most
    clients / IO_SECONDS answers a second; ``None`` for a page that computes."""
    return clients / IO_SECONDS if endpoint == "/io" else None


def summary_row(
    data: Measurements, endpoint: str, clients: int, tuned: list[str], controls: list[str]
) -> list[str]:
    """One row of the report: the defaults against the best hand-tuned, the older charms,
    the Little's-law bound and the A/A controls, for one page and client count."""
    old1, old9 = (config.name() for config in OLDER_CHARMS)
    mine = data.median("defaults", endpoint, clients)
    best = max(tuned, key=lambda name: data.median(name, endpoint, clients))
    best_rate = data.median(best, endpoint, clients)
    limit = bound(endpoint, clients)
    return [
        endpoint,
        str(clients),
        f"{mine:.0f}",
        f"{best_rate:.0f} ({best})",
        f"{ratio(mine, best_rate):.2f}",
        f"{ratio(mine, data.median(old1, endpoint, clients)):.2f}",
        f"{ratio(mine, data.median(old9, endpoint, clients)):.2f}",
        f"{ratio(mine, limit):.2f} of {limit:.0f}" if limit else "-",
        ", ".join(f"{ratio(mine, data.median(c, endpoint, clients)):.2f}" for c in controls) or "-",
    ]


SUMMARY_HEADER = (
    "page",
    "clients",
    "defaults",
    "best hand-tuned",
    "defaults/best",
    "vs 1 sync (= paas-charm)",
    "vs 9 sync",
    "of Little's bound",
    "A/A control",
)


def report(
    data: Measurements, defaults: Gunicorn, contenders: list[Gunicorn], rounds: int, seconds: float
) -> str:
    """Per page and client count: defaults against the best hand-tuned and the older
    charms, then every round.

    A contender that renders exactly what the defaults render is an A/A control: its
    ratio to the defaults shows how much of a difference is noise.
    """
    names = [config.name() for config in contenders]
    tuned = [name for name in names if name not in (defaults.name(), OLDER_CHARMS[1].name())]
    controls = [name for name in tuned if data.rendered[name] == data.rendered[defaults.name()]]
    rows = [summary_row(data, e, c, tuned, controls) for e in ENDPOINTS for c in CLIENTS]
    keys = [(e, c) for e in ENDPOINTS for c in CLIENTS]
    every = [
        [name, data.rendered[name], *(" ".join(f"{v:.0f}" for v in data.rates[(name, *k)]) for k in keys)]
        for name in names
    ]
    return (
        f"Throughput (req/s, median of {rounds} interleaved rounds of wrk -t{WRK_THREADS} "
        f"-c{'/'.join(map(str, CLIENTS))} -d{seconds:g}s, keep-alive; targets: defaults/best "
        f">= {TARGET_BEST}, /io at {CLIENTS[0]} clients >= {TARGET_BOUND} of Little's bound "
        f"clients / {IO_SECONDS * 1000:g} ms)\n\n"
        + table(SUMMARY_HEADER, rows)
        + "\n\nEvery round (req/s, in run order):\n\n"
        + table(["configuration", "what gunicorn ran", *(f"{e} -c{c}" for e, c in keys)], every)
        + "\n"
    )


def screen_grid(local: LocalModel, seconds: float) -> tuple[list[Gunicorn], str]:
    """One short run per grid configuration: the finalists and the screening table."""
    configs = grid(cores_of(local))
    print(f"-> screening {len(configs)} configurations ({seconds:g}s each)", file=sys.stderr)
    screen = Measurements()
    for config in configs:
        measure(local, config, seconds, screen)
    keys = [(e, c) for e in ENDPOINTS for c in CLIENTS]
    rows = [[c.name(), *(f"{screen.median(c.name(), *k):.0f}" for k in keys)] for c in configs]
    header = ["configuration", *(f"{e} -c{c}" for e, c in keys)]
    return finalists(
        screen, configs
    ), f"\nScreening (one {seconds:g}s run each, req/s):\n\n{table(header, rows)}\n"


def run(
    rounds: int = 2,
    seconds: float = 6,
    screen_seconds: float = 4,
    candidates: tuple[Gunicorn, ...] = (),
    screen: bool = True,
) -> str:
    """Deploy, screen the grid (unless told not to), measure the finalists in rounds; the report."""
    require_root()
    with model("bench-throughput") as local:
        repo = bench_repo(local.share())
        repo.commit(bench_app_files("v1"), "v1")
        local.deploy(CHARM, port=PORT, app_repo=repo.url, health_check_path="/healthz")
        tuned, screening = screen_grid(local, screen_seconds) if screen else ([], "")
        defaults = charm_defaults()
        by_name = {c.name(): c for c in [defaults, *tuned, *candidates, *OLDER_CHARMS]}
        data = Measurements()
        for number, name in interleaved(list(by_name), rounds):
            print(f"-> round {number + 1}/{rounds}: {name}", file=sys.stderr, flush=True)
            measure(local, by_name[name], seconds, data)
        return report(data, defaults, list(by_name.values()), rounds, seconds) + screening


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=6)
    parser.add_argument("--screen-seconds", type=float, default=4)
    parser.add_argument(
        "--no-screen", action="store_true", help="measure only defaults, candidates, old charms"
    )
    parser.add_argument(
        "--candidate", action="append", default=[], type=parse_candidate, help="also measure WxT (gthread)"
    )
    args = parser.parse_args()
    print(run(args.rounds, args.seconds, args.screen_seconds, tuple(args.candidate), not args.no_screen))


if __name__ == "__main__":
    main()
