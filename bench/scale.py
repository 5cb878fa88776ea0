"""Throughput through apache2 with 1, 2 and 3 units of the charm (ratio to 1 unit), and
the same units hit directly (the proxy's overhead).

The stack of ``tests/e2e/test_scale.py``, on one host: apache2 (the runner's real one,
set up as the apache2 charm's ``balancer`` relation does) in front of N units, each on
a machine of its own on the model's network (``deploy --isolated``). The benchmark app
(bench/machine.py) comes from a ``git daemon`` in the model's server namespace, and wrk
runs there too, so no request leaves the namespaces the runner made.

Every unit runs the same fixed gunicorn (2 gthread workers x 4 threads), so the ratio
shows what adding a unit adds, not what the charm's worker sizing does. The unit count
moves up and down (1, 2, 3, 3, 2, 1, ...: one round per direction) and each count's
result is the median of its rounds.

At every count each page is also measured without apache2: one wrk per unit, run at
the same time, the 32 connections split between them, straight to the units' own
addresses; the sum is what the units serve by themselves, and apache2/direct is what
the proxy keeps of it. The two alternate which goes first from one unit count to the next.

What to expect: the I/O-bound page (50 ms asleep) is limited by each unit's 8 threads,
so it scales with the units; the CPU-bound page is limited by the host's cores, which
every machine here shares, so more units cannot make it faster (on separate hosts they
would).

Run: ``.venv/bin/python -m bench.scale [--rounds 2] [--seconds 8]`` (root).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench import machine
from bench.machine import APP, CHARM, bench_app_files, bench_repo, isolated_wheels, model, require_root
from bench.stats import median, ratio, table
from localjuju.driver import LocalModel

MODEL = "bench-scale"
ENDPOINTS = ("/io", "/cpu")
COUNTS = (1, 2, 3)
ROUTES = ("apache2", "direct")
CONNECTIONS = 32
UNIT_PORT = 8080  # the charm's default port
WRK_THREADS = 2
GUNICORN = {"workers": 2, "threads": 4, "worker_class": "gthread"}
SERVERS_ADDRESS = "10.231.0.2"  # localjuju's server namespace on a model network
GIT_PORT = 9418


def netns(name: str = MODEL) -> str:
    return f"lj-{name}-srv"


@contextlib.contextmanager
def git_daemon(base: Path) -> Iterator[str]:
    """Serve the bare repositories under ``base`` read-only on the model network; their URL prefix."""
    command = [
        *("ip", "netns", "exec", netns(), "git", "daemon", "--reuseaddr", "--export-all"),
        f"--base-path={base}",
        f"--listen={SERVERS_ADDRESS}",
        f"--port={GIT_PORT}",
        str(base),
    ]
    daemon = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)
        if daemon.poll() is not None:
            raise RuntimeError(f"git daemon exited with {daemon.returncode}")
        yield f"git://{SERVERS_ADDRESS}"
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)


def wrk(url: str, seconds: float, connections: int = CONNECTIONS) -> float:
    """requests/s of one wrk run from the server namespace (keep-alive connections)."""
    return machine.wrk(url, seconds, min(WRK_THREADS, connections), connections, netns=netns())


def split(connections: int, parts: int) -> list[int]:
    """``connections`` shared out over ``parts`` as evenly as possible (32, 3 -> 11 11 10)."""
    return [connections // parts + (1 if number < connections % parts else 0) for number in range(parts)]


def wrk_together(urls: list[str], seconds: float) -> float:
    """requests/s of one wrk per URL, all at once, the connections split between them."""
    with ThreadPoolExecutor(len(urls)) as pool:
        runs = pool.map(wrk, urls, [seconds] * len(urls), split(CONNECTIONS, len(urls)))
        return sum(runs)


def direct(local: LocalModel, endpoint: str) -> list[str]:
    """The URL of ``endpoint`` on every unit's own address."""
    return [f"http://{local.unit(unit)['address']}:{UNIT_PORT}{endpoint}" for unit in units(local)]


def site(local: LocalModel) -> str:
    status = local.unit("apache2/0")
    return f"http://{SERVERS_ADDRESS}:{status['open-ports'][0].split('/')[0]}"


def units(local: LocalModel) -> list[str]:
    data = local.cli("status", "--format", "json").stdout
    found: list[str] = list(json.loads(data)["applications"][APP]["units"])
    return sorted(found, key=lambda unit: int(unit.split("/")[1]))


def resize(local: LocalModel, count: int) -> None:
    """Add or remove units (the newest first) until the application has ``count``."""
    while len(units(local)) < count:
        local.cli("add-unit", APP)
    while len(units(local)) > count:
        local.cli("remove-unit", units(local)[-1])
    members = local.unit("apache2/0")["message"]
    if f"{count} backend(s)" not in members:
        raise RuntimeError(f"apache2 does not balance over {count} units: {members}")


def plan(rounds: int) -> list[int]:
    """The unit counts in run order: up, down, up... (1 2 3 3 2 1 1 2 3 for 3 rounds)."""
    order: list[int] = []
    for number in range(rounds):
        order += list(COUNTS if number % 2 == 0 else reversed(COUNTS))
    return order


Rates = dict[tuple[int, str, str], list[float]]  # (units, page, route) -> req/s per round


def report(rates: Rates, rounds: int, seconds: float) -> str:
    """Per page and unit count: req/s through apache2, its ratio to 1 unit, the same units
    hit directly, and apache2/direct."""
    rows = []
    for endpoint in ENDPOINTS:
        one = median(rates[(1, endpoint, "apache2")])
        for count in COUNTS:
            proxied, straight = (rates[(count, endpoint, route)] for route in ROUTES)
            rows.append(
                [
                    endpoint,
                    str(count),
                    f"{median(proxied):.0f}",
                    f"{ratio(median(proxied), one):.2f}",
                    f"{median(straight):.0f}",
                    f"{ratio(median(proxied), median(straight)):.2f}",
                    " ".join(f"{v:.0f}" for v in proxied) + " / " + " ".join(f"{v:.0f}" for v in straight),
                ]
            )
    header = ["endpoint", "units", "apache2 req/s", "ratio to 1 unit", "direct req/s", "apache2/direct"]
    return (
        f"Throughput through apache2 and direct to the units (req/s; median of {rounds} rounds, "
        f"unit counts up then down; wrk -t{WRK_THREADS} -c{CONNECTIONS} -d{seconds:g}s from the "
        "model network, direct: one wrk per unit sharing the connections; every unit "
        f"gunicorn gthread {GUNICORN['workers']}x{GUNICORN['threads']}; "
        "all machines share this host's cores)\n\n"
        + table([*header, "every round (apache2 / direct)"], rows)
        + "\n"
    )


def measure(local: LocalModel, count: int, number: int, seconds: float, rates: Rates) -> None:
    """Both pages at the current unit count, through apache2 and direct, in an order that
    alternates from one measurement (``number``) to the next."""
    for endpoint in ENDPOINTS:
        urls = {"apache2": [f"{site(local)}{endpoint}"], "direct": direct(local, endpoint)}
        for route in ROUTES if number % 2 == 0 else reversed(ROUTES):
            wrk_together(urls[route], 1)  # warm-up: workers import, apache2 opens its connections
            rate = wrk_together(urls[route], seconds)
            rates.setdefault((count, endpoint, route), []).append(rate)
            line = f"    {count} unit(s) {endpoint:<5} {route:<8} {rate:8.1f} req/s"
            print(line, file=sys.stderr, flush=True)


def run(rounds: int = 2, seconds: float = 8) -> str:
    require_root()
    rates: Rates = {}
    with model(MODEL) as local, tempfile.TemporaryDirectory(prefix="bench-scale-") as temporary:
        local.cli("deploy", "apache2", "--isolated")  # also makes the server namespace
        repo = bench_repo(Path(temporary))
        repo.commit(bench_app_files("v1"), "v1")
        with git_daemon(Path(temporary) / "repos") as prefix:
            options = {"app_repo": f"{prefix}/benchapp.git", "health_check_path": "/healthz", **GUNICORN}
            local.deploy(CHARM, "--isolated", *isolated_wheels(), **options)
            local.cli("relate", "apache2:balancer", f"{APP}:website")
            for number, count in enumerate(plan(rounds)):
                print(f"-> {count} unit(s)", file=sys.stderr, flush=True)
                resize(local, count)
                measure(local, count, number, seconds, rates)
    return report(rates, rounds, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=8)
    args = parser.parse_args()
    print(run(args.rounds, args.seconds))


if __name__ == "__main__":
    main()
