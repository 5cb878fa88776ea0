"""Throughput of the charm's default gunicorn settings against hand-tuned ones.

One machine, one gunicorn unit: each configuration is applied with ``localjuju
config`` (workers, threads, worker_class), exactly as an operator would, and wrk on
the host measures requests/s on a CPU-bound page (~5 ms of Python) and an I/O-bound
page (50 ms asleep).

1. Screening: one short wrk run per endpoint for every hand-tuned configuration of the
   grid, to find the best candidates.
2. Rounds: the defaults, the two best candidates per endpoint and the fixed settings of
   older charms (1 sync worker, 9 sync workers), in interleaved order (forward, backward,
   forward...); the result is the median per configuration. ``--candidate 5x8`` adds a
   configuration to the rounds (e.g. a proposed new default), ``--no-screen`` skips 1.

Run: ``.venv/bin/python -m bench.throughput [--rounds 3] [--seconds 8]`` (root).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import dataclass, field

import yaml

from bench import machine
from bench.machine import CHARM, AppRepo, Model, bench_app_files, model, require_root, wait_serving
from bench.stats import interleaved, median, ratio, table

PORT = 8101
ENDPOINTS = ("/cpu", "/io")
CONNECTIONS = 32
WRK_THREADS = 2
SETTLE_SECONDS = 60


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
        if self.worker_class == "sync":
            return f"sync {self.workers}"
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
    """workers {1, 2, 4, 2 x cores + 1, 8} x (sync | gthread with 4 or 8 threads).

    Pruned: a sync worker has one thread whatever ``threads`` says (the charm renders
    threads=1), and gthread with 1 thread behaves as sync, so neither is measured twice.
    Ordered by worker class, so the screening switches class once.
    """
    workers = sorted({1, 2, 4, 2 * cores + 1, 8})
    configs = [Gunicorn(count, 1, "sync") for count in workers]
    configs += [Gunicorn(count, threads, "gthread") for count in workers for threads in (4, 8)]
    return configs


OLDER_CHARMS = (Gunicorn(1, 1, "sync", "old: 1 sync"), Gunicorn(9, 1, "sync", "old: 9 sync"))


@dataclass
class Measurements:
    """req/s per (configuration, endpoint), one value per round."""

    rates: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    errors: int = 0
    rendered: dict[str, str] = field(default_factory=dict)  # name -> what gunicorn ran

    def add(self, name: str, endpoint: str, rate: float) -> None:
        self.rates.setdefault((name, endpoint), []).append(rate)

    def median(self, name: str, endpoint: str) -> float:
        return median(self.rates[(name, endpoint)])


def rendered(local: Model) -> tuple[int, int, str]:
    """workers, threads and worker_class of the gunicorn.conf.py the charm wrote."""
    text = local.sh("cat /etc/wsgi-app/gunicorn.conf.py")
    workers = re.search(r"^workers = (\d+)", text, re.MULTILINE)
    threads = re.search(r"^threads = (\d+)", text, re.MULTILINE)
    klass = re.search(r"^worker_class = ['\"](\w+)['\"]", text, re.MULTILINE)
    assert workers and threads and klass, text
    return int(workers.group(1)), int(threads.group(1)), klass.group(1)


def apply(local: Model, config: Gunicorn) -> str:
    """Configure the charm, wait until gunicorn runs exactly the new workers; what runs."""
    local.config(**config.options())
    workers, threads, klass = rendered(local)
    end = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < end:  # old workers finish their requests after a reload
        pid = local.main_pid()
        children = local.sh(f"ps -o pid= --ppid {pid} | wc -l").strip()
        if int(children) == workers:
            break
        time.sleep(0.5)
    else:
        raise RuntimeError(f"gunicorn did not settle on {workers} workers for {config.name()}")
    wait_serving(PORT, "/healthz")
    return f"{klass} {workers} workers x {threads} threads"


def wrk(endpoint: str, seconds: float) -> float:
    """requests/s of one wrk run against ``endpoint`` on the unit."""
    return machine.wrk(f"http://127.0.0.1:{PORT}{endpoint}", seconds, WRK_THREADS, CONNECTIONS)


def measure(local: Model, config: Gunicorn, seconds: float, data: Measurements) -> None:
    data.rendered[config.name()] = apply(local, config)
    for endpoint in ENDPOINTS:
        wrk(endpoint, 1)  # warm-up: workers import, connections open
        rate = wrk(endpoint, seconds)
        data.add(config.name(), endpoint, rate)
        print(f"    {config.name():<14} {endpoint:<5} {rate:8.1f} req/s", file=sys.stderr, flush=True)


def finalists(screen: Measurements, configs: list[Gunicorn], per_endpoint: int = 2) -> list[Gunicorn]:
    """The ``per_endpoint`` fastest configurations of the screening for each endpoint."""
    chosen: list[Gunicorn] = []
    for endpoint in ENDPOINTS:
        ranked = sorted(configs, key=lambda c: screen.median(c.name(), endpoint), reverse=True)
        chosen += [config for config in ranked[:per_endpoint] if config not in chosen]
    return chosen


def cores_of(local: Model) -> int:
    return int(local.sh("nproc").strip())


def parse_candidate(text: str) -> Gunicorn:
    """``"5x8"`` -> gthread with 5 workers of 8 threads; raises ``ValueError`` otherwise."""
    workers, sep, threads = text.partition("x")
    if not sep or not workers.isdigit() or not threads.isdigit():
        raise ValueError(f"expected WORKERSxTHREADS, e.g. 5x8: {text!r}")
    return Gunicorn(int(workers), int(threads), "gthread")


def report(
    data: Measurements, defaults: Gunicorn, contenders: list[Gunicorn], rounds: int, seconds: float
) -> str:
    """Per endpoint: defaults against the best hand-tuned and the older charms, then every median.

    A contender that renders exactly what the defaults render is an A/A control: its
    ratio to the defaults shows how much of a difference is noise.
    """
    old1, old9 = (config.name() for config in OLDER_CHARMS)
    tuned = [config for config in contenders if config.name() not in (defaults.name(), old9)]
    controls = [c.name() for c in tuned if data.rendered[c.name()] == data.rendered[defaults.name()]]
    rows = []
    for endpoint in ENDPOINTS:
        best = max(tuned, key=lambda c: data.median(c.name(), endpoint)).name()
        mine = data.median(defaults.name(), endpoint)
        rows.append(
            [
                endpoint,
                f"{mine:.0f}",
                f"{data.median(best, endpoint):.0f} ({best})",
                f"{ratio(mine, data.median(best, endpoint)):.2f}",
                f"{ratio(mine, data.median(old1, endpoint)):.2f}",
                f"{ratio(mine, data.median(old9, endpoint)):.2f}",
                ", ".join(f"{ratio(mine, data.median(c, endpoint)):.2f}" for c in controls) or "-",
            ]
        )
    every = [
        [
            c.name(),
            data.rendered[c.name()],
            *(" ".join(f"{v:.0f}" for v in data.rates[(c.name(), e)]) for e in ENDPOINTS),
        ]
        for c in contenders
    ]
    return (
        f"Throughput (req/s, median of {rounds} interleaved rounds of wrk -t{WRK_THREADS} "
        f"-c{CONNECTIONS} -d{seconds:g}s, keep-alive; target defaults/best >= 0.95)\n\n"
        + table(
            [
                "endpoint",
                "defaults",
                "best hand-tuned",
                "defaults/best",
                "vs 1 sync",
                "vs 9 sync",
                "A/A control",
            ],
            rows,
        )
        + "\n\nEvery round (req/s, in run order):\n\n"
        + table(["configuration", "what gunicorn ran", *ENDPOINTS], every)
        + "\n"
    )


def screen_grid(local: Model, seconds: float) -> tuple[list[Gunicorn], str]:
    """One short run per grid configuration: the finalists and the screening table."""
    configs = grid(cores_of(local))
    print(f"-> screening {len(configs)} configurations ({seconds:g}s each)", file=sys.stderr)
    screen = Measurements()
    for config in configs:
        measure(local, config, seconds, screen)
    rows = [[c.name(), *(f"{screen.median(c.name(), e):.0f}" for e in ENDPOINTS)] for c in configs]
    text = (
        f"\nScreening (one {seconds:g}s run each, req/s):\n\n{table(['configuration', *ENDPOINTS], rows)}\n"
    )
    return finalists(screen, configs), text


def run(
    rounds: int = 3,
    seconds: float = 8,
    screen_seconds: float = 4,
    candidates: tuple[Gunicorn, ...] = (),
    screen: bool = True,
) -> str:
    """Deploy, screen the grid (unless told not to), measure the finalists in rounds; the report."""
    require_root()
    with model("bench-throughput") as local:
        repo = AppRepo(local.share())
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
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8)
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
