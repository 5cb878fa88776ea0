"""How gthread workers share kept-alive connections: gunicorn's default against the charm's.

gunicorn runs the benchmark application on the host's loopback (no machine needed),
5 workers x THREADS threads, twice side by side in interleaved rounds: with gunicorn's
default ``worker_connections`` (1000) and with the charm's (``threads + 1``). wrk holds
32 keep-alive connections on the I/O-bound page (50 ms asleep); halfway through each
run ``ss`` counts the established connections per worker process. Printed: per setting,
the connections of the busiest worker (median), the per-worker counts of every round and
the req/s, against the Little's-law bound (32 clients / 50 ms = 640 req/s).

Run: ``.venv/bin/python -m bench.spread [--rounds 3] [--threads 4]`` (needs wrk and ss).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.machine import ROOT, bench_app_files
from bench.stats import median, parse_wrk, table

PORT = 9300
CLIENTS = 32
BOUND = CLIENTS / 0.05
VENV = ROOT / "build" / "bench-spread-venv"


def gunicorn_python() -> Path:
    """A venv with the gunicorn the charm installs (made once under build/)."""
    python = VENV / "bin" / "python"
    if not python.exists():
        source = (ROOT / "lib/charms/layer/wsgi_app/python_env.py").read_text()
        pin = re.search(r'^GUNICORN = "([^"]+)"', source, re.MULTILINE)
        assert pin, "no GUNICORN in python_env.py"
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", pin.group(1)], check=True)
    return python


def per_worker(port: int) -> list[int]:
    """Established connections per process on ``port``, largest first."""
    out = subprocess.run(
        ["ss", "-tnpH", "state", "established", f"( sport = :{port} )"], capture_output=True, text=True
    ).stdout
    return sorted(Counter(re.findall(r"pid=(\d+)", out)).values(), reverse=True)


def one_run(
    python: Path, app_dir: Path, threads: int, connections: int, seconds: float
) -> tuple[list[int], float]:
    command = [str(python), "-m", "gunicorn", "-b", f"127.0.0.1:{PORT}", "-w", "5", "--threads", str(threads)]
    command += [
        "-k",
        "gthread",
        "--keep-alive",
        "5",
        "--worker-connections",
        str(connections),
        "app:application",
    ]
    server = subprocess.Popen(command, cwd=app_dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(PORT)
        url = f"http://127.0.0.1:{PORT}/io"
        wrk = subprocess.Popen(
            ["wrk", "-t2", f"-c{CLIENTS}", f"-d{seconds:g}s", "--timeout", "10s", url],
            stdout=subprocess.PIPE,
            text=True,
        )
        time.sleep(seconds / 2)
        spread = per_worker(PORT)
        output, _ = wrk.communicate(timeout=seconds + 30)
        return spread, parse_wrk(output).requests_per_second
    finally:
        server.terminate()
        server.wait(timeout=60)


def wait_for(port: int, timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if (
            subprocess.run(["curl", "-sf", "-o", "/dev/null", f"http://127.0.0.1:{port}/healthz"]).returncode
            == 0
        ):
            return
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer on {port}")


def run(rounds: int = 3, threads: int = 4, seconds: float = 6) -> str:
    python = gunicorn_python()
    settings = {"gunicorn default (1000)": 1000, "charm (threads + 1)": threads + 1}
    results: dict[str, list[tuple[list[int], float]]] = {name: [] for name in settings}
    with tempfile.TemporaryDirectory() as directory:
        for name, text in bench_app_files("spread").items():
            (Path(directory) / name).write_text(text)
        for number in range(rounds):
            order = list(settings) if number % 2 == 0 else list(reversed(settings))
            for name in order:
                results[name].append(one_run(python, Path(directory), threads, settings[name], seconds))
    rows = [
        [
            name,
            f"{median([float(spread[0]) for spread, _ in runs]):g}",
            "; ".join(" ".join(map(str, spread)) for spread, _ in runs),
            f"{median([rate for _, rate in runs]):.0f}",
            f"{median([rate for _, rate in runs]) / BOUND:.2f}",
        ]
        for name, runs in results.items()
    ]
    return (
        f"Connections per worker (5 gthread workers x {threads} threads, {CLIENTS} keep-alive wrk clients "
        f"on /io, {rounds} interleaved rounds of {seconds:g}s)\n\n"
        + table(
            ["worker_connections", "busiest worker (median)", "per worker, each round", "req/s", "of bound"],
            rows,
        )
        + "\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=6)
    args = parser.parse_args()
    print(run(args.rounds, args.threads, args.seconds))


if __name__ == "__main__":
    main()
