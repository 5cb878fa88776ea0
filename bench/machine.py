"""Booted machines for the benchmarks: a localjuju model driven through its CLI, the
benchmark application in a git repository the machine reads over ``file://``, and
HTTP on loopback.

Every model is made by :func:`model` and destroyed when the ``with`` block ends,
whatever happened inside it.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHARM = ROOT / "build" / "wsgi-app"
APP = "wsgi-app"
UNIT = "wsgi-app/0"
# the unit of the gunicorn slot that serves (the charm's service.py), as a shell word
SERVING = f'{APP}@$(sed -E \'s/.*"slot": "([ab])".*/\\1/\' /etc/{APP}/.running.json).service'
MACHINE_REPOS = "/var/lib/localjuju/repos"  # how a machine sees <share>/repos

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


def localjuju_home() -> Path:
    return Path(os.environ.get("LOCALJUJU_HOME", "/var/lib/localjuju"))


class Model:
    """One localjuju model, driven through its CLI as a user would."""

    def __init__(self, name: str):
        assert name.startswith("bench-"), name
        self.name = name

    def cli(self, *args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "localjuju.cli", "-m", self.name, *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise RuntimeError(
                f"localjuju {' '.join(args)} exited {result.returncode}\n"
                f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
            )
        return result

    def deploy(self, charm: Path, app: str = "", **config: str | int) -> subprocess.CompletedProcess[str]:
        options = [arg for key, value in config.items() for arg in ("--config", f"{key}={value}")]
        return self.cli("deploy", str(charm), *([app] if app else []), *options)

    def config(self, **settings: str | int) -> None:
        self.cli("config", APP, *(f"{key}={value}" for key, value in settings.items()))

    def action(self, name: str, unit: str = UNIT) -> dict[str, Any]:
        result = self.cli("run", unit, name, "--format", "json", check=False)
        outcome: dict[str, Any] = json.loads(result.stdout)
        if outcome.get("status") != "completed":
            raise RuntimeError(f"action {name} did not complete: {outcome}")
        return outcome

    def sh(self, command: str, unit: str = UNIT, timeout: float = 600) -> str:
        """Run a shell command on the unit's machine as root; its stdout."""
        return self.cli("exec", unit, "--", "sh", "-c", command, timeout=timeout).stdout

    def unit_status(self, unit: str = UNIT) -> dict[str, Any]:
        data = json.loads(self.cli("status", "--format", "json").stdout)
        info: dict[str, Any] = data["applications"][unit.split("/")[0]]["units"][unit]
        return info

    def main_pid(self, unit: str = UNIT, service: str = SERVING) -> int:
        return int(self.sh(f"systemctl show -P MainPID {service}", unit).strip() or 0)

    def share(self, machine: str = "0") -> Path:
        """The host directory machine ``machine`` sees as /var/lib/localjuju.

        It may be made before the machine boots (localjuju keeps what is there), which
        lets a repository be in place for the very first hooks.
        """
        return localjuju_home() / self.name / "machines" / machine / "share"

    def destroy(self) -> None:
        self.cli("destroy", check=False)


@contextlib.contextmanager
def model(name: str) -> Iterator[Model]:
    """A fresh model ``name`` (any leftover of the same name removed first), destroyed on exit."""
    local = Model(name)
    local.destroy()
    try:
        yield local
    finally:
        local.destroy()


def git(cwd: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.org", *args]
    return subprocess.run(command, cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


class AppRepo:
    """A bare repository in a machine's share and a host working copy that pushes to it."""

    def __init__(self, share: Path, name: str = "benchapp"):
        self.bare = share / "repos" / f"{name}.git"
        self.url = f"file://{MACHINE_REPOS}/{name}.git"
        self._work = tempfile.TemporaryDirectory(prefix="bench-repo-")
        self.work = Path(self._work.name)
        self.bare.parent.mkdir(parents=True, exist_ok=True)
        git(self.bare.parent, "init", "--quiet", "--bare", "--initial-branch=main", self.bare.name)
        git(self.work, "init", "--quiet", "--initial-branch=main")
        git(self.work, "remote", "add", "origin", str(self.bare))

    def commit(self, files: dict[str, str], message: str) -> str:
        """Write ``files``, commit and push them; the commit's short hash."""
        for name, text in files.items():
            (self.work / name).write_text(text)
        git(self.work, "add", "-A")
        git(self.work, "commit", "--quiet", "--allow-empty", "-m", message)
        git(self.work, "push", "--quiet", "origin", "main")
        return git(self.work, "rev-parse", "--short=7", "HEAD")


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


def wrk(url: str, seconds: float, threads: int = 2, connections: int = 32, netns: str = "") -> float:
    """requests/s of one wrk run against ``url`` (keep-alive connections), from the
    network namespace ``netns`` if given; errors are reported, not raised."""
    from bench.stats import parse_wrk

    prefix = ["ip", "netns", "exec", netns] if netns else []
    command = [*prefix, "wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s", url]
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
