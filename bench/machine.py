"""Booted machines for the benchmarks: the charm on a localjuju model (driven by
:mod:`localjuju.driver`, as the end-to-end tests drive theirs), the benchmark
application in a git repository the machine reads over ``file://``, and HTTP on
loopback.

Every model is made by :func:`model` and destroyed when the ``with`` block ends,
whatever happened inside it.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from localjuju.driver import LocalModel, ShareRepo, fresh

ROOT = Path(__file__).resolve().parents[1]
CHARM = ROOT / "build" / "wsgi-app"
APP = "wsgi-app"
UNIT = "wsgi-app/0"
# the unit of the gunicorn slot that serves (the charm's service.py), as a shell word
SERVING = f'{APP}@$(sed -E \'s/.*"slot": "([ab])".*/\\1/\' /etc/{APP}/.running.json).service'
# what the charm installs into the app's venv (python_env.GUNICORN; a unit test keeps them equal)
GUNICORN = "gunicorn>=27,<28"
DEMO_REQUIREMENTS = ROOT / "files" / "demo" / "requirements.txt"
# the installer the charm installs first, as its pin file has it (a unit test keeps them equal)
UV = "uv==0.13.9"

# A dependency-free WSGI application: a CPU-bound page (a pure-Python loop of about
# 5 ms on a 2020s server core), an I/O-bound page (50 ms asleep, as a database query
# would be) and a cheap page for health checks and steady load.
BENCH_APP = '''\
"""Benchmark application of the wsgi-app charm (written by bench/machine.py)."""
import os
import time

VERSION = "{version}"
LOOP = 180_000


def cpu():
    total = 0
    for number in range(LOOP):
        total += number * number
    return f"cpu {{total % 97}}\\n"


def io():
    time.sleep(0.05)
    return "io\\n"


def index():
    return f"bench {{VERSION}} {{os.environ.get('BENCH_GREETING', '')}}\\n"


PAGES = {{"/": index, "/healthz": lambda: "ok\\n", "/cpu": cpu, "/io": io}}


def application(environ, start_response):
    page = PAGES.get(environ.get("PATH_INFO", "/"))
    if page is None:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\\n"]
    body = page().encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
'''


def bench_app_files(version: str) -> dict[str, str]:
    """The repository's files for ``version`` (an empty requirements.txt: gunicorn only)."""
    return {"app.py": BENCH_APP.format(version=version), "requirements.txt": ""}


def require_root() -> None:
    if os.geteuid() != 0:
        raise SystemExit("the benchmarks boot machines: run them as root (make bench)")
    if not (CHARM / "metadata.yaml").exists():
        raise SystemExit(f"no built charm in {CHARM}: run make charm first")


@contextlib.contextmanager
def model(name: str) -> Iterator[LocalModel]:
    """A fresh model ``name`` of the charm (any leftover of the same name removed first),
    destroyed on exit."""
    assert name.startswith("bench-"), name
    with fresh(LocalModel(name, app=APP, service=SERVING)) as local:
        yield local


def bench_repo(share: Path) -> ShareRepo:
    """The benchmark application's repository in a machine's ``share`` (``benchapp.git``)."""
    return ShareRepo(share, "benchapp")


def isolated_wheels() -> list[str]:
    """``deploy --isolated`` arguments giving the charm's machines the wheels it installs
    offline: the demo's requirements, gunicorn and uv (which installs them)."""
    return ["--wheels", str(DEMO_REQUIREMENTS), "--wheel", GUNICORN, "--wheel", UV]


def http_get(port: int, path: str = "/", timeout: float = 5) -> tuple[int, str]:
    """GET ``path`` on 127.0.0.1:``port`` on a new connection; the status and the body.

    Raises ``OSError`` (refused, reset, timed out) or ``http.client.HTTPException``.
    """
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Connection": "close"})
        answer = connection.getresponse()
        return answer.status, answer.read().decode(errors="replace")
    finally:
        connection.close()


def wrk(
    url: str,
    seconds: float,
    threads: int = 2,
    connections: int = 32,
    netns: str = "",
    headers: tuple[str, ...] = (),
) -> float:
    """requests/s of one wrk run against ``url`` (keep-alive connections) sending
    ``headers`` ("Name: value"), from the network namespace ``netns`` if given; errors are
    reported, not raised."""
    from bench.stats import parse_wrk

    prefix = ["ip", "netns", "exec", netns] if netns else []
    command = [*prefix, "wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s"]
    command += [*(arg for header in headers for arg in ("-H", header)), url]
    output = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 30).stdout
    result = parse_wrk(output)
    if result.errors:
        print(f"    warning: {result.errors} errors of {result.requests} on {url}", file=sys.stderr)
    return result.requests_per_second


def wait_serving(port: int, path: str = "/", timeout: float = 60) -> None:
    """Return once ``path`` answers 200; raises ``RuntimeError`` after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    last = ""
    while time.monotonic() < end:
        try:
            if (status := http_get(port, path)[0]) == 200:
                return
            last = f"HTTP {status}"
        except (OSError, http.client.HTTPException) as error:
            last = repr(error)
        time.sleep(0.3)
    raise RuntimeError(f"127.0.0.1:{port}{path} not serving after {timeout}s: {last}")


@dataclass(frozen=True)
class HostFacts:
    """What the numbers were measured on."""

    cores: int
    memory_gib: float
    cpu_model: str
    kernel: str
    date: str

    def line(self) -> str:
        return (
            f"{self.date}: {self.cores} cores ({self.cpu_model}), {self.memory_gib:.1f} GiB, "
            f"Linux {self.kernel}"
        )


def host_facts() -> HostFacts:
    cpu_model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu_model = line.partition(":")[2].strip()
            break
    memory_kib = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    return HostFacts(
        cores=os.cpu_count() or 1,
        memory_gib=memory_kib / 1024**2,
        cpu_model=cpu_model,
        kernel=platform.release(),
        date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    )
